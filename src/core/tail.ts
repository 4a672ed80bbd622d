import {UsageError} from './errors.js'
import type {RecordFilter} from './filter.js'
import type {DecodedRecord} from './record.js'
import {MAX_LIMIT, type DlqReader} from './reader.js'

export const DEFAULT_TAIL = 10

export interface TailOptions {
  /** The last N matching messages to print first. */
  limit: number
  filter: RecordFilter
  signal: AbortSignal
  /** --follow: called once the end is taken (see FollowRequest.onLive). */
  onLive?: () => void
  /** --follow: a lost connection being retried, and found again (see FollowRequest.onNotice). */
  onNotice?: (text: string) => void
}

export function checkTailLimit(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_LIMIT) throw new UsageError(`--limit ${n}: must be a whole number from 0 to ${MAX_LIMIT}`)
  return n
}

/**
 * `dlq tail`: the last `limit` matching messages, oldest first. A source of several logs (a
 * Kafka topic's partitions, a services root's services) gives the newest `limit` across them
 * (lastOfEach, merged by NewestMerge); one log is read backward from its end (pageBefore).
 */
export async function tailLast(reader: DlqReader, opts: TailOptions): Promise<DecodedRecord[]> {
  const limit = checkTailLimit(opts.limit)
  if (limit === 0) return []
  if (reader.lastOfEach) return reader.lastOfEach({before: null, limit, filter: opts.filter, signal: opts.signal})
  if (!reader.pageBefore) throw new UsageError(`${reader.info.display}: this source cannot be read from its end`)
  return (await reader.pageBefore({before: null, limit, filter: opts.filter, signal: opts.signal})).records
}

/** `dlq tail --follow`: the last `limit`, then every new matching message until the signal aborts. */
export function followTail(reader: DlqReader, opts: TailOptions): AsyncIterable<DecodedRecord> {
  const limit = checkTailLimit(opts.limit)
  if (!reader.follow) throw new UsageError(`${reader.info.display}: this source cannot be followed`)
  return reader.follow({backlog: limit, filter: opts.filter, signal: opts.signal, onLive: opts.onLive, onNotice: opts.onNotice})
}

/**
 * While following: the reader's warnings added since the last call (a rotation, a truncation),
 * each text once; those it has now count as said. Called before every record, it compares only
 * the number of warnings until one is added (readers only ever add to their list).
 */
export function newWarnings(reader: DlqReader): () => string[] {
  const said = new Set(reader.warnings ?? [])
  let seen = reader.warnings?.length ?? 0
  return () => {
    const all = reader.warnings ?? []
    if (all.length === seen) return []
    seen = all.length
    const fresh = all.filter((w) => !said.has(w))
    for (const w of fresh) said.add(w)
    return fresh
  }
}

/** A record's own time, null for one without (a corrupt file line). */
export const timeOf = (r: DecodedRecord): number | null => (r.timestamp !== null && Number.isFinite(r.timestamp) ? r.timestamp : null)

/**
 * The newest `limit` records of several logs, each given as its last records in log order
 * (logs added in position order: partitions or services ascending), kept oldest first.
 *
 * Newest is by timestamp; on equal times the later log (higher partition, later service)
 * counts as newer. The records of one log keep their log order: the newest is taken from the
 * logs' ends one at a time, so each log gives a run of its last records even where its times
 * are not in order (a producer's CreateTime). A record without a time (a corrupt file line)
 * takes the time of the record before it in its log, after which it was written; for those
 * first in what was read, that is `before` when the reader looked further back for it (see
 * add), else the time of the first timed record after them; a log with no time at all counts
 * as older than every timed record.
 *
 * Logs are merged one at a time and the result cut to `limit` each time, so memory holds at
 * most two logs' worth, however many partitions a topic has. Merging greedily from the ends
 * gives the same as merging every log at once, since a merged run's end is always the newer
 * of its two logs' ends.
 */
export class NewestMerge {
  private kept: Array<{rec: DecodedRecord; t: number}> = []

  constructor(private readonly limit: number) {}

  /**
   * `before`: the time of the last timed record before `log`'s first in its log, which records
   * of no time at the head of `log` take; null when there is none (the log starts there), in
   * which case they take the time of the first timed record after them.
   */
  add(log: readonly DecodedRecord[], before: number | null = null): void {
    // Before the first timed record read: the time of the one before them, else of that first one (they were written before it).
    let t = before ?? log.map(timeOf).find((x) => x !== null) ?? Number.NEGATIVE_INFINITY
    const next = log.map((rec) => {
      t = timeOf(rec) ?? t
      return {rec, t}
    })
    const a = this.kept
    const out: Array<{rec: DecodedRecord; t: number}> = []
    let i = a.length - 1
    let j = next.length - 1
    while (out.length < this.limit && (i >= 0 || j >= 0)) {
      // Ties go to the log added later: it comes later in position order.
      if (j >= 0 && (i < 0 || next[j].t >= a[i].t)) out.push(next[j--])
      else out.push(a[i--])
    }
    this.kept = out.reverse()
  }

  records(): DecodedRecord[] {
    return this.kept.map((k) => k.rec)
  }
}
