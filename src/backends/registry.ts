import type {DlqPurger} from '../core/purge.js'
import type {DlqReader} from '../core/reader.js'
import type {ReplayLedger} from '../core/replay/ledger.js'
import type {DlqSink} from '../core/sink.js'
import type {SourceSpec} from '../core/source.js'

/**
 * Network stores, each behind a dynamic import so its client library is loaded only when
 * a command uses that store.
 */
export async function openStoreReader(spec: Exclude<SourceSpec, {kind: 'file'}>): Promise<DlqReader> {
  if (spec.kind === 'redis') {
    const {openRedisReader} = await import('./redis/index.js')
    return openRedisReader(spec.uri)
  }
  const {openKafkaReader} = await import('./kafka/index.js')
  return openKafkaReader(spec.uri)
}

export async function openStoreSink(spec: Exclude<SourceSpec, {kind: 'file'}>): Promise<DlqSink> {
  if (spec.kind === 'redis') {
    const {openRedisSink} = await import('./redis/index.js')
    return openRedisSink(spec.uri)
  }
  const {openKafkaSink} = await import('./kafka/index.js')
  return openKafkaSink(spec.uri)
}

/** The replay ledger in the DLQ's own store. */
export async function openStoreLedger(spec: Exclude<SourceSpec, {kind: 'file'}>): Promise<ReplayLedger> {
  if (spec.kind === 'redis') {
    const {openRedisLedger} = await import('./redis/index.js')
    return openRedisLedger(spec.uri)
  }
  const {openKafkaLedger} = await import('./kafka/index.js')
  return openKafkaLedger(spec.uri)
}

/** What `dlq purge` deletes with, in the DLQ's own store. */
export async function openStorePurger(spec: Exclude<SourceSpec, {kind: 'file'}>): Promise<DlqPurger> {
  if (spec.kind === 'redis') {
    const {openRedisPurger} = await import('./redis/index.js')
    return openRedisPurger(spec.uri)
  }
  const {openKafkaPurger} = await import('./kafka/index.js')
  return openKafkaPurger(spec.uri)
}
