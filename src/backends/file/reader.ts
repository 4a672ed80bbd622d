import {stat} from 'node:fs/promises'
import {UsageError} from '../../core/errors.js'
import {MATCH_ALL, type RecordFilter} from '../../core/filter.js'
import type {DecodedRecord} from '../../core/record.js'
import type {DlqReader, LogBounds, Page, PageBefore, PageBeforeRequest, PageRequest, ScanRequest, SourceInfo} from '../../core/reader.js'
import {filePageBefore} from './backward.js'
import {COUNT_CHUNK_BYTES, PARSE_CHUNK_BYTES, segmentChunks} from './chunks.js'
import type {Segment} from './layout.js'
import {EVERY, LineIndex} from './line-index.js'
import {parseLine, unreadable} from './parse-line.js'
import {Prefilter} from './prefilter.js'
import {parallelStats} from './parallel-stats.js'
import type {StatsState} from '../../core/stats.js'

interface Batch {
  records: DecodedRecord[]
  /** Global line number to continue from after this batch. */
  nextLine: number
  scanned: number
}

interface WalkResult {
  nextLine: number
  atEnd: boolean
}

const POSITION_RE = /^\d+$/

/**
 * NDJSON file DLQs: one file (plain or gzip) or a rotated directory read as one log.
 * Position = 0-based line number in the whole log; blank lines keep their number but are
 * not shown. Rotation renames files (same inode), so the numbers and the index survive it.
 */
export class FileReader implements DlqReader {
  private readonly indexes: LineIndex[]
  /** Total lines per segment (including a final unterminated line), once counted. */
  private readonly counts: Array<number | null>
  /** Size of the live (last) segment when it was counted: a writer appending to it makes the count stale. */
  private liveSize = -1

  constructor(
    readonly info: SourceInfo,
    private readonly segments: Segment[],
    /** Entries of a directory left out (not regular files), for the command to show. */
    readonly warnings: readonly string[] = [],
  ) {
    this.indexes = segments.map((s) => LineIndex.load(s.path, s.gzip))
    this.counts = segments.map(() => null)
  }

  parsePosition(text: string): string {
    const t = text.trim()
    if (!POSITION_RE.test(t)) throw new UsageError(`position "${text}": a file DLQ position is a record number (0, 1, 2, …)`)
    return String(Number(t))
  }

  async bounds(): Promise<LogBounds> {
    const live = this.segments.length - 1
    if (live >= 0 && !this.segments[live].gzip) {
      const size = await stat(this.segments[live].path).then((st) => st.size, () => -1)
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
    const start = req.from ? Number(this.parsePosition(req.from)) : 0
    for await (const batch of this.walk(start, req.filter, Number.POSITIVE_INFINITY, req.signal)) yield* batch.records
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

  async close(): Promise<void> {
    for (const idx of this.indexes) idx.save()
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
  private async *walk(start: number, filter: RecordFilter, limit: number, signal: AbortSignal | undefined): AsyncGenerator<Batch, WalkResult> {
    let base = 0
    let wanted = limit
    for (let i = 0; i < this.segments.length; i++) {
      const last = i === this.segments.length - 1
      if (!last) {
        const lines = await this.segmentLines(i)
        if (start >= base + lines) {
          base += lines
          continue
        }
      }
      const local = Math.max(0, start - base)
      const seg = this.walkSegment(i, local, wanted, filter, base, signal)
      let step = await seg.next()
      for (; !step.done; step = await seg.next()) {
        wanted -= step.value.records.length
        yield step.value
      }
      const r = step.value
      if (r.stoppedAt !== null) return {nextLine: base + r.stoppedAt, atEnd: false}
      if (signal?.aborted) return {nextLine: base + r.lines, atEnd: false}
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
  ): AsyncGenerator<Batch, {lines: number; stoppedAt: number | null}> {
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
