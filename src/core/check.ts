import type {RecordFilter} from './filter.js'
import {isoTime} from './message.js'
import type {DlqReader} from './reader.js'
import {collectStats, type Count, type ParallelStats} from './stats.js'
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
  const s = await collectStats(reader, filter, signal)
  return {
    source: s.source,
    filter: s.filter,
    window: {since: isoTime(filter.since), until: isoTime(filter.until)},
    max,
    count: s.total,
    over: s.total > max,
    unreadable: s.unreadable.count,
    unreadableTimeUnknown: s.unreadable.timeUnknown,
    byReason: s.byReason,
    firstTimestamp: s.firstTimestamp,
    lastTimestamp: s.lastTimestamp,
    warnings: s.warnings,
  }
}
