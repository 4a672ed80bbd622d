import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {UnavailableError, UsageError} from '../../core/errors.js'
import type {DlqReader, FollowRequest, LastOfEachRequest, LogBounds, Page, PageBefore, PageBeforeRequest, PageRequest, ScanRequest, SourceInfo} from '../../core/reader.js'
import type {DecodedRecord} from '../../core/record.js'
import {FileReader, FOLLOW_POLL_MS} from './reader.js'
import {ServicesReader} from './services.js'
import {DirWatch} from './watch.js'

const POSITION_RE = /^(?:(.+):)?(\d+)$/

/**
 * A DLQ directory with no DLQ file yet (layout.ts emptySpool): a services root whose services
 * have not failed anything, or a service directory before its first file. It reads as an empty
 * DLQ (`check` is OK, `stats` counts 0), not as a source that is missing: a CI gate on a fresh
 * spool must pass. Each read looks again, and once a DLQ file is there it reads that DLQ, as a
 * rotated directory or a services root, whichever it turned out to be; a follow waits for it
 * and then follows it from its first record (everything in it is new).
 */
export class EmptySpoolReader implements DlqReader {
  private found: DlqReader | null = null
  private readonly list: string[]

  constructor(
    readonly info: SourceInfo,
    warnings: readonly string[],
    /** Opens the DLQ the directory holds now, or null while it holds none. */
    private readonly open: () => Promise<DlqReader | null>,
  ) {
    this.list = [...warnings]
  }

  get warnings(): readonly string[] {
    return this.found === null ? this.list : [...this.list, ...(this.found.warnings ?? [])]
  }

  /** The DLQ once there is one; a directory that became unreadable (or not a DLQ) meanwhile still holds none. */
  private async now(): Promise<DlqReader | null> {
    if (this.found !== null) return this.found
    try {
      this.found = await this.open()
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error
    }
    return this.found
  }

  parsePosition(text: string): string {
    if (this.found !== null) return this.found.parsePosition(text)
    // Either form: whichever this DLQ turns out to be, no position is in it yet.
    const m = text.trim().match(POSITION_RE)
    if (!m) throw new UsageError(`position "${text}": a file DLQ position is a record number (0, 1, 2, …), or SERVICE:N in a services root`)
    return m[1] === undefined ? String(Number(m[2])) : `${m[1]}:${Number(m[2])}`
  }

  async bounds(): Promise<LogBounds> {
    return (await this.now())?.bounds() ?? {first: null, last: null, count: 0}
  }

  async page(req: PageRequest): Promise<Page> {
    const found = await this.now()
    if (found !== null) return found.page(req)
    return {records: [], next: req.from ? this.parsePosition(req.from) : this.info.kind === 'services' ? null : '0', atEnd: true, scanned: 0}
  }

  async *scan(req: ScanRequest): AsyncIterable<DecodedRecord> {
    const found = await this.now()
    if (found !== null) yield* found.scan(req)
  }

  async get(positions: string[]): Promise<Map<string, DecodedRecord>> {
    return (await this.now())?.get(positions) ?? new Map()
  }

  async pageBefore(req: PageBeforeRequest): Promise<PageBefore> {
    const found = await this.now()
    if (found?.pageBefore) return found.pageBefore(req)
    return {records: [], from: null, atStart: true, scanned: 0}
  }

  async lastOfEach(req: LastOfEachRequest): Promise<DecodedRecord[]> {
    const found = await this.now()
    if (found?.lastOfEach) return found.lastOfEach(req)
    return (await this.pageBefore(req)).records
  }

  async *follow(req: FollowRequest): AsyncIterable<DecodedRecord> {
    const found = await this.now()
    if (found?.follow) {
      yield* found.follow(req)
      return
    }
    req.onLive?.()
    // No backlog: there is nothing before now. What appears next is read from its first record.
    const changes = new DirWatch()
    changes.add(this.info.display)
    // A file created in a service directory changes that directory, not the root.
    for (const e of safeList(this.info.display)) changes.add(join(this.info.display, e))
    try {
      while (!req.signal.aborted) {
        const got = await this.now()
        if (got instanceof ServicesReader) {
          yield* got.followFromStart(req)
          return
        }
        if (got instanceof FileReader) {
          yield* got.followFrom({next: 0, seen: ''}, req)
          return
        }
        await changes.wait(FOLLOW_POLL_MS, req.signal)
      }
    } finally {
      changes.close()
    }
  }

  async close(): Promise<void> {
    await this.found?.close()
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir, {withFileTypes: true})
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
  } catch {
    return []
  }
}
