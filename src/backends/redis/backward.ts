import type {RecordFilter} from '../../core/filter.js'
import type {PageBefore, PageBeforeRequest} from '../../core/reader.js'
import type {DecodedRecord} from '../../core/record.js'
import {compareIds, parsePosition, splitId} from './ids.js'
import type {EntryFields} from './layouts.js'
import type {Delivery} from './pending.js'
import type {EntryPrefilter} from './prefilter.js'

type Entry = [Buffer, EntryFields]

/** Entries per XREVRANGE at most while a filter keeps rejecting. */
const MAX_BATCH = 1000
const U64_MAX = (1n << 64n) - 1n

/** What backward paging needs from the reader (its XREVRANGE, decoding and filters). */
export interface RedisBackwardPort {
  /** `XREVRANGE key end start COUNT count`: newest first, both ends inclusive. */
  fetchRev(end: string, start: string, count: number): Promise<Entry[]>
  /** Consumer-group delivery counts for entries given oldest first (null when the stream has no groups). */
  deliveries(entries: Entry[]): Promise<Map<string, Delivery> | null>
  decode(entry: Entry, deliveries: Map<string, Delivery> | null): DecodedRecord
  prefilter(filter: RecordFilter): EntryPrefilter
  /** The id range --since/--until allow (start inclusive, end inclusive or '+'). */
  range(filter: RecordFilter): {start: string; end: string}
}

/** The largest id before `id`; null before the smallest id. */
export function idBefore(id: string): string | null {
  const {ms, seq} = splitId(id)
  if (seq > 0n) return `${ms}-${seq - 1n}`
  return ms > 0n ? `${ms - 1n}-${U64_MAX}` : null
}

/**
 * A Redis stream read backward with XREVRANGE: entry ids only grow, so the entries before an
 * id are exactly those an `XREVRANGE key (id -` returns, and a forward XRANGE from the first
 * of them reads the same entries again. One command for a page, more (in growing batches)
 * only while a filter rejects entries.
 */
export async function redisPageBefore(port: RedisBackwardPort, req: PageBeforeRequest): Promise<PageBefore> {
  const {start, end: rangeEnd} = port.range(req.filter)
  let end: string | null = rangeEnd
  if (req.before !== null) {
    const before = idBefore(parsePosition(req.before))
    if (before !== null && (rangeEnd === '+' || compareIds(before, rangeEnd) < 0)) end = before
    else if (before === null) end = null
  }
  const pre = port.prefilter(req.filter)
  const newestFirst: DecodedRecord[] = []
  let scanned = 0
  let count = req.limit + 1
  let atStart = false
  while (end !== null && newestFirst.length < req.limit) {
    if (req.signal?.aborted) return {records: [], from: req.before, atStart: false, scanned}
    if (end !== '+' && compareIds(end, start) < 0) {
      atStart = true
      break
    }
    const entries = await port.fetchRev(end, start, count)
    const deliveries = await port.deliveries([...entries].reverse())
    let last: string | null = null
    for (const entry of entries) {
      if (newestFirst.length === req.limit) break
      scanned++
      last = entry[0].toString('latin1')
      if (!pre.candidate(entry[1])) continue
      const rec = port.decode(entry, deliveries)
      if (req.filter.matches(rec)) newestFirst.push(rec)
    }
    if (entries.length < count && (last === null || last === entries.at(-1)![0].toString('latin1'))) {
      // Fewer than asked and all of them looked at: nothing older is left in the range.
      atStart = true
      break
    }
    if (last === null) break
    end = idBefore(last)
    if (end === null) atStart = true
    count = Math.min(count * 2, Math.max(MAX_BATCH, req.limit + 1))
  }
  if (end === null) atStart = true
  const records = newestFirst.reverse()
  return {records, from: atStart ? null : (records[0]?.position ?? req.before), atStart, scanned}
}
