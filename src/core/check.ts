import {buildFilter, MATCH_ALL, type RecordFilter} from './filter.js'
import {isoTime} from './message.js'
import type {DlqReader} from './reader.js'
import {collectStats, LISTED_UNREADABLE, StatsAccumulator, type Count, type ParallelStats, type StatsResult} from './stats.js'
import {UsageError} from './errors.js'

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
  const {stats: s, timeUnknown} = windowed ? await fileWindowStats(reader, filter, signal) : {stats: await collectStats(reader, filter, signal), timeUnknown: 0}
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
  // Every record, so the neighbours are seen; `since` kept so whole rotated files before it are skipped.
  const all: RecordFilter = {...MATCH_ALL, since, until}
  const acc = new StatsAccumulator(false)
  let timeUnknown = 0
  /** Time of the last timed record of the current log (a services root holds one log per service). */
  let prev: number | null = null
  let log: string | null = null
  /** Unreadable records since that one, waiting for the next timed record to place them. */
  let waiting = {count: 0, positions: [] as string[]}

  const place = (next: number | null) => {
    if (waiting.count === 0) return
    const out = (until !== null && prev !== null && prev > until) || (since !== null && next !== null && next < since)
    const inside = (since === null || (prev !== null && prev >= since)) && (until === null || (next !== null && next <= until))
    if (!out) acc.addUnreadable(waiting.count, waiting.positions)
    if (!out && !inside) timeUnknown += waiting.count
    waiting = {count: 0, positions: []}
  }

  for await (const rec of reader.scan({filter: all, signal})) {
    const at = rec.position.lastIndexOf(':')
    const name = at < 0 ? '' : rec.position.slice(0, at)
    if (name !== log) {
      place(null)
      prev = null
      log = name
    }
    if (rec.timestamp === null) {
      if (rec.unreadable !== null && timeless.matches(rec)) {
        waiting.count++
        if (waiting.positions.length < LISTED_UNREADABLE) waiting.positions.push(rec.position)
      }
      continue
    }
    place(rec.timestamp)
    prev = rec.timestamp
    if (filter.matches(rec)) acc.add(rec)
  }
  place(null)
  return {stats: acc.result(reader.info.display, filter, reader.warnings), timeUnknown}
}
