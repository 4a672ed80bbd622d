import type {RecordFilter} from './filter.js'
import type {DlqReader} from './reader.js'

export interface Count {
  value: string | null
  count: number
}

export interface StatsResult {
  source: string
  filter: string[]
  total: number
  unreadable: {count: number; positions: string[]}
  byReason: Count[]
  bySourceTopic: Count[]
  byConvention: Count[]
  firstTimestamp: string | null
  lastTimestamp: string | null
}

/** How many unreadable positions are listed by name; the count covers them all. */
const LISTED_UNREADABLE = 20

function sorted(m: Map<string | null, number>): Count[] {
  return [...m.entries()].map(([value, count]) => ({value, count})).sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)))
}

/** `dlq stats`: one streaming pass, memory bounded by the number of distinct values. */
export async function collectStats(reader: DlqReader, filter: RecordFilter, signal?: AbortSignal): Promise<StatsResult> {
  const reasons = new Map<string | null, number>()
  const topics = new Map<string | null, number>()
  const conventions = new Map<string | null, number>()
  const bump = (m: Map<string | null, number>, k: string | null) => m.set(k, (m.get(k) ?? 0) + 1)
  let total = 0
  let unreadable = 0
  const positions: string[] = []
  let first: number | null = null
  let last: number | null = null
  for await (const rec of reader.scan({filter, signal})) {
    total++
    if (rec.unreadable !== null) {
      unreadable++
      if (positions.length < LISTED_UNREADABLE) positions.push(rec.position)
      continue
    }
    bump(reasons, rec.reason)
    bump(topics, rec.source.topic)
    bump(conventions, rec.convention)
    if (rec.timestamp !== null) {
      if (first === null || rec.timestamp < first) first = rec.timestamp
      if (last === null || rec.timestamp > last) last = rec.timestamp
    }
  }
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())
  return {
    source: reader.info.display,
    filter: filter.text,
    total,
    unreadable: {count: unreadable, positions},
    byReason: sorted(reasons),
    bySourceTopic: sorted(topics),
    byConvention: sorted(conventions),
    firstTimestamp: iso(first),
    lastTimestamp: iso(last),
  }
}
