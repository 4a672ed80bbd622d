import {createHash} from 'node:crypto'
import {fstatSync, mkdirSync, openSync, readSync, closeSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

/**
 * A sparse index of line starts for one segment, kept outside the DLQ (in the user's cache
 * directory) so that a page deep in a large file is found without rescanning it.
 *
 * Plain files: the byte offset of every EVERY-th line, up to `size` (always just after a
 * newline). Keyed by device and inode, so a rotation (a rename) keeps the index. It stays
 * valid while the file is only appended to: the first and last indexed 4 KiB must still hash
 * the same; otherwise it is dropped and rebuilt. Gzip files: only their line count.
 */
export const EVERY = 1024
const SAMPLE = 4096
const VERSION = 1

interface Stored {
  v: number
  size: number
  head: string
  tail: string
  every: number
  lines: number
  offsets: number[]
  /** gzip only: total lines including a final unterminated one, keyed to the file's size and mtime. */
  gzip?: {size: number; mtimeMs: number; lines: number}
}

export function cacheDir(): string {
  if (process.env.DLQ_CACHE_DIR) return process.env.DLQ_CACHE_DIR
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'dlq')
}

function sampleHash(fd: number, start: number, length: number): string {
  const buf = Buffer.alloc(Math.max(0, length))
  const n = length > 0 ? readSync(fd, buf, 0, length, start) : 0
  return createHash('sha1').update(buf.subarray(0, n)).digest('hex')
}

export class LineIndex {
  /** offsets[i] = byte offset of line i*EVERY; valid for lines below `lines`. */
  offsets: number[] = [0]
  /** Complete lines known, all ending before byte `size`. */
  lines = 0
  size = 0
  gzipLines: number | null = null
  private dirty = false
  private readonly file: string

  private constructor(
    readonly path: string,
    /** The segment's open descriptor: the file may have been renamed or removed since it was listed. */
    private readonly fd: number | undefined,
    private readonly gzip: boolean,
    private readonly st: {dev: number; ino: number; size: number; mtimeMs: number},
  ) {
    this.file = join(cacheDir(), 'index', `${st.dev}-${st.ino}.json`)
  }

  static load(path: string, gzip: boolean, fd?: number): LineIndex {
    const st = fd === undefined ? statSync(path) : fstatSync(fd)
    const idx = new LineIndex(path, fd, gzip, st)
    try {
      const stored = JSON.parse(readFileSync(idx.file, 'utf8')) as Stored
      if (stored.v === VERSION) idx.adopt(stored)
    } catch {
      // no index yet, or an unreadable one: start empty
    }
    return idx
  }

  private adopt(s: Stored): void {
    if (this.gzip) {
      if (s.gzip && s.gzip.size === this.st.size && s.gzip.mtimeMs === this.st.mtimeMs) this.gzipLines = s.gzip.lines
      return
    }
    if (s.every !== EVERY || s.size > this.st.size) return
    const fd = this.fd ?? openSync(this.path, 'r')
    try {
      const headLen = Math.min(SAMPLE, s.size)
      const tailStart = Math.max(0, s.size - SAMPLE)
      if (sampleHash(fd, 0, headLen) !== s.head || sampleHash(fd, tailStart, s.size - tailStart) !== s.tail) return
    } finally {
      if (fd !== this.fd) closeSync(fd)
    }
    this.offsets = s.offsets
    this.lines = s.lines
    this.size = s.size
  }

  /** The checkpoint at or before `line`: where a forward scan to it starts. */
  locate(line: number): {line: number; byte: number} {
    const known = Math.min(line, this.lines)
    const i = Math.min(Math.floor(known / EVERY), this.offsets.length - 1)
    return {line: i * EVERY, byte: this.offsets[i]}
  }

  /**
   * Called by a sequential pass for each line start it crosses. `line` and `byte` describe the
   * start of the line that follows a newline ending at `byte - 1`.
   */
  observe(line: number, byte: number): void {
    if (line !== this.lines + 1) return
    this.lines = line
    this.size = byte
    if (line % EVERY === 0 && line / EVERY === this.offsets.length) this.offsets.push(byte)
    this.dirty = true
  }

  /** The file was truncated in place: what was indexed describes bytes that are gone (saved over the stored index too). */
  reset(): void {
    this.offsets = [0]
    this.lines = 0
    this.size = 0
    this.dirty = true
  }

  setGzipLines(lines: number): void {
    this.gzipLines = lines
    this.dirty = true
  }

  save(): void {
    if (!this.dirty || process.env.DLQ_NO_INDEX === '1') return
    this.dirty = false
    try {
      const stored: Stored = {v: VERSION, size: 0, head: '', tail: '', every: EVERY, lines: 0, offsets: [0]}
      if (this.gzip) {
        if (this.gzipLines === null) return
        stored.gzip = {size: this.st.size, mtimeMs: this.st.mtimeMs, lines: this.gzipLines}
      } else {
        const fd = this.fd ?? openSync(this.path, 'r')
        try {
          stored.head = sampleHash(fd, 0, Math.min(SAMPLE, this.size))
          const tailStart = Math.max(0, this.size - SAMPLE)
          stored.tail = sampleHash(fd, tailStart, this.size - tailStart)
        } finally {
          if (fd !== this.fd) closeSync(fd)
        }
        Object.assign(stored, {size: this.size, lines: this.lines, offsets: this.offsets})
      }
      const dir = join(cacheDir(), 'index')
      mkdirSync(dir, {recursive: true})
      const tmp = `${this.file}.${process.pid}.tmp`
      writeFileSync(tmp, JSON.stringify(stored))
      renameSync(tmp, this.file)
      pruneIndexes(dir)
    } catch {
      // The index only saves time; a read-only cache directory must not fail the command.
    }
  }
}

/**
 * The index directory holds one file per DLQ file ever read (rotated files come and go), so
 * it is kept to MAX_INDEXES: past that, the least recently written are removed down to
 * PRUNED_TO (an index removed is only rebuilt, by reading its file once more). Temporary
 * files a killed process left behind go once they are an hour old.
 */
export const MAX_INDEXES = 2000
export const PRUNED_TO = 1500
const STALE_TMP_MS = 3_600_000

export function pruneIndexes(dir: string, now = Date.now()): void {
  const names = readdirSync(dir)
  const tmps = names.filter((n) => n.endsWith('.tmp'))
  if (names.length - tmps.length <= MAX_INDEXES && tmps.length === 0) return
  const age = (n: string): number | null => {
    try {
      return statSync(join(dir, n)).mtimeMs
    } catch {
      return null
    }
  }
  const remove = (n: string) => {
    try {
      unlinkSync(join(dir, n))
    } catch {
      // Gone already (another dlq pruning at the same time), or not ours to remove: left.
    }
  }
  for (const n of tmps) {
    const t = age(n)
    if (t !== null && now - t > STALE_TMP_MS) remove(n)
  }
  const indexes = names.filter((n) => n.endsWith('.json'))
  if (indexes.length <= MAX_INDEXES) return
  const dated = indexes.map((n) => ({n, t: age(n) ?? 0})).sort((a, b) => a.t - b.t)
  for (const {n} of dated.slice(0, dated.length - PRUNED_TO)) remove(n)
}
