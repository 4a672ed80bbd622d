import type {RecordFilter} from './filter.js'
import {isoTime} from './message.js'
import type {DecodedRecord} from './record.js'
import type {DlqReader} from './reader.js'
import {validTime} from './time.js'

export interface Count {
  /** null: the record does not say (no reason, no known source topic). */
  value: string | null
  count: number
}

export interface TimeBucket {
  /** ISO time the bucket starts at (UTC). */
  start: string
  count: number
}

export interface StatsResult {
  source: string
  filter: string[]
  /** Problems met while opening the source that did not stop the count. */
  warnings: string[]
  /** Every record counted, readable or not. */
  total: number
  /** Records read as DLQ entries: the breakdowns below count these. */
  readable: number
  unreadable: {count: number; positions: string[]}
  /** Readable records whose recorded source dlq doubts (`source.doubt`, e.g. Arroyo's partition). */
  doubtful: number
  byReason: Count[]
  bySourceTopic: Count[]
  byConvention: Count[]
  /** Kafka DLQs: records per partition of the DLQ topic itself (unreadable ones included); empty elsewhere. */
  byPartition: Array<{partition: number; count: number}>
  firstTimestamp: string | null
  lastTimestamp: string | null
  /** Readable records with a timestamp, by time: at most ~MAX_BUCKETS buckets of one width from first to last. */
  timeline: {bucketSeconds: number; buckets: TimeBucket[]}
}

/** How many unreadable positions are listed by name; the count covers them all. */
export const LISTED_UNREADABLE = 20
/** The timeline is cut into about this many buckets, whatever the span. */
export const MAX_BUCKETS = 24

const MINUTE = 60_000
/** Units counts are kept in while reading: finest first; coarser when a unit would need too many keys. */
const UNITS = [MINUTE, 60 * MINUTE, 24 * 60 * MINUTE, 30 * 24 * 60 * MINUTE]
const MAX_KEYS = 50_000
/** Bucket widths the timeline may use (a multiple of the counting unit). */
const WIDTHS = [1, 5, 15, 30, 60, 180, 360, 720, 1440, 10_080, 43_200].map((m) => m * MINUTE)

/** Counts as plain data, so partial counts made by other threads can be sent and merged. */
export interface StatsState {
  total: number
  unreadable: number
  unreadablePositions: string[]
  doubtful: number
  reasons: Array<[string | null, number]>
  topics: Array<[string | null, number]>
  conventions: Array<[string | null, number]>
  partitions: Array<[number, number]>
  /** Counts per `unitMs` since the epoch. */
  unitMs: number
  times: Array<[number, number]>
  first: number | null
  last: number | null
}

const KAFKA_POSITION = /^(\d+):\d+$/

export class StatsAccumulator {
  private total = 0
  private unreadable = 0
  private doubtful = 0
  private readonly positions: string[] = []
  private readonly reasons = new Map<string | null, number>()
  private readonly topics = new Map<string | null, number>()
  private readonly conventions = new Map<string | null, number>()
  private readonly partitions = new Map<number, number>()
  private unitMs = UNITS[0]
  private times = new Map<number, number>()
  private first: number | null = null
  private last: number | null = null

  /** `partitioned`: positions are Kafka's `partition:offset`, and per-partition counts are kept. */
  constructor(private readonly partitioned = false) {}

  add(rec: DecodedRecord): void {
    this.total++
    if (this.partitioned) {
      const m = KAFKA_POSITION.exec(rec.position)
      if (m) bump(this.partitions, Number(m[1]))
    }
    if (rec.unreadable !== null) {
      this.unreadable++
      if (this.positions.length < LISTED_UNREADABLE) this.positions.push(rec.position)
      return
    }
    if (rec.source.doubt) this.doubtful++
    bump(this.reasons, rec.reason)
    bump(this.topics, rec.source.topic)
    bump(this.conventions, rec.convention)
    const t = validTime(rec.timestamp)
    if (t !== null) {
      this.bound(t)
      this.count(t, 1)
    }
  }

  /** Unreadable records counted without the records at hand (`check` decides on them after reading on). */
  addUnreadable(count: number, positions: readonly string[]): void {
    this.total += count
    this.unreadable += count
    for (const p of positions) if (this.positions.length < LISTED_UNREADABLE) this.positions.push(p)
  }

  private bound(t: number | null): void {
    if (t === null || validTime(t) === null) return
    if (this.first === null || t < this.first) this.first = t
    if (this.last === null || t > this.last) this.last = t
  }

  private count(t: number, n: number): void {
    bump(this.times, Math.floor(t / this.unitMs), n)
    if (this.times.size > MAX_KEYS) {
      const next = UNITS.find((u) => u > this.unitMs)
      if (next !== undefined) this.coarsen(next)
    }
  }

  private coarsen(unitMs: number): void {
    if (unitMs <= this.unitMs) return
    const old = this.times
    const from = this.unitMs
    this.unitMs = unitMs
    this.times = new Map()
    for (const [k, n] of old) bump(this.times, Math.floor((k * from) / unitMs), n)
  }

  state(): StatsState {
    return {
      total: this.total,
      unreadable: this.unreadable,
      unreadablePositions: [...this.positions],
      doubtful: this.doubtful,
      reasons: [...this.reasons],
      topics: [...this.topics],
      conventions: [...this.conventions],
      partitions: [...this.partitions],
      unitMs: this.unitMs,
      times: [...this.times],
      first: this.first,
      last: this.last,
    }
  }

  /** Adds counts made elsewhere, in log order (their unreadable positions come after ours). */
  merge(s: StatsState): void {
    this.total += s.total
    this.unreadable += s.unreadable
    for (const p of s.unreadablePositions) if (this.positions.length < LISTED_UNREADABLE) this.positions.push(p)
    this.doubtful += s.doubtful
    for (const [k, n] of s.reasons) bump(this.reasons, k, n)
    for (const [k, n] of s.topics) bump(this.topics, k, n)
    for (const [k, n] of s.conventions) bump(this.conventions, k, n)
    for (const [k, n] of s.partitions) bump(this.partitions, k, n)
    this.coarsen(s.unitMs)
    for (const [k, n] of s.times) this.count(k * s.unitMs, n)
    this.bound(s.first)
    this.bound(s.last)
  }

  result(source: string, filter: RecordFilter, warnings: readonly string[] = []): StatsResult {
    return {
      source,
      filter: filter.text,
      warnings: [...warnings],
      total: this.total,
      readable: this.total - this.unreadable,
      unreadable: {count: this.unreadable, positions: [...this.positions]},
      doubtful: this.doubtful,
      byReason: sorted(this.reasons),
      bySourceTopic: sorted(this.topics),
      byConvention: sorted(this.conventions),
      byPartition: [...this.partitions.entries()].sort((a, b) => a[0] - b[0]).map(([partition, count]) => ({partition, count})),
      firstTimestamp: isoTime(this.first),
      lastTimestamp: isoTime(this.last),
      timeline: this.timeline(),
    }
  }

  /** Buckets of one width (the smallest listed that gives at most MAX_BUCKETS), empty ones included. */
  private timeline(): StatsResult['timeline'] {
    if (this.first === null || this.last === null || this.times.size === 0) return {bucketSeconds: 0, buckets: []}
    const span = this.last - this.first
    const width = WIDTHS.find((w) => w >= this.unitMs && w % this.unitMs === 0 && span / w < MAX_BUCKETS) ?? Math.max(this.unitMs, Math.ceil(span / MAX_BUCKETS / this.unitMs) * this.unitMs)
    const start = Math.floor(this.first / width) * width
    const n = Math.floor((this.last - start) / width) + 1
    const counts = new Array<number>(n).fill(0)
    for (const [k, c] of this.times) {
      const i = Math.floor((k * this.unitMs - start) / width)
      counts[Math.min(n - 1, Math.max(0, i))] += c
    }
    return {bucketSeconds: width / 1000, buckets: counts.map((count, i) => ({start: isoTime(start + i * width)!, count}))}
  }
}

function bump<K>(m: Map<K, number>, k: K, n = 1): void {
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
  const acc = new StatsAccumulator(reader.info.kind === 'kafka')
  const parallel = reader.parallelStats ? await reader.parallelStats(filter, signal) : null
  if (parallel) acc.merge(parallel)
  else for await (const rec of reader.scan({filter, signal})) acc.add(rec)
  return acc.result(reader.info.display, filter, reader.warnings)
}
