import type {RecordFilter} from './filter.js'
import {isoTime} from './message.js'
import {validTime} from './time.js'
import type {DecodedRecord} from './record.js'
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
export const LISTED_UNREADABLE = 20

/** Counts as plain data, so partial counts made by other threads can be sent and merged. */
export interface StatsState {
  total: number
  unreadable: number
  unreadablePositions: string[]
  reasons: Array<[string | null, number]>
  topics: Array<[string | null, number]>
  conventions: Array<[string | null, number]>
  first: number | null
  last: number | null
}

export class StatsAccumulator {
  private total = 0
  private unreadable = 0
  private readonly positions: string[] = []
  private readonly reasons = new Map<string | null, number>()
  private readonly topics = new Map<string | null, number>()
  private readonly conventions = new Map<string | null, number>()
  private first: number | null = null
  private last: number | null = null

  add(rec: DecodedRecord): void {
    this.total++
    if (rec.unreadable !== null) {
      this.unreadable++
      if (this.positions.length < LISTED_UNREADABLE) this.positions.push(rec.position)
      return
    }
    bump(this.reasons, rec.reason)
    bump(this.topics, rec.source.topic)
    bump(this.conventions, rec.convention)
    this.time(rec.timestamp)
  }

  private time(t: number | null): void {
    if (t === null || validTime(t) === null) return
    if (this.first === null || t < this.first) this.first = t
    if (this.last === null || t > this.last) this.last = t
  }

  state(): StatsState {
    return {
      total: this.total,
      unreadable: this.unreadable,
      unreadablePositions: [...this.positions],
      reasons: [...this.reasons],
      topics: [...this.topics],
      conventions: [...this.conventions],
      first: this.first,
      last: this.last,
    }
  }

  /** Adds counts made elsewhere, in log order (their unreadable positions come after ours). */
  merge(s: StatsState): void {
    this.total += s.total
    this.unreadable += s.unreadable
    for (const p of s.unreadablePositions) if (this.positions.length < LISTED_UNREADABLE) this.positions.push(p)
    for (const [k, n] of s.reasons) bump(this.reasons, k, n)
    for (const [k, n] of s.topics) bump(this.topics, k, n)
    for (const [k, n] of s.conventions) bump(this.conventions, k, n)
    this.time(s.first)
    this.time(s.last)
  }

  result(source: string, filter: RecordFilter): StatsResult {
    const iso = isoTime
    return {
      source,
      filter: filter.text,
      total: this.total,
      unreadable: {count: this.unreadable, positions: [...this.positions]},
      byReason: sorted(this.reasons),
      bySourceTopic: sorted(this.topics),
      byConvention: sorted(this.conventions),
      firstTimestamp: iso(this.first),
      lastTimestamp: iso(this.last),
    }
  }
}

function bump(m: Map<string | null, number>, k: string | null, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n)
}

function sorted(m: Map<string | null, number>): Count[] {
  return [...m.entries()].map(([value, count]) => ({value, count})).sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)))
}

/** A reader that can count in several threads at once (a large plain file). */
export interface ParallelStats {
  parallelStats(filter: RecordFilter, signal?: AbortSignal): Promise<StatsState | null>
}

/** `dlq stats`: one streaming pass (or a parallel one where the store offers it); memory bounded by the number of distinct values. */
export async function collectStats(reader: DlqReader & Partial<ParallelStats>, filter: RecordFilter, signal?: AbortSignal): Promise<StatsResult> {
  const acc = new StatsAccumulator()
  const parallel = reader.parallelStats ? await reader.parallelStats(filter, signal) : null
  if (parallel) acc.merge(parallel)
  else for await (const rec of reader.scan({filter, signal})) acc.add(rec)
  return acc.result(reader.info.display, filter)
}
