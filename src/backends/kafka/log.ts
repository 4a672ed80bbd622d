import type {KafkaMessage} from './batches.js'
import {decodeRecordSet} from './batches.js'
import {READ_COMMITTED, READ_UNCOMMITTED, STALE_LEADER, type KafkaClient, type TopicLayout} from './client.js'

const FETCH_BYTES = 1024 * 1024

/**
 * Every message of one partition from `from` up to (not including) `until`, read group-less
 * (read_committed: aborted data and markers are skipped). For small, internal logs (the
 * replay ledger) and short looks into a target (resolving an in-doubt replay).
 *
 * `plainOnly`: only records written outside transactions, read up to the high watermark
 * (read_uncommitted, every transaction's batches passed). What dlq's own producer wrote is
 * there as soon as it is acknowledged, even behind another producer's open transaction, which
 * holds a read_committed reader at its first record until it ends (up to the producer's
 * transaction.timeout.ms); and no record of a transaction, aborted or not, is taken for it.
 */
export async function* readPartition(client: KafkaClient, topic: string, layout: TopicLayout, partition: number, from: number, until: number, plainOnly = false, reached?: {offset: number}): AsyncGenerator<KafkaMessage> {
  let offset = from
  const isolation = plainOnly ? READ_UNCOMMITTED : READ_COMMITTED
  const at = (o: number) => {
    if (reached) reached.offset = o
  }
  at(from)
  while (offset < until) {
    let fp = await client.fetch(topic, layout, partition, offset, FETCH_BYTES, isolation)
    // The leader moved, or has not taken the partition yet: ask the one the metadata names now.
    if (STALE_LEADER.has(fp.errorCode)) ({fp, layout} = await client.refetch(topic, layout, partition, offset, FETCH_BYTES, isolation))
    if (fp.errorCode !== 0) throw new client.lib.ProtocolError(fp.errorCode)
    if (offset < fp.logStartOffset) {
      // Deleted below there (retention, DeleteRecords): nothing to read before it.
      offset = fp.logStartOffset
      at(Math.min(offset, until))
    }
    const end = Math.min(until, !plainOnly && fp.lastStableOffset >= 0 ? fp.lastStableOffset : fp.highWatermark)
    if (!fp.records || fp.records.length === 0 || offset >= end) {
      if (offset >= end) return
      continue
    }
    const set = decodeRecordSet(fp.records, offset, plainOnly ? [] : fp.aborted, plainOnly)
    for (const m of set.messages) if (m.offset >= offset && m.offset < until) yield m
    if (set.next <= offset) return
    offset = set.next
    at(Math.min(offset, until))
  }
}
