import type {Stats} from 'node:fs'
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
export async function listDirectorySegments(dir: string, warnings: string[] = []): Promise<Segment[]> {
  const all = await readdir(dir)
  const names: string[] = []
  // A FIFO or a device (often a symlink to /dev/zero) named like a DLQ file would hang a read
  // or never end; a directory would fail it. Such an entry is left out and named in a warning.
  for (const name of all) {
    if (name !== LIVE && !ROTATED_RE.test(name)) continue
    const why = await notRegularFile(join(dir, name))
    if (why === null) names.push(name)
    else warnings.push(`${join(dir, name)}: ${why}; skipped`)
  }
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
    for (const name of all) {
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
    if (warnings.length > 0) throw new UnavailableError(`${dir}: no readable DLQ files here (${warnings.join('; ')})`)
    throw new UnavailableError(`${dir}: no DLQ files here (expected ${LIVE} or ${LIVE}.<YYYYMMDDTHHMMSS>[.gz], the hyperi-rustlib layout)`)
  }
  return segments
}

/** Why `path` (symlinks followed) cannot be read as a DLQ file, or null when it is a regular file. */
export async function notRegularFile(path: string): Promise<string | null> {
  let st
  try {
    st = await stat(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return 'a symlink to nothing'
    if (code === 'EACCES') return 'permission denied'
    return (error as Error).message
  }
  return kindOf(st)
}

function kindOf(st: Stats): string | null {
  if (st.isFile()) return null
  if (st.isDirectory()) return 'a directory, not a file'
  if (st.isFIFO()) return 'a named pipe (FIFO), not a regular file'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device, not a regular file'
  if (st.isSocket()) return 'a socket, not a regular file'
  return 'not a regular file'
}

/** Resolves a file source (path, `file:path`) into its segments, and the entries it left out. */
export async function resolveFileSource(path: string): Promise<{kind: 'file' | 'directory'; segments: Segment[]; warnings: string[]}> {
  let st
  try {
    st = await stat(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UnavailableError(`${path}: no such file or directory`)
    if (code === 'EACCES') throw new UnavailableError(`${path}: permission denied`)
    throw new UnavailableError(`${path}: ${(error as Error).message}`)
  }
  const warnings: string[] = []
  if (st.isDirectory()) return {kind: 'directory', segments: await listDirectorySegments(path, warnings), warnings}
  if (!st.isFile()) throw new UsageError(`${path}: ${kindOf(st)}; give a DLQ file or directory`)
  return {kind: 'file', segments: [{path, gzip: isGzipName(basename(path))}], warnings}
}
