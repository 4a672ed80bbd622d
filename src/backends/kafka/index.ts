import type {DlqReader} from '../../core/reader.js'
import type {DlqSink} from '../../core/sink.js'

/**
 * Kafka topics as DLQs and as replay targets (docs/kafka.md). The client library is
 * imported by the modules below only when one of these is called.
 */
export async function openKafkaReader(uri: string): Promise<DlqReader> {
  const {KafkaReader} = await import('./reader.js')
  return KafkaReader.open(uri)
}

export async function openKafkaSink(uri: string): Promise<DlqSink> {
  const {KafkaSink} = await import('./sink.js')
  return KafkaSink.open(uri)
}

/** The replay ledger of a Kafka DLQ: a one-partition topic beside it in the same cluster. */
export async function openKafkaLedger(uri: string): Promise<import('../../core/replay/ledger.js').ReplayLedger> {
  const {KafkaLedger} = await import('./ledger.js')
  return KafkaLedger.open(uri)
}

/** `dlq purge` on a Kafka DLQ (DeleteRecords). */
export async function openKafkaPurger(uri: string): Promise<import('../../core/purge.js').KafkaPurger> {
  const {KafkaTopicPurger} = await import('./purge.js')
  return KafkaTopicPurger.open(uri)
}
