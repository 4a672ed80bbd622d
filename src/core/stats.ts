import {buildFilter, MATCH_ALL, type RecordFilter} from './filter.js'
import {isoTime} from './message.js'
import type {DecodedRecord} from './record.js'
import type {DlqReader} from './reader.js'
import {filterReadsPayload} from './schema/reader.js'
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
  /**
   * `timeUnknown`, of `count`: records with no time of their own (a corrupt file line) that
   * --since/--until cannot place (the lines around them are one inside, one outside the
   * window, or missing); counted, since they may be inside. 0 without a time window.
   */
  unreadable: {count: number; positions: string[]; timeUnknown: number}
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
      unreadable: {count: this.unreadable, positions: [...this.positions], timeUnknown: 0},
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

/**
 * `dlq stats` (and `dlq check`): one streaming pass (or a parallel one where the store offers
 * it); memory bounded by the number of distinct values. A file DLQ within --since/--until
 * places its corrupt lines (which have no time) by their neighbours: see `fileWindowStats`.
 */
export async function collectStats(reader: DlqReader & Partial<ParallelStats>, filter: RecordFilter, signal?: AbortSignal): Promise<StatsResult> {
  if ((filter.since !== null || filter.until !== null) && FILE_KINDS.has(reader.info.kind)) return fileWindow(reader, filter, signal)
  const acc = new StatsAccumulator(reader.info.kind === 'kafka')
  const parallel = reader.parallelStats ? await reader.parallelStats(filter, signal) : null
  if (parallel) acc.merge(parallel)
  else for await (const rec of reader.scan({filter, signal})) acc.add(rec)
  return acc.result(reader.info.display, filter, reader.warnings)
}

/** Kafka records and Redis entries carry the store's time even when unreadable; file lines do not. */
const FILE_KINDS = new Set(['file', 'directory', 'services'])

/**
 * A large single file is counted in parallel threads first, with unreadable records of no time
 * let through the window: when there are none, that count is the answer, as fast as before;
 * otherwise they are placed by the one-thread pass below.
 */
async function fileWindow(reader: DlqReader & Partial<ParallelStats>, filter: RecordFilter, signal?: AbortSignal): Promise<StatsResult> {
  if (reader.parallelStats) {
    const loose = buildFilter({...filter.spec, keepUntimedUnreadable: true}, filter.now)
    const state = await reader.parallelStats(loose, signal)
    if (state !== null && state.unreadable === 0) {
      const acc = new StatsAccumulator(false)
      acc.merge(state)
      return acc.result(reader.info.display, filter, reader.warnings)
    }
  }
  return fileWindowStats(reader, filter, signal)
}

/**
 * A file DLQ counted within --since/--until. A corrupt line has no time, and the time filter
 * alone would drop it silently. A file is written in order, so such a line was written after
 * the entry before it and before the entry after it: it is inside the window when both
 * neighbours' times put it there, outside when one of them does (an entry after it is older
 * than --since, or one before it newer than --until), and otherwise of unknown time, counted.
 * The read is still bounded as the readers bound it (rotated files named before --since are
 * not read); every record is parsed, since the neighbours may be records the filter rejects.
 */
async function fileWindowStats(reader: DlqReader, filter: RecordFilter, signal?: AbortSignal): Promise<StatsResult> {
  const since = filter.since
  const until = filter.until
  // The filter without its time bounds, for the records whose time is unknown.
  const timeless = buildFilter({...filter.spec, since: undefined, until: undefined}, filter.now)
  const untimed = (rec: DecodedRecord) => rec.timestamp === null && rec.unreadable !== null && timeless.matches(rec)
  // No needles (every line parsed, so neighbours are seen); `since` kept so whole rotated files before it are skipped.
  const every: RecordFilter = {...MATCH_ALL, isEmpty: false, since, until}
  /** For each record of unknown time yielded: the time of the last timed record before it in the file. */
  const prevOf = new WeakMap<DecodedRecord, number | null>()
  let scanFilter = every
  // A payload filter may be settled by a decoding reader after the store's loop (schema/reader.ts): then every record is handed over.
  if (reader.info.kind !== 'services' && !filterReadsPayload(filter)) {
    // One log, whose reader asks the filter about each record in log order: the filter notes
    // the neighbours, so only what counts (and the entry after a corrupt line) is handed over.
    let last: number | null = null
    let after = false
    scanFilter = {
      ...every,
      matches(rec) {
        if (rec.timestamp === null) {
          if (!untimed(rec)) return false
          prevOf.set(rec, last)
          after = true
          return true
        }
        last = rec.timestamp
        if (after) {
          after = false
          return true
        }
        return filter.matches(rec)
      },
    }
  }
  const acc = new StatsAccumulator(false)
  let timeUnknown = 0
  /** Time of the last timed record seen here (a services root: every record is seen; one log per service). */
  let prev: number | null = null
  let log: string | null = null
  /** Records of unknown time since the last timed one, waiting for the next timed record to place them. */
  let waiting = {count: 0, prev: null as number | null, positions: [] as string[]}

  const place = (next: number | null) => {
    if (waiting.count === 0) return
    const before = waiting.prev
    const out = (until !== null && before !== null && before > until) || (since !== null && next !== null && next < since)
    const inside = (since === null || (before !== null && before >= since)) && (until === null || (next !== null && next <= until))
    if (!out) acc.addUnreadable(waiting.count, waiting.positions)
    if (!out && !inside) timeUnknown += waiting.count
    waiting = {count: 0, prev: null, positions: []}
  }

  for await (const rec of reader.scan({filter: scanFilter, signal})) {
    const at = rec.position.lastIndexOf(':')
    const name = at < 0 ? '' : rec.position.slice(0, at)
    if (name !== log) {
      place(null)
      prev = null
      log = name
    }
    if (rec.timestamp === null) {
      if (!untimed(rec)) continue
      if (waiting.count === 0) waiting.prev = prevOf.has(rec) ? prevOf.get(rec)! : prev
      waiting.count++
      if (waiting.positions.length < LISTED_UNREADABLE) waiting.positions.push(rec.position)
      continue
    }
    place(rec.timestamp)
    prev = rec.timestamp
    if (filter.matches(rec)) acc.add(rec)
  }
  place(null)
  const result = acc.result(reader.info.display, filter, reader.warnings)
  result.unreadable.timeUnknown = timeUnknown
  return result
}
