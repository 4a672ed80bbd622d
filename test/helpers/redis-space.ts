import type {Redis} from 'ioredis'
import {uniqueName} from './services.js'

/**
 * A test's own part of the shared test Redis: a client, a unique key prefix, and the sink URI
 * (`?prefix=`) that makes dlq read and write under it.
 */
export async function openRedisSpace(address: string, name: string): Promise<{client: Redis; prefix: string; sink: string}> {
  const {Redis} = await import('ioredis')
  const prefix = `${uniqueName(name)}:`
  return {client: new Redis(address), prefix, sink: `${address}?prefix=${encodeURIComponent(prefix)}`}
}

/** Deletes every key under the prefix and closes the client. */
export async function closeRedisSpace(client: Redis, prefix: string): Promise<void> {
  const keys = await client.keys(`${prefix}*`)
  if (keys.length > 0) await client.del(...keys)
  client.disconnect()
}

/** An empty stream: a replay target must exist (dlq never creates one). */
export async function emptyStream(client: Redis, key: string): Promise<void> {
  const id = await client.xadd(key, '*', 'init', '1')
  await client.xdel(key, id!)
}
