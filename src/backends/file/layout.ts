import {readdir, stat} from 'node:fs/promises'
import {basename, join} from 'node:path'
import {UnavailableError, UsageError} from '../../core/errors.js'

/** One file of a file DLQ. A rotated directory is several, read in order as one log. */
export interface Segment {
  path: string
  gzip: boolean
  /**
   * A byte range of a plain file, both ends just after a newline (or the file's ends), read
   * by one thread of a parallel scan; line numbers are then relative to `start`.
   */
  start?: number
  end?: number
}

const LIVE = 'dlq.ndjson'
/** hyperi-rustlib rotation: `dlq.ndjson.<YYYYMMDDTHHMMSS>[.N][.gz]` (N on a name collision). */
const ROTATED_RE = /^dlq\.ndjson\.(\d{8}T\d{6})(?:\.(\d+))?(\.gz)?$/

export function isGzipName(path: string): boolean {
  return path.endsWith('.gz')
}

/**
 * The segments of a directory, oldest first: rotated files by timestamp suffix (then by the
 * collision counter), then the live `dlq.ndjson`. A rotated file and its gzipped copy name
 * the same records; only one of them is read (the plain one, which is seekable).
 */
export async function listDirectorySegments(dir: string): Promise<Segment[]> {
  const names = await readdir(dir)
  const rotated = new Map<string, {ts: string; n: number; name: string; gzip: boolean}>()
  for (const name of names) {
    const m = name.match(ROTATED_RE)
    if (!m) continue
    const logical = name.replace(/\.gz$/, '')
    const gzip = Boolean(m[3])
    const prev = rotated.get(logical)
    if (!prev || (prev.gzip && !gzip)) rotated.set(logical, {ts: m[1], n: m[2] ? Number(m[2]) : 0, name, gzip})
  }
  const ordered = [...rotated.values()].sort((a, b) => (a.ts === b.ts ? a.n - b.n : a.ts < b.ts ? -1 : 1))
  const segments: Segment[] = ordered.map((r) => ({path: join(dir, r.name), gzip: r.gzip}))
  if (names.includes(LIVE)) segments.push({path: join(dir, LIVE), gzip: false})

  if (segments.length === 0) {
    const services: string[] = []
    for (const name of names) {
      const p = join(dir, name)
      try {
        if ((await stat(p)).isDirectory() && (await readdir(p)).some((n) => n === LIVE || ROTATED_RE.test(n))) services.push(name)
      } catch {
        // unreadable entries are simply not offered
      }
    }
    if (services.length > 0) {
      throw new UsageError(`${dir} holds the DLQs of ${services.length} services; name one: ${services.map((s) => join(dir, s)).join(', ')}`)
    }
    throw new UnavailableError(`${dir}: no DLQ files here (expected ${LIVE} or ${LIVE}.<YYYYMMDDTHHMMSS>[.gz], the hyperi-rustlib layout)`)
  }
  return segments
}

/** Resolves a file source (path, `file:path`) into its segments. */
export async function resolveFileSource(path: string): Promise<{kind: 'file' | 'directory'; segments: Segment[]}> {
  let st
  try {
    st = await stat(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UnavailableError(`${path}: no such file or directory`)
    if (code === 'EACCES') throw new UnavailableError(`${path}: permission denied`)
    throw new UnavailableError(`${path}: ${(error as Error).message}`)
  }
  if (st.isDirectory()) return {kind: 'directory', segments: await listDirectorySegments(path)}
  if (!st.isFile()) throw new UsageError(`${path}: not a regular file or directory`)
  return {kind: 'file', segments: [{path, gzip: isGzipName(basename(path))}]}
}
