import {constants, fstatSync, openSync, readdirSync, readSync, statSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {UsageError} from '../../core/errors.js'
import {MATCH_ALL, type RecordFilter} from '../../core/filter.js'
import type {DecodedRecord} from '../../core/record.js'
import type {DlqReader, FollowRequest, LogBounds, Page, PageBefore, PageBeforeRequest, PageRequest, ScanRequest, SourceInfo} from '../../core/reader.js'
import {filePageBefore} from './backward.js'
import {COUNT_CHUNK_BYTES, PARSE_CHUNK_BYTES, segmentChunks} from './chunks.js'
import {closeSegments, compareRotated, LIVE, openNames, orderedNames, rotatedKey, type Segment} from './layout.js'
import {EVERY, LineIndex} from './line-index.js'
import {parseLine, unreadable} from './parse-line.js'
import {Prefilter} from './prefilter.js'
import {parallelStats} from './parallel-stats.js'
import type {StatsState} from '../../core/stats.js'
import {DirWatch} from './watch.js'

interface Batch {
  records: DecodedRecord[]
  /** Global line number to continue from after this batch. */
  nextLine: number
  scanned: number
}

interface WalkResult {
  nextLine: number
  atEnd: boolean
  /** A `whole` walk stopped before the live file's last line, which has no newline yet (the writer is writing it). */
  partial?: boolean
}

const POSITION_RE = /^\d+$/
/** How often a follow looks at the live file (size and inode) when nothing was new and no change was reported (watch.ts). */
export const FOLLOW_POLL_MS = 200
/** How many of a followed file's first bytes are compared at each look to notice it was truncated and written again. */
const HEAD_SAMPLE = 4096
/** Records a follow reads per step before it yields to other services and looks again. */
const FOLLOW_BATCH = 1000

/** Where a follow of one file DLQ stands: the next record number, and what the files looked like when last read. */
export interface FollowCursor {
  next: number
  seen: string
}

/** The most a writer's local time is behind UTC (UTC−12): a rotated name read as UTC is at most this early. */
const MAX_LOCAL_BEHIND_MS = 12 * 3_600_000

/**
 * Whether every record of a rotated file is older than `since`, by its name alone: the crate
 * names a rotated file after the moment it rotated, in the writer's local time, and every
 * entry in it was written (and stamped) before that moment. The zone is not known, so the
 * name is taken as UTC and given the widest zone's 12 hours (and the second it names) of doubt.
 * Such a file is counted (positions stay what they are) but not parsed.
 */
function before(seg: Segment, since: number | null): boolean {
  if (since === null) return false
  const k = rotatedKey(basename(seg.path))
  if (k === null) return false
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(k.ts)
  if (!m) return false
  const named = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
  return named + 1000 + MAX_LOCAL_BEHIND_MS < since
}

/**
 * NDJSON file DLQs: one file (plain or gzip) or a rotated directory read as one log.
 * Position = 0-based line number in the whole log; blank lines keep their number but are
 * not shown. Rotation renames files (same inode), so the numbers and the index survive it.
 *
 * A directory is read from the files it held when it was opened, each through its own
 * descriptor: hyperi-rustlib may rename the live file, gzip a rotated one (removing the plain
 * file) or delete the oldest while a read runs, and a descriptor keeps reading the same bytes
 * under any name or none. When a read reaches the end of the live file it checks whether the
 * writer rotated it (`dlq.ndjson` is another inode now): then it finishes the renamed file and
 * continues with the files written since, so nothing written before the end is missed.
 */
export class FileReader implements DlqReader {
  private readonly indexes: LineIndex[]
  /** Total lines per segment (including a final unterminated line), once counted. */
  private readonly counts: Array<number | null>
  /** Size of the live (last) segment when it was counted: a writer appending to it makes the count stale. */
  private liveSize = -1
  private counting: Promise<unknown> = Promise.resolve()
  /** The first bytes of a followed single file as read: a file truncated and written again no longer starts with them. */
  private followHead: Buffer | null = null
  private truncations = 0
  private readonly warningList: string[]

  constructor(
    readonly info: SourceInfo,
    private readonly segments: Segment[],
    /** Entries of a directory left out (not regular files, foreign names), for the command to show. */
    warnings: readonly string[] = [],
    /** The rotated directory whose writer's rotations a read follows (null: a single file). */
    private dir: string | null = null,
  ) {
    this.indexes = segments.map((s) => LineIndex.load(s.path, s.gzip, s.fd))
    this.counts = segments.map(() => null)
    this.warningList = [...warnings]
  }

  get warnings(): readonly string[] {
    return this.warningList
  }

  parsePosition(text: string): string {
    const t = text.trim()
    if (!POSITION_RE.test(t)) throw new UsageError(`position "${text}": a file DLQ position is a record number (0, 1, 2, …)`)
    return String(Number(t))
  }

  /**
   * One count at a time: two counts of a growing file at once (browse asks again when follow
   * mode sees new messages) could store the older one's smaller count last, under the newer
   * size, and the file would read as that size until it grew again.
   */
  bounds(): Promise<LogBounds> {
    const run = this.counting.then(() => this.boundsNow())
    this.counting = run.catch(() => {})
    return run
  }

  private async boundsNow(): Promise<LogBounds> {
    await this.followRotation()
    const live = this.segments.length - 1
    if (live >= 0 && !this.segments[live].gzip) {
      const seg = this.segments[live]
      let size = -1
      try {
        size = seg.fd === undefined ? statSync(seg.path).size : fstatSync(seg.fd).size
      } catch {
        // gone: counted again below
      }
      if (size !== this.liveSize) this.counts[live] = null
      this.liveSize = size
    }
    let count = 0
    for (let i = 0; i < this.segments.length; i++) count += await this.segmentLines(i)
    return {first: count > 0 ? '0' : null, last: count > 0 ? String(count - 1) : null, count}
  }

  async page(req: PageRequest): Promise<Page> {
    const start = req.from ? Number(this.parsePosition(req.from)) : 0
    const records: DecodedRecord[] = []
    let scanned = 0
    const walk = this.walk(start, req.filter, req.limit, req.signal)
    let step = await walk.next()
    for (; !step.done; step = await walk.next()) {
      records.push(...step.value.records)
      scanned += step.value.scanned
    }
    return {records, next: String(step.value.nextLine), atEnd: step.value.atEnd, scanned}
  }

  async *scan(req: ScanRequest): AsyncIterable<DecodedRecord> {
    for await (const records of this.scanBatches(req)) yield* records
  }

  async *scanBatches(req: ScanRequest): AsyncIterable<DecodedRecord[]> {
    const start = req.from ? Number(this.parsePosition(req.from)) : 0
    for await (const batch of this.walk(start, req.filter, Number.POSITIVE_INFINITY, req.signal)) if (batch.records.length > 0) yield batch.records
  }

  /** Like scan, handing each record to `visit`, and returning how many lines the log has. */
  async scanCounting(req: ScanRequest, visit: (rec: DecodedRecord) => void): Promise<number> {
    const start = req.from ? Number(this.parsePosition(req.from)) : 0
    const walk = this.walk(start, req.filter, Number.POSITIVE_INFINITY, req.signal)
    let step = await walk.next()
    for (; !step.done; step = await walk.next()) for (const r of step.value.records) visit(r)
    return step.value.nextLine
  }

  parallelStats(filter: RecordFilter, signal?: AbortSignal): Promise<StatsState | null> {
    // The threads read by path: only a single file, which no rotation renames under them.
    if (this.dir !== null) return Promise.resolve(null)
    return parallelStats(this.segments, filter, signal)
  }

  async get(positions: string[]): Promise<Map<string, DecodedRecord>> {
    const found = new Map<string, DecodedRecord>()
    for (const p of positions) {
      const pos = this.parsePosition(p)
      const page = await this.page({from: pos, limit: 1, filter: MATCH_ALL})
      const rec = page.records[0]
      if (rec && rec.position === pos) found.set(pos, rec)
    }
    return found
  }

  /** Backward paging by record number (backward.ts). */
  pageBefore(req: PageBeforeRequest): Promise<PageBefore> {
    return filePageBefore(this, req)
  }

  /**
   * `tail -f` on the file or directory: the end is the last whole line now (a line the writer
   * has not finished is not a record yet); then the live file is polled (size and inode), and
   * what was appended is read with the same walk as a page, which follows a rotation (the
   * renamed file is finished through its descriptor, then the files written since are read).
   */
  async *follow(req: FollowRequest): AsyncIterable<DecodedRecord> {
    const cursor = await this.followStart()
    req.onLive?.()
    if (req.backlog > 0 && cursor.next > 0) yield* (await this.pageBefore({before: String(cursor.next), limit: req.backlog, filter: req.filter, signal: req.signal})).records
    yield* this.followFrom(cursor, req)
  }

  /** Follows from `cursor` on ({next: 0, seen: ''}: from the first record, for a DLQ that appeared while followed). */
  async *followFrom(cursor: FollowCursor, req: FollowRequest): AsyncIterable<DecodedRecord> {
    const changes = new DirWatch()
    changes.add(this.dir ?? dirname(this.segments[0]?.path ?? this.info.display))
    try {
      while (!req.signal.aborted) {
        if (!(yield* this.followStep(cursor, req.filter, req.signal))) await changes.wait(FOLLOW_POLL_MS, req.signal)
      }
    } finally {
      changes.close()
    }
  }

  /** The record number after the last whole line: where following starts. */
  async followStart(): Promise<FollowCursor> {
    // The first bytes are kept before the count: a file truncated and written again to its old
    // length or more before the first look (while the backlog prints) is told by them alone.
    this.keepHead(HEAD_SAMPLE)
    const count = (await this.bounds()).count ?? 0
    const last = this.segments.at(-1)
    let end = count
    if (last && !last.gzip && last.fd !== undefined && count > 0) {
      const size = fstatSync(last.fd).size
      const byte = Buffer.alloc(1)
      if (size > 0 && readSync(last.fd, byte, 0, 1, size - 1) === 1 && byte[0] !== 10) end--
    }
    return {next: end, seen: ''}
  }

  /**
   * One look: when the files changed since the last one, yields the whole records written
   * after `cursor.next` (at most FOLLOW_BATCH) and moves the cursor. Returns true when it
   * read something or more is waiting, false when there was nothing new (the caller waits).
   */
  async *followStep(cursor: FollowCursor, filter: RecordFilter, signal: AbortSignal): AsyncGenerator<DecodedRecord, boolean> {
    const now = this.followState()
    if (now === cursor.seen) return false
    if (this.truncated()) {
      // Truncated in place (logrotate's copytruncate, `: > file`): the same inode holds new
      // records from byte 0, so the record numbers start again, like a replaced file's.
      this.restartTruncated()
      cursor.next = 0
      cursor.seen = ''
      return true
    }
    const walk = this.walk(cursor.next, filter, FOLLOW_BATCH, signal, true)
    let step = await walk.next()
    let read = false
    for (; !step.done; step = await walk.next()) {
      read = true
      yield* step.value.records
    }
    const r = step.value
    cursor.next = r.nextLine
    if (!r.atEnd && !r.partial) return true
    if (this.replaced()) {
      // A single file renamed away and created anew (a logrotate-style rotation): what the old
      // one held was read through its descriptor above; the new one is read from its start.
      this.reopen()
      cursor.next = 0
      cursor.seen = ''
      return true
    }
    cursor.seen = now
    return read
  }

  /** Sizes and inodes a follow compares: any write, rotation or new live file changes it. */
  private followState(): string {
    const last = this.segments.at(-1)
    let size = -1
    try {
      if (last) size = last.fd === undefined ? statSync(last.path).size : fstatSync(last.fd).size
    } catch {
      // gone: the walk finds out what happened
    }
    const live = this.dir !== null ? join(this.dir, LIVE) : this.segments[0]?.path
    const st = live === undefined ? undefined : statSync(live, {throwIfNoEntry: false})
    return `${this.segments.length}:${size}:${st?.dev ?? '-'}:${st?.ino ?? '-'}:${st?.size ?? '-'}`
  }

  /** A single plain file whose name now holds another file. */
  private replaced(): boolean {
    const seg = this.segments[0]
    if (this.dir !== null || this.segments.length !== 1 || seg.gzip || seg.ino === undefined) return false
    const st = statSync(seg.path, {throwIfNoEntry: false})
    return st !== undefined && st.isFile() && (st.ino !== seg.ino || st.dev !== seg.dev)
  }

  /** The descriptor of a single plain file DLQ (the only kind that can be truncated in place), or null. */
  private singlePlainFd(): number | null {
    const seg = this.segments[0]
    return this.dir !== null || this.segments.length !== 1 || seg.gzip || seg.fd === undefined ? null : seg.fd
  }

  /**
   * A single plain file shorter than the bytes already read, or whose first bytes are not the
   * ones read (truncated and written again to its old length or more between two looks):
   * truncated in place. Comparing the first 4 KiB costs one read per look that saw a change.
   */
  private truncated(): boolean {
    const fd = this.singlePlainFd()
    if (fd === null) return false
    const read = this.indexes[0].size
    let size: number
    try {
      size = fstatSync(fd).size
    } catch {
      return false
    }
    if (size < read) return true
    if (this.followHead !== null && this.followHead.length > 0) {
      const now = Buffer.alloc(this.followHead.length)
      if (readSync(fd, now, 0, now.length, 0) < now.length || !now.equals(this.followHead)) return true
    }
    this.keepHead(Math.min(HEAD_SAMPLE, read))
    return false
  }

  /** Keeps the first `bytes` bytes of a followed single plain file (those there now, at most), unless as many are kept. */
  private keepHead(bytes: number): void {
    const fd = this.singlePlainFd()
    if (fd === null) return
    if (this.followHead !== null && this.followHead.length >= bytes) return
    const buf = Buffer.alloc(bytes)
    const n = readSync(fd, buf, 0, bytes, 0)
    // Read to the end of the file: a last line without its newline may be cut back and written
    // again by its writer (a torn write mended), so only whole lines are kept.
    this.followHead = buf.subarray(0, n < bytes ? buf.lastIndexOf(10, n - 1) + 1 : n)
  }

  private restartTruncated(): void {
    const path = this.segments[0].path
    this.indexes[0].reset()
    this.counts[0] = null
    this.liveSize = -1
    this.followHead = null
    this.truncations++
    const again = this.truncations > 1 ? ` (truncated ${this.truncations} times so far)` : ''
    this.warningList.push(`${path} was truncated in place (copytruncate?); following it from its start, whose positions start at 0 again${again}`)
  }

  private reopen(): void {
    const path = this.segments[0].path
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
    const st = fstatSync(fd)
    closeSegments(this.segments)
    this.segments[0] = {path, gzip: false, fd, dev: st.dev, ino: st.ino}
    this.indexes[0] = LineIndex.load(path, false, fd)
    this.counts[0] = null
    this.liveSize = -1
    this.followHead = null
    this.warningList.push(`${path} was replaced by a new file (rotated); following the new file, whose positions start at 0 again`)
  }

  async close(): Promise<void> {
    // A file truncated since the last look: its index describes bytes that are gone, and the
    // index saves hashes of the bytes there now, so it would be taken as valid next time.
    if (this.truncated()) this.indexes[0].reset()
    for (const idx of this.indexes) idx.save()
    closeSegments(this.segments)
  }

  /**
   * When the writer rotated since the last look, appends what it wrote since to the segments
   * and returns true. The live segment that was renamed stays where it is (same records, same
   * numbers); its count is dropped, since the writer may have appended to it before renaming.
   */
  private async followRotation(): Promise<boolean> {
    if (this.dir === null || this.segments.length === 0) return false
    const dir = this.dir
    const lastIdx = this.segments.length - 1
    const last = this.segments[lastIdx]
    const lastIsLive = basename(last.path) === LIVE
    if (lastIsLive) {
      const now = statSync(join(dir, LIVE), {throwIfNoEntry: false})
      if (now !== undefined && now.ino === last.ino && now.dev === last.dev) return false
    }
    const known = this.segments
      .map((s) => rotatedKey(basename(s.path)))
      .filter((k) => k !== null)
      .at(-1)
    const newer = orderedNames(readdirSync(dir), dir, null).filter((n) => {
      if (n === LIVE) return true
      const k = rotatedKey(n)!
      return known === undefined || compareRotated(k, known) > 0
    })
    let from = 0
    if (lastIsLive) {
      // The live file we hold is one of the newer rotated names now (the same inode).
      const at = newer.findIndex((n) => {
        if (n === LIVE) return false
        const st = statSync(join(dir, n), {throwIfNoEntry: false})
        return st !== undefined && st.ino === last.ino && st.dev === last.dev
      })
      if (at < 0) {
        const now = statSync(join(dir, LIVE), {throwIfNoEntry: false})
        if (now === undefined) return false // renamed, the new live file not created yet: the next look sees both
        this.warningList.push(
          `${join(dir, LIVE)} was rotated during the read and its rotated file is gone already (gzipped or deleted); records written after ${last.path} was opened may be missing: read again`,
        )
        this.dir = null
        return false
      }
      last.path = join(dir, newer[at])
      this.counts[lastIdx] = null
      this.liveSize = -1
      from = at + 1
    }
    const names = newer.slice(from)
    if (names.length === 0) return lastIsLive
    const opened = openNames(dir, names, this.warningList, true)
    if (opened === 'retry') return lastIsLive
    for (const seg of opened) {
      this.segments.push(seg)
      this.indexes.push(LineIndex.load(seg.path, seg.gzip, seg.fd))
      this.counts.push(null)
    }
    return true
  }

  /** Lines in segment i, counted once (with the help of its index) and remembered. */
  private async segmentLines(i: number): Promise<number> {
    const known = this.counts[i]
    if (known !== null) return known
    const idx = this.indexes[i]
    if (this.segments[i].gzip && idx.gzipLines !== null) {
      this.counts[i] = idx.gzipLines
      return idx.gzipLines
    }
    const walk = this.walkSegment(i, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, MATCH_ALL, 0, undefined)
    let step = await walk.next()
    while (!step.done) step = await walk.next()
    this.counts[i] = step.value.lines
    return step.value.lines
  }

  /**
   * Reads forward from global line `start`, yielding matching records chunk by chunk, until
   * `limit` records matched or the log ended; returns where to continue.
   */
  private async *walk(start: number, filter: RecordFilter, limit: number, signal: AbortSignal | undefined, whole = false): AsyncGenerator<Batch, WalkResult> {
    let base = 0
    let wanted = limit
    for (let i = 0; i < this.segments.length; i++) {
      const last = i === this.segments.length - 1
      if (!last) {
        const lines = await this.segmentLines(i)
        if (start >= base + lines || before(this.segments[i], filter.since)) {
          base += lines
          continue
        }
      }
      const local = Math.max(0, start - base)
      const seg = this.walkSegment(i, local, wanted, filter, base, signal, whole && last)
      let step = await seg.next()
      for (; !step.done; step = await seg.next()) {
        wanted -= step.value.records.length
        yield step.value
      }
      const r = step.value
      if (r.partial) return {nextLine: base + r.lines, atEnd: false, partial: true}
      if (r.stoppedAt !== null) return {nextLine: base + r.stoppedAt, atEnd: false}
      if (signal?.aborted) return {nextLine: base + r.lines, atEnd: false}
      if (last && (await this.followRotation())) {
        // Segment i was the live file and is a rotated one now: read what was appended to it
        // after this pass (from where it stopped), then go on into the files written since.
        start = Math.max(start, base + r.lines)
        i--
        continue
      }
      this.counts[i] = r.lines
      base += r.lines
    }
    return {nextLine: Math.max(base, start), atEnd: true}
  }

  /**
   * The hot loop. Lines before `localStart` are only counted (and indexed); later lines are
   * prefiltered on raw bytes, parsed, and filtered. Returns the segment's line count when it
   * read to the end, or `stoppedAt` (the local line to continue from) when `limit` was reached.
   */
  private async *walkSegment(
    i: number,
    localStart: number,
    limit: number,
    filter: RecordFilter,
    base: number,
    signal: AbortSignal | undefined,
    /** Stop before a last line without its newline, leaving it unread and uncounted (following the live file). */
    whole = false,
  ): AsyncGenerator<Batch, {lines: number; stoppedAt: number | null; partial?: boolean}> {
    const seg = this.segments[i]
    const idx = this.indexes[i]
    const ranged = seg.start !== undefined
    const from = seg.gzip ? {line: 0, byte: 0} : ranged ? {line: 0, byte: seg.start!} : idx.locate(localStart)
    let line = from.line
    let matched = 0
    const pre = new Prefilter(filter.needles)
    // localStart = Infinity means: only count the lines (and index them).
    const parseWanted = localStart !== Number.POSITIVE_INFINITY

    const countingFar = localStart - from.line > 10 * EVERY
    for await (const chunk of segmentChunks(seg, from.byte, signal, countingFar ? COUNT_CHUNK_BYTES : PARSE_CHUNK_BYTES)) {
      const batch: Batch = {records: [], nextLine: 0, scanned: 0}
      if (chunk.type === 'damaged') {
        if (line >= localStart && parseWanted) {
          const rec = unreadable(String(base + line), Buffer.alloc(0), `${seg.path}: ${chunk.error}`)
          rec.payload = null
          rec.payloadSize = null
          batch.scanned++
          if (filter.matches(rec)) {
            batch.records.push(rec)
            matched++
          }
        }
        line++
      } else if (chunk.type === 'oversized') {
        if (whole && !chunk.terminated && !seg.gzip) return {lines: line, stoppedAt: null, partial: true}
        if (line >= localStart && parseWanted) {
          const rec = unreadable(String(base + line), chunk.head, `line of ${chunk.length} bytes is longer than the 64 MiB limit`, chunk.length)
          batch.scanned++
          if (filter.matches(rec)) {
            batch.records.push(rec)
            matched++
          }
        }
        line++
        if (chunk.terminated && !seg.gzip && !ranged) idx.observe(line, chunk.byteOffset + chunk.length + 1)
      } else {
        const b = chunk.buf
        const n = b.length
        let s = chunk.byteOffset === 0 && n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0
        const indexing = !seg.gzip && !ranged
        // Counting only: no parsing until the first wanted line.
        while (line < localStart && s < n) {
          let e = b.indexOf(10, s)
          if (e < 0) e = n
          line++
          s = e + 1
          if (indexing && e < n) idx.observe(line, chunk.byteOffset + s)
        }
        while (s < n) {
          let e = b.indexOf(10, s)
          const terminated = e >= 0
          if (!terminated && whole && !seg.gzip) {
            if (batch.records.length > 0 || batch.scanned > 0) {
              batch.nextLine = base + line
              yield batch
            }
            return {lines: line, stoppedAt: null, partial: true}
          }
          if (!terminated) e = n
          if (parseWanted) {
            let end = e
            if (end > s && b[end - 1] === 13) end--
            batch.scanned++
            if (pre.candidate(b, s, end)) {
              const rec = parseLine(b.subarray(s, end), String(base + line), !terminated)
              if (rec !== null && filter.matches(rec)) {
                batch.records.push(rec)
                matched++
              }
            }
          }
          line++
          s = e + 1
          if (indexing && terminated) idx.observe(line, chunk.byteOffset + s)
          if (matched >= limit) break
        }
      }
      if (batch.records.length > 0 || batch.scanned > 0) {
        batch.nextLine = base + line
        yield batch
      }
      if (matched >= limit) return {lines: line, stoppedAt: line}
    }
    if (seg.gzip && !signal?.aborted) idx.setGzipLines(line)
    return {lines: line, stoppedAt: null}
  }
}
