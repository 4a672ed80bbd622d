import {join} from 'node:path'
import {UnavailableError, UsageError} from '../../core/errors.js'
import type {DlqReader, FollowRequest, LastOfEachRequest, LogBounds, Page, PageBefore, PageBeforeRequest, PageRequest, ScanRequest, SourceInfo} from '../../core/reader.js'
import type {DecodedRecord} from '../../core/record.js'
import {listDirectorySegments, serviceDirs} from './layout.js'
import {FileReader, FOLLOW_POLL_MS, type FollowCursor} from './reader.js'
import {DirWatch} from './watch.js'
import {MATCH_ALL, type RecordFilter} from '../../core/filter.js'
import {NewestMerge, timeOf} from '../../core/tail.js'

const QUALIFIED_RE = /^(.+):(\d+)$/
/** How often a follow lists the root for services that started writing a DLQ since. */
const NEW_SERVICE_MS = 2000
/** Every record with a time of its own (see timeBefore). */
const TIMED: RecordFilter = {...MATCH_ALL, isEmpty: false, matches: (r) => timeOf(r) !== null}

/**
 * The crate's `<path>`: one rotated directory per service (`<path>/<service>/dlq.ndjson`),
 * read as the services' logs one after another, in service-name order.
 *
 * A position is `SERVICE:N`, N the record number within that service's log (what the
 * service's own directory calls N). Numbers that ran on from one service into the next would
 * shift whenever an earlier service's DLQ grew; qualified ones stay what they were as long as
 * the service directory's do, and say which service a record came from.
 */
export class ServicesReader implements DlqReader {
  private constructor(
    readonly info: SourceInfo,
    private readonly names: string[],
    private readonly readers: FileReader[],
    private readonly rootWarnings: string[],
  ) {}

  /** The root's and every service's, including what a read met since (a rotation it could not follow). */
  get warnings(): readonly string[] {
    return [...this.rootWarnings, ...this.readers.flatMap((r) => r.warnings)]
  }

  static async open(root: string, services: string[], rootWarnings: string[]): Promise<ServicesReader> {
    const readers: FileReader[] = []
    const names: string[] = []
    try {
      for (const name of services) {
        const dir = join(root, name)
        const warnings: string[] = []
        let segments
        try {
          segments = await listDirectorySegments(dir, warnings)
        } catch (error) {
          // One service without a readable file does not hide the others: it is named instead.
          if (!(error instanceof UnavailableError)) throw error
          rootWarnings.push(`${error.message}; service ${name} skipped`)
          continue
        }
        readers.push(new FileReader({kind: 'directory', display: dir}, segments, warnings, dir))
        names.push(name)
      }
    } catch (error) {
      for (const r of readers) await r.close()
      throw error
    }
    if (readers.length === 0) throw new UnavailableError(`${root}: no service directory here holds a readable DLQ file (${rootWarnings.join('; ')})`)
    return new ServicesReader({kind: 'services', display: root}, names, readers, rootWarnings)
  }

  parsePosition(text: string): string {
    const m = text.trim().match(QUALIFIED_RE)
    if (!m) throw new UsageError(`position "${text}": ${this.info.display} holds several services; a position is SERVICE:N (${this.names.map((n) => `${n}:0`).join(', ')})`)
    return `${m[1]}:${Number(m[2])}`
  }

  /** The service index and local record number of a position; an unknown service is a usage error. */
  private locate(pos: string): {k: number; n: string} {
    const m = this.parsePosition(pos).match(QUALIFIED_RE)!
    const k = this.names.indexOf(m[1])
    if (k < 0) throw new UsageError(`position "${pos}": no service "${m[1]}" in ${this.info.display} (services: ${this.names.join(', ')})`)
    return {k, n: m[2]}
  }

  private qualify(k: number, recs: DecodedRecord[]): DecodedRecord[] {
    for (const r of recs) r.position = `${this.names[k]}:${r.position}`
    return recs
  }

  async bounds(): Promise<LogBounds> {
    let first: string | null = null
    let last: string | null = null
    let count = 0
    for (let k = 0; k < this.readers.length; k++) {
      const b = await this.readers[k].bounds()
      if (b.first !== null && first === null) first = `${this.names[k]}:${b.first}`
      if (b.last !== null) last = `${this.names[k]}:${b.last}`
      count += b.count ?? 0
    }
    return {first, last, count}
  }

  async page(req: PageRequest): Promise<Page> {
    const start = req.from ? this.locate(req.from) : {k: 0, n: null}
    const records: DecodedRecord[] = []
    let scanned = 0
    let next: string | null = null
    for (let k = start.k; k < this.readers.length; k++) {
      const page = await this.readers[k].page({...req, from: k === start.k ? start.n : null, limit: req.limit - records.length})
      records.push(...this.qualify(k, page.records))
      scanned += page.scanned
      next = `${this.names[k]}:${page.next}`
      if (!page.atEnd || req.signal?.aborted) return {records, next, atEnd: false, scanned}
      // Full at the end of a service: continue there, so what it gets meanwhile is not skipped.
      if (records.length >= req.limit && k + 1 < this.readers.length) return {records, next, atEnd: false, scanned}
    }
    return {records, next, atEnd: true, scanned}
  }

  async *scan(req: ScanRequest): AsyncIterable<DecodedRecord> {
    const start = req.from ? this.locate(req.from) : {k: 0, n: null}
    for (let k = start.k; k < this.readers.length; k++) {
      if (req.signal?.aborted) return
      for await (const r of this.readers[k].scan({...req, from: k === start.k ? start.n : null})) {
        r.position = `${this.names[k]}:${r.position}`
        yield r
      }
    }
  }

  async get(positions: string[]): Promise<Map<string, DecodedRecord>> {
    const found = new Map<string, DecodedRecord>()
    for (const p of positions) {
      const m = this.parsePosition(p).match(QUALIFIED_RE)!
      const k = this.names.indexOf(m[1])
      // A service that is not here (any more) has none of its positions: absent, never mapped elsewhere.
      if (k < 0) continue
      const rec = (await this.readers[k].get([m[2]])).get(m[2])
      if (rec) found.set(`${m[1]}:${m[2]}`, this.qualify(k, [rec])[0])
    }
    return found
  }

  /** Backward across services: the end of the service before, then its records, and so on. */
  async pageBefore(req: PageBeforeRequest): Promise<PageBefore> {
    let k = this.readers.length - 1
    let before: string | null = null
    if (req.before !== null) ({k, n: before} = this.locate(req.before))
    const records: DecodedRecord[] = []
    let scanned = 0
    let from: string | null = req.before
    for (; k >= 0; k--) {
      const step = await this.readers[k].pageBefore({...req, before, limit: req.limit - records.length})
      records.unshift(...this.qualify(k, step.records))
      scanned += step.scanned
      if (step.records.length > 0 || step.from !== null) from = step.from === null ? `${this.names[k]}:0` : `${this.names[k]}:${step.from}`
      if (req.signal?.aborted) return {records: [], from: req.before, atStart: false, scanned}
      if (records.length >= req.limit) return {records, from, atStart: k === 0 && step.atStart, scanned}
      before = null
    }
    return {records, from: null, atStart: true, scanned}
  }

  /** `tail -n`: the newest `limit` across the services (see DlqReader). */
  lastOfEach(req: LastOfEachRequest): Promise<DecodedRecord[]> {
    return this.newestBefore(null, req.limit, req.filter, req.signal)
  }

  /** The newest `limit` matching records before each service's `ends` (null: its end now), merged by time. */
  private async newestBefore(ends: number[] | null, limit: number, filter: RecordFilter, signal?: AbortSignal): Promise<DecodedRecord[]> {
    const merge = new NewestMerge(limit)
    if (limit === 0) return []
    for (let k = 0; k < this.readers.length && !signal?.aborted; k++) {
      if (ends !== null && ends[k] === 0) continue
      const step = await this.readers[k].pageBefore({before: ends === null ? null : String(ends[k]), limit, filter, signal})
      const before = await this.timeBefore(k, step.records, signal)
      merge.add(this.qualify(k, step.records), before)
    }
    return merge.records()
  }

  /**
   * When `recs` (read backward from service k's end) begin with records of no time (corrupt
   * lines), the time of the last timed record before them in that log, whether or not it
   * matches the filter: they were written after it. Read backward until one is found (the
   * steps widen) or the log starts (null). Without it, a service whose last N lines are all
   * corrupt would count as older than every other service, however recent it is.
   */
  private async timeBefore(k: number, recs: DecodedRecord[], signal?: AbortSignal): Promise<number | null> {
    if (recs.length === 0 || timeOf(recs[0]) !== null || recs[0].position === '0') return null
    const prior = await this.readers[k].pageBefore({before: recs[0].position, limit: 1, filter: TIMED, signal})
    return prior.records.length > 0 ? timeOf(prior.records[0]) : null
  }

  /**
   * `tail -f` across services: each service's directory is followed as `dlq tail DIR -f`
   * follows it, one step each in turn; a service directory that appears meanwhile is read
   * from its first record. The backlog is the newest records across the services before
   * each one's end as it was when following began; each is then followed from that end.
   */
  async *follow(req: FollowRequest): AsyncIterable<DecodedRecord> {
    const cursors: FollowCursor[] = []
    for (const r of this.readers) cursors.push(await r.followStart())
    req.onLive?.()
    if (req.backlog > 0) yield* await this.newestBefore(cursors.map((c) => c.next), req.backlog, req.filter, req.signal)
    yield* this.followFrom(cursors, req)
  }

  /** Follows every service from its first record on: a services root that appeared while followed (empty.ts). */
  followFromStart(req: FollowRequest): AsyncIterable<DecodedRecord> {
    return this.followFrom(this.readers.map(() => ({next: 0, seen: ''})), req)
  }

  private async *followFrom(cursors: FollowCursor[], req: FollowRequest): AsyncIterable<DecodedRecord> {
    const changes = new DirWatch()
    changes.add(this.info.display)
    for (const r of this.readers) changes.add(r.info.display)
    try {
      yield* this.followAll(cursors, changes, req)
    } finally {
      changes.close()
    }
  }

  private async *followAll(cursors: FollowCursor[], changes: DirWatch, req: FollowRequest): AsyncIterable<DecodedRecord> {
    let listed = Date.now()
    while (!req.signal.aborted) {
      let busy = false
      for (let k = 0; k < this.readers.length && !req.signal.aborted; k++) {
        const step = this.readers[k].followStep(cursors[k], req.filter, req.signal)
        let r = await step.next()
        for (; !r.done; r = await step.next()) yield this.qualify(k, [r.value])[0]
        busy ||= r.value
      }
      if (Date.now() - listed >= NEW_SERVICE_MS) {
        listed = Date.now()
        for (const name of await serviceDirs(this.info.display)) {
          if (this.names.includes(name)) continue
          const dir = join(this.info.display, name)
          const warnings: string[] = []
          try {
            this.readers.push(new FileReader({kind: 'directory', display: dir}, await listDirectorySegments(dir, warnings), warnings, dir))
          } catch (error) {
            if (!(error instanceof UnavailableError)) throw error
            continue // no readable file yet: listed again next time
          }
          this.names.push(name)
          cursors.push({next: 0, seen: ''})
          changes.add(dir)
          busy = true
        }
      }
      if (!busy) await changes.wait(FOLLOW_POLL_MS, req.signal)
    }
  }

  async close(): Promise<void> {
    for (const r of this.readers) await r.close()
  }
}
