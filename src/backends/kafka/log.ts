import type {KafkaMessage} from './batches.js'
import {decodeRecordSet} from './batches.js'
import type {KafkaClient, TopicLayout} from './client.js'

const FETCH_BYTES = 1024 * 1024

/**
 * Every message of one partition from `from` up to (not including) `until`, read group-less
 * (read_committed: aborted data and markers are skipped). For small, internal logs (the
 * replay ledger) and short looks into a target (resolving an in-doubt replay).
 */
export async function* readPartition(client: KafkaClient, topic: string, layout: TopicLayout, partition: number, from: number, until: number): AsyncGenerator<KafkaMessage> {
  let offset = from
  while (offset < until) {
    const fp = await client.fetch(topic, layout, partition, offset, FETCH_BYTES)
    if (fp.errorCode !== 0) throw new client.lib.ProtocolError(fp.errorCode)
    if (offset < fp.logStartOffset) offset = fp.logStartOffset
    const end = Math.min(until, fp.lastStableOffset >= 0 ? fp.lastStableOffset : fp.highWatermark)
    if (!fp.records || fp.records.length === 0 || offset >= end) {
      if (offset >= end) return
      continue
    }
    const set = decodeRecordSet(fp.records, offset, fp.aborted)
    for (const m of set.messages) if (m.offset >= offset && m.offset < until) yield m
    if (set.next <= offset) return
    offset = set.next
  }
}
