import {buildFilter, MATCH_ALL, type RecordFilter} from './filter.js'
import {isoTime} from './message.js'
import type {DlqReader} from './reader.js'
import type {DecodedRecord} from './record.js'
import {collectStats, LISTED_UNREADABLE, StatsAccumulator, type Count, type ParallelStats, type StatsResult} from './stats.js'
import {UsageError} from './errors.js'
import {filterReadsPayload} from './schema/reader.js'

/**
 * `dlq check` exits with this when more messages match than `--max` allows. Not 1: a CI
 * script must tell "the DLQ is over its threshold" from "dlq could not do its job" (1, 4) or
 * "the command line is wrong" (2); 3 is a settings conflict and 130 Ctrl-C.
 */
export const OVER_THRESHOLD_EXIT = 5

export interface CheckResult {
  source: string
  filter: string[]
  /** The --since / --until bounds (ISO), null when open. */
  window: {since: string | null; until: string | null}
  max: number
  /** Messages that match, unreadable ones included (a record that cannot be read still sits in the DLQ). */
  count: number
  over: boolean
  /** Unreadable records counted (in `count`), those of unknown time included. */
  unreadable: number
  /**
   * Of `unreadable`: records with no time of their own (a corrupt file line) that the window
   * cannot place. They count toward --max: a gate must trip on a flood of corrupt lines.
   */
  unreadableTimeUnknown: number
  /** Readable matching messages by reason; a null value: the records do not say. */
  byReason: Count[]
  firstTimestamp: string | null
  lastTimestamp: string | null
  warnings: string[]
}

export function checkMax(max: number): number {
  if (!Number.isInteger(max) || max < 0) throw new UsageError(`--max ${max}: must be a whole number, 0 or more`)
  return max
}

/**
 * The gate behind `dlq check`: the same one pass as `dlq stats` (bounded by --since/--until
 * where the store can seek: Kafka's offsets for times, Redis id ranges), compared with `max`.
 */
export async function checkThreshold(reader: DlqReader & Partial<ParallelStats>, filter: RecordFilter, max: number, signal?: AbortSignal): Promise<CheckResult> {
  checkMax(max)
  const windowed = (filter.since !== null || filter.until !== null) && FILE_KINDS.has(reader.info.kind)
  const {stats: s, timeUnknown} = windowed ? await fileWindow(reader, filter, signal) : {stats: await collectStats(reader, filter, signal), timeUnknown: 0}
  return {
    source: s.source,
    filter: s.filter,
    window: {since: isoTime(filter.since), until: isoTime(filter.until)},
    max,
    count: s.total,
    over: s.total > max,
    unreadable: s.unreadable.count,
    unreadableTimeUnknown: timeUnknown,
    byReason: s.byReason,
    firstTimestamp: s.firstTimestamp,
    lastTimestamp: s.lastTimestamp,
    warnings: s.warnings,
  }
}

/** Kafka records and Redis entries carry the store's time even when unreadable; file lines do not. */
const FILE_KINDS = new Set(['file', 'directory', 'services'])

/**
 * A large single file is counted in parallel threads first, with unreadable records of no time
 * let through the window: when there are none, that count is the answer, as fast as before;
 * otherwise they are placed by the one-thread pass below.
 */
async function fileWindow(reader: DlqReader & Partial<ParallelStats>, filter: RecordFilter, signal?: AbortSignal): Promise<{stats: StatsResult; timeUnknown: number}> {
  if (reader.parallelStats) {
    const loose = buildFilter({...filter.spec, keepUntimedUnreadable: true}, filter.now)
    const state = await reader.parallelStats(loose, signal)
    if (state !== null && state.unreadable === 0) {
      const acc = new StatsAccumulator(false)
      acc.merge(state)
      return {stats: acc.result(reader.info.display, filter, reader.warnings), timeUnknown: 0}
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
async function fileWindowStats(reader: DlqReader, filter: RecordFilter, signal?: AbortSignal): Promise<{stats: StatsResult; timeUnknown: number}> {
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
  return {stats: acc.result(reader.info.display, filter, reader.warnings), timeUnknown}
}
