import type {RecordFilter} from '../../core/filter.js'
import type {PageBefore, PageBeforeRequest} from '../../core/reader.js'
import type {DecodedRecord} from '../../core/record.js'
import type {KafkaMessage} from './batches.js'
import type {Cursor} from './positions.js'

/** What backward paging needs from the reader: its read plan, fetches and decoding. */
export interface KafkaBackwardPort {
  /** The partitions read, ascending. */
  readable: readonly number[]
  parseCursor(text: string): Cursor
  /** Per partition: the first offset to read (log start or --since) and the end (exclusive: the last stable offset). */
  plan(filter: RecordFilter): Promise<Array<{partition: number; pos: number; end: number}>>
  /**
   * One fetch of `partition` at `offset` (at most about `bytes`), decoded; null when nothing
   * readable is left before `end`. `start` is where it really began (retention may have
   * moved the log start past `offset`).
   */
  read(partition: number, offset: number, end: number, bytes: number): Promise<{start: number; messages: KafkaMessage[]; next: number} | null>
  decode(partition: number, m: KafkaMessage): DecodedRecord
}

const MIN_FETCH_BYTES = 64 * 1024
const MAX_FETCH_BYTES = 1024 * 1024

/**
 * Reads a Kafka DLQ backward. The log order of a topic is its partitions one after the
 * other in ascending order (positions.ts), so "before" a cursor means: in each partition,
 * the offsets below the cursor's (a partition the cursor does not list counts as read when
 * it comes before the first listed one, as unread after it). The walk goes down the
 * partitions from the last one with something before the cursor; in each it reads stretches
 * of offsets just below where it stands, forward with ordinary fetches (Kafka has no
 * backward fetch), and keeps the last matches. A stretch starts at the page size and grows
 * while a filter finds too little, so an unfiltered page is one fetch.
 */
export async function kafkaPageBefore(port: KafkaBackwardPort, req: PageBeforeRequest): Promise<PageBefore> {
  const lanes = await port.plan(req.filter)
  const cursor = req.before === null ? null : port.parseCursor(req.before)
  const firstListed = cursor ? Math.min(...cursor.keys()) : null
  const upper = (p: number, end: number): number => {
    if (cursor === null) return end
    const at = cursor.get(p)
    if (at !== undefined) return Math.min(at, end)
    return p < firstListed! ? end : 0
  }
  const collected: DecodedRecord[] = []
  let scanned = 0
  let span = Math.max(16, req.limit)
  let full = false
  for (const lane of [...lanes].reverse()) {
    let end = upper(lane.partition, lane.end)
    while (end > lane.pos && !full) {
      if (req.signal?.aborted) return {records: [], from: req.before, atStart: false, scanned}
      const start = Math.max(lane.pos, end - span)
      const need = req.limit - collected.length
      const stretch: DecodedRecord[] = []
      let pos = start
      let lowest = start
      const bytes = Math.min(MAX_FETCH_BYTES, Math.max(MIN_FETCH_BYTES, span * 1024))
      while (pos < end) {
        if (req.signal?.aborted) return {records: [], from: req.before, atStart: false, scanned}
        const set = await port.read(lane.partition, pos, end, bytes)
        if (set === null) break
        if (pos === start) lowest = set.start
        let moved = set.next
        for (const m of set.messages) {
          if (m.offset >= end) break
          if (m.offset < pos) continue
          scanned++
          moved = Math.max(moved, m.offset + 1)
          const rec = port.decode(lane.partition, m)
          if (!req.filter.matches(rec)) continue
          stretch.push(rec)
          // Only the last `need` matches of a stretch can be on the page.
          if (stretch.length > need) stretch.shift()
        }
        if (moved <= pos) break
        pos = moved
      }
      collected.unshift(...stretch)
      full = collected.length >= req.limit
      span = stretch.length === 0 ? span * 4 : span * 2
      // Retention may have removed offsets below the stretch: nothing more in this partition.
      end = lowest > start ? lane.pos : start
    }
    if (full) break
  }
  const atStart = !full
  return {records: collected, from: atStart ? null : (collected[0]?.position ?? req.before), atStart, scanned}
}
