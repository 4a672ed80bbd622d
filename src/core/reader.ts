import type {RecordFilter} from './filter.js'
import type {DecodedRecord} from './record.js'

/**
 * The one reader interface every store implements (files, Kafka, Redis).
 *
 * Contract:
 * - Positions are strings in the store's notation (file: record number; Kafka:
 *   `partition:offset`; Redis: entry id). `parsePosition` validates a user-given one and
 *   throws UsageError for a malformed one; it never maps it to a different message.
 * - `page` reads forward from `from` (inclusive; null = the start of the log) until `limit`
 *   records match the filter or the log ends, and returns `next`: the position to pass as
 *   `from` to continue right after the last record examined, and `atEnd` when the log ended.
 *   It reads only what the page needs: a Kafka page is one seek and fetch per partition read,
 *   a Redis page one `XRANGE … COUNT`, a file page an index lookup plus a bounded scan.
 * - `scan` streams every record from `from` to the end that matches the filter, in log order,
 *   with memory independent of the log's size. Unreadable records are yielded too (with
 *   `unreadable` set) when they match; callers count them.
 * - `scanBatches` (optional; files have it) yields what `scan` yields a batch at a time: one
 *   await per batch instead of per record, which is what a replay of a million messages pays
 *   (`scanInBatches` falls back to `scan`).
 * - `get` looks positions up one by one for replay; a position that does not exist (any more)
 *   is absent from the result, never replaced by a neighbour.
 * - `pageBefore` (optional; files, Kafka and Redis have it) reads backward: the `limit`
 *   matching records that come right
 *   before `before` (exclusive; null = the current end of the log), returned in log order.
 *   Its `from` is where a forward `page` with `limit` = the records' count reads the same
 *   records again, null when the read reached the start of the log (or of --since). It is
 *   bounded like `page`: a file step reads a stretch of record numbers, a Kafka step one
 *   fetch per partition stretch, a Redis step one `XREVRANGE … COUNT`; steps grow only while
 *   a filter keeps rejecting.
 * - `lastOfEach` (optional; sources of several logs: a Kafka topic's partitions, a services
 *   root's services) is `tail -n`: the newest `limit` matching records across the logs, not
 *   the last ones in position order (which would be the last partition's, however old). It
 *   reads each log backward (`pageBefore` of that log alone, `limit` at most) and merges them
 *   by time (core/tail.ts NewestMerge), oldest first.
 * - `follow` (optional; files, Kafka and Redis have it) is `tail -f`: it snapshots the current
 *   end of the log, yields the last `backlog` matching records before that end (as
 *   `pageBefore` with before = the end, or `lastOfEach` for several logs, so the two agree on
 *   where "now" is: each log's follow starts right after its part of the snapshot), then every
 *   matching record written after it, in log order within each partition / stream / file
 *   (records of different partitions or services interleave as they arrive), each exactly
 *   once, waiting for more until `signal` aborts; then it returns (no error). Waiting is
 *   the store's own: Kafka long-poll fetches from the end of each partition (metadata is
 *   re-read now and then, so partitions added meanwhile are read from their start), Redis
 *   `XREAD BLOCK` on a connection of its own, files a poll of size and inode that follows
 *   appends, the writer's rotation (nothing lost or repeated) and files created since. A
 *   record is yielded only once whole (a file line with its newline). Store errors throw.
 * - Readers never print and never join consumer groups or write to the store.
 */
export interface DlqReader {
  readonly info: SourceInfo
  /** Problems found while opening that did not stop the read (e.g. a directory entry left out), for the user. */
  readonly warnings?: readonly string[]
  parsePosition(text: string): string
  /**
   * The replay ledger's identity of the message at `position` when it does not depend on the
   * message's content (Kafka: topic id, partition, offset), so that a message no longer in the
   * DLQ (purged after its replay) is still known to the ledger; absent or null otherwise.
   */
  identityOf?(position: string): string | null
  bounds(): Promise<LogBounds>
  page(req: PageRequest): Promise<Page>
  scan(req: ScanRequest): AsyncIterable<DecodedRecord>
  scanBatches?(req: ScanRequest): AsyncIterable<DecodedRecord[]>
  get(positions: string[]): Promise<Map<string, DecodedRecord>>
  pageBefore?(req: PageBeforeRequest): Promise<PageBefore>
  lastOfEach?(req: LastOfEachRequest): Promise<DecodedRecord[]>
  follow?(req: FollowRequest): AsyncIterable<DecodedRecord>
  close(): Promise<void>
}

export interface SourceInfo {
  /** services: the root of hyperi-rustlib's `<path>/<service>/` directories (positions SERVICE:N). */
  kind: 'file' | 'directory' | 'services' | 'kafka' | 'redis'
  /** How to show the source to a user: credentials are never part of it. */
  display: string
  /** The Kafka topic or Redis stream read (never a replay target); absent for files. */
  name?: string
}

export interface ScanRequest {
  from?: string | null
  filter: RecordFilter
  signal?: AbortSignal
}

export interface PageRequest extends ScanRequest {
  limit: number
}

export interface PageBeforeRequest {
  /** Exclusive: a position or cursor as `page` takes in `from`; null = the end of the log. */
  before: string | null
  limit: number
  filter: RecordFilter
  signal?: AbortSignal
}

export interface LastOfEachRequest {
  /** null: the end of each log now (what a follow does with its own snapshot of the ends). */
  before: null
  limit: number
  filter: RecordFilter
  signal?: AbortSignal
}

export interface FollowRequest {
  /** How many of the last matching records before the end to yield first (0: only new ones). */
  backlog: number
  filter: RecordFilter
  /** Following ends when this aborts (Ctrl-C, stdout closed). */
  signal: AbortSignal
  /**
   * Called once, as soon as the end ("now") is taken, before the backlog is read: whatever is
   * written after this call is followed. (A table prints its header then, so a user who sees
   * it knows a message written from then on will show.)
   */
  onLive?: () => void
  /**
   * Said to the user at once while following (on stderr): a connection to the store lost and
   * being retried, and found again. A follow outlives a store's restart; Ctrl-C ends it.
   */
  onNotice?: (text: string) => void
}

export interface PageBefore {
  /** In log order (oldest first). */
  records: DecodedRecord[]
  /** A forward page from here with limit = records.length gives these records again; null = the log start. */
  from: string | null
  /** True when nothing (that matches) comes before these records. */
  atStart: boolean
  /** Records examined, including those the filter rejected. */
  scanned: number
}

export interface Page {
  records: DecodedRecord[]
  /** Where to continue after this page (also at the end: a DLQ that grows continues there). */
  next: string | null
  /** True when the page reached the current end of the log. */
  atEnd: boolean
  /** Records examined to fill the page, including those the filter rejected. */
  scanned: number
}

export interface LogBounds {
  /** Position of the first record, null when empty. */
  first: string | null
  /** Position of the last record, null when empty. */
  last: string | null
  /** Number of records when the store knows it cheaply, else null. */
  count: number | null
}

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 5000

/** The records of `reader.scan(req)` a batch at a time (the reader's own batches where it has them). */
export async function* scanInBatches(reader: DlqReader, req: ScanRequest): AsyncIterable<DecodedRecord[]> {
  if (reader.scanBatches) {
    yield* reader.scanBatches(req)
    return
  }
  for await (const r of reader.scan(req)) yield [r]
}
