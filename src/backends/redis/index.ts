import type {DlqReader} from '../../core/reader.js'
import type {DlqSink} from '../../core/sink.js'
import {checkStream, connect} from './connection.js'
import {PendingCounts} from './pending.js'
import {RedisReader} from './reader.js'
import {RedisSink} from './sink.js'
import {RedisLedger} from './ledger.js'
import {RedisStreamPurger} from './purge.js'
import type {ReplayLedger} from '../../core/replay/ledger.js'
import {parseRedisUri} from './uri.js'

/** Opens a Redis stream DLQ. The URI syntax is in uri.ts and docs/redis.md. */
export async function openRedisReader(uri: string): Promise<DlqReader> {
  const target = parseRedisUri(uri, {needKey: true})
  const conn = await connect(target, checkStream)
  try {
    return new RedisReader(conn, await PendingCounts.load(conn))
  } catch (error) {
    await conn.close()
    throw error
  }
}

/** A Redis server to replay into: streams named after the target topics (with `?prefix=`). */
export async function openRedisSink(uri: string): Promise<DlqSink> {
  return new RedisSink(await connect(parseRedisUri(uri, {needKey: false})))
}

/** The replay ledger of a Redis stream DLQ: a hash beside the stream. */
export async function openRedisLedger(uri: string): Promise<ReplayLedger> {
  const target = parseRedisUri(uri, {needKey: true})
  return new RedisLedger(await connect(target), target.key!)
}

/** `dlq purge` on a Redis stream DLQ (XACK + XDEL). */
export async function openRedisPurger(uri: string): Promise<RedisStreamPurger> {
  const target = parseRedisUri(uri, {needKey: true})
  return new RedisStreamPurger(await connect(target), target.key!)
}
