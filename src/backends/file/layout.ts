import {closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, statSync, type Stats} from 'node:fs'
import {readdir, stat} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {UnavailableError, UsageError} from '../../core/errors.js'

/** One file of a file DLQ. A rotated directory is several, read in order as one log. */
export interface Segment {
  path: string
  gzip: boolean
  /**
   * An open descriptor of the file, taken when the directory was listed: a writer that
   * renames, gzips (the plain file removed) or deletes it meanwhile cannot take it from
   * under a read. Absent for a byte-range segment of a parallel scan (opened by path).
   */
  fd?: number
  /** Device and inode of `fd`: a rotation renames the live file, so the inode follows it. */
  dev?: number
  ino?: number
  /**
   * A byte range of a plain file, both ends just after a newline (or the file's ends), read
   * by one thread of a parallel scan; line numbers are then relative to `start`.
   */
  start?: number
  end?: number
}

export const LIVE = 'dlq.ndjson'
/** dlq's replay ledger of a hyperi-rustlib directory (see ledger.ts defaultFileLedgerPath); its lock file adds `.lock`. */
export const LEDGER_NAME = 'dlq-replay-ledger.ndjson'
/** hyperi-rustlib rotation: `dlq.ndjson.<YYYYMMDDTHHMMSS>[.N][.gz]` (N on a name collision). */
const ROTATED_RE = /^dlq\.ndjson\.(\d{8}T\d{6})(?:\.(\d+))?(\.gz)?$/
/** What a rotated name starts with: anything else after it is reported (file-rotate accepts looser names than the crate writes). */
const LOOKS_ROTATED = `${LIVE}.`

export function isGzipName(path: string): boolean {
  return path.endsWith('.gz')
}

/** Sort key of a rotated name (timestamp, collision counter), or null for the live file or a foreign name. */
/** A name of the hyperi-rustlib layout's own files: the live file or a rotated one. */
export const isLayoutName = (name: string): boolean => name === LIVE || rotatedKey(name) !== null

export function rotatedKey(name: string): {ts: string; n: number; logical: string; gzip: boolean} | null {
  const m = name.match(ROTATED_RE)
  if (!m) return null
  return {ts: m[1], n: m[2] ? Number(m[2]) : 0, logical: name.replace(/\.gz$/, ''), gzip: Boolean(m[3])}
}

export function compareRotated(a: {ts: string; n: number}, b: {ts: string; n: number}): number {
  return a.ts === b.ts ? a.n - b.n : a.ts < b.ts ? -1 : 1
}

/**
 * The DLQ files of a directory, oldest first, by name: rotated files by timestamp suffix (then
 * the collision counter), then the live `dlq.ndjson`. A rotated file and its gzipped copy
 * name the same records; only one is listed (the plain one: it is seekable, and while the
 * writer compresses it the `.gz` is still incomplete). Names that look rotated but are not
 * the crate's are named in `warnings`.
 */
export function orderedNames(names: string[], dir: string, warnings: string[] | null): string[] {
  const rotated = new Map<string, {ts: string; n: number; name: string; gzip: boolean}>()
  let live = false
  for (const name of names) {
    if (name === LIVE) {
      live = true
      continue
    }
    const k = rotatedKey(name)
    if (k === null) {
      if (warnings !== null && name.startsWith(LOOKS_ROTATED)) {
        warnings.push(`${join(dir, name)}: looks like a rotated DLQ file but is not named as hyperi-rustlib names them (${LIVE}.<YYYYMMDDTHHMMSS>[.N][.gz]); not read`)
      }
      continue
    }
    const prev = rotated.get(k.logical)
    if (!prev || (prev.gzip && !k.gzip)) rotated.set(k.logical, {...k, name})
  }
  const out = [...rotated.values()].sort(compareRotated).map((r) => r.name)
  if (live) out.push(LIVE)
  return out
}

/** Opens without blocking on a FIFO; null when the name is gone (the writer renamed, gzipped or deleted it). */
function openQuiet(path: string): {fd?: number; st: Stats} | {error: string} | null {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EMFILE' || code === 'ENFILE') {
      // Out of descriptors (thousands of rotated files): this one is read by name, as before.
      const st = statSync(path, {throwIfNoEntry: false})
      if (st === undefined) return null
      const why = kindOf(st)
      return why === null ? {st} : {error: why}
    }
    if (code === 'ENOENT') {
      // A dangling symlink is a problem to report; a file that went away is the writer's rotation.
      return lstatSync(path, {throwIfNoEntry: false}) === undefined ? null : {error: 'a symlink to nothing'}
    }
    if (code === 'EACCES') return {error: 'permission denied'}
    return {error: (error as Error).message}
  }
  const st = fstatSync(fd)
  const why = kindOf(st)
  if (why !== null) {
    closeSync(fd)
    return {error: why}
  }
  return {fd, st}
}

export function closeSegments(segments: Segment[]): void {
  for (const s of segments) {
    if (s.fd === undefined) continue
    try {
      closeSync(s.fd)
    } catch {
      // already closed
    }
    s.fd = undefined
  }
}

/**
 * Opens the named files of `dir` in order. A name the writer took away between the listing
 * and the open is followed: a plain rotated file that became `.gz` is opened as that; one
 * deleted (max_age_days) or a live file just renamed returns `retry`, and the caller lists again.
 */
export function openNames(dir: string, names: string[], warnings: string[], final = false): Segment[] | 'retry' {
  const segments: Segment[] = []
  for (const name of names) {
    const path = join(dir, name)
    let got = openQuiet(path)
    let gzip = isGzipName(name)
    if (got === null && !gzip && name !== LIVE) {
      got = openQuiet(path + '.gz')
      gzip = true
    }
    if (got === null) {
      if (final) continue
      closeSegments(segments)
      return 'retry'
    }
    if ('error' in got) {
      warnings.push(`${path}: ${got.error}; skipped`)
      continue
    }
    segments.push({path: gzip && !isGzipName(name) ? path + '.gz' : path, gzip, fd: got.fd, dev: got.st.dev, ino: got.st.ino})
  }
  return segments
}

/**
 * The segments of a rotated directory, each held open (see Segment.fd). Listing and opening
 * are not one atomic step: when the writer rotated in between (a rotated name newer than the
 * listing's newest appeared, or a listed name vanished), the directory is listed again.
 */
export async function listDirectorySegments(dir: string, warnings: string[] = []): Promise<Segment[]> {
  for (let attempt = 0; ; attempt++) {
    const all = readdirSync(dir)
    const noted: string[] = []
    const names = orderedNames(all, dir, noted)
    const opened = openNames(dir, names, noted, attempt >= 20)
    if (opened !== 'retry' && (attempt >= 20 || !rotatedSince(dir, names))) {
      warnings.push(...noted)
      if (opened.length === 0) await noSegments(dir, all, warnings)
      return opened
    }
    if (opened !== 'retry') closeSegments(opened)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A rotated name newer than every one in `names` exists now: a rotation happened since they were listed. */
function rotatedSince(dir: string, names: string[]): boolean {
  const newest = names.map(rotatedKey).filter((k) => k !== null).at(-1) ?? null
  for (const name of readdirSync(dir)) {
    const k = rotatedKey(name)
    if (k !== null && (newest === null || compareRotated(k, newest) > 0)) return true
  }
  return false
}

async function noSegments(dir: string, all: string[], warnings: string[]): Promise<never> {
  if (warnings.some((w) => !w.includes('looks like a rotated DLQ file'))) throw new UnavailableError(`${dir}: no readable DLQ files here (${warnings.join('; ')})`)
  throw new UnavailableError(
    `${dir}: no DLQ files here (expected ${LIVE} or ${LIVE}.<YYYYMMDDTHHMMSS>[.gz], the hyperi-rustlib layout${all.length > 0 && warnings.length > 0 ? `; ${warnings.join('; ')}` : ''})`,
  )
}

/** The service directories of the crate's `<path>` (`<path>/<service>/dlq.ndjson`), in name order. */
export async function serviceDirs(dir: string): Promise<string[]> {
  const services: string[] = []
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name)
    try {
      if ((await stat(p)).isDirectory() && (await readdir(p)).some((n) => isLayoutName(n) || n.startsWith(LOOKS_ROTATED))) services.push(name)
    } catch {
      // unreadable entries are simply not offered
    }
  }
  return services
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

/** dlq's own files, which a DLQ directory may hold before its first record (a ledger kept by an earlier replay). */
const isOwnName = (name: string): boolean => name === LEDGER_NAME || name === `${LEDGER_NAME}.lock` || name === `${LEDGER_NAME}.lock.break`
/** A fresh filesystem's own directory: a spool on a volume of its own (a Kubernetes volume) holds it. */
const LOST_FOUND = 'lost+found'

/**
 * How many service directories `dir` holds when it holds nothing a hyperi-rustlib services root
 * does not: directories holding only a service's files (the layout's names, dlq's ledger), or
 * none yet; dlq's ledger; lost+found. Null as soon as anything else is found (a file of another
 * kind, a directory of other files), or when `dir` cannot be read.
 */
async function spoolRoot(dir: string): Promise<number | null> {
  let services = 0
  try {
    for (const e of await readdir(dir, {withFileTypes: true})) {
      if (isOwnName(e.name) || e.name === LOST_FOUND) continue
      if (!(e.isDirectory() || (e.isSymbolicLink() && (await stat(join(dir, e.name))).isDirectory()))) return null
      if (!(await readdir(join(dir, e.name))).every((n) => isOwnName(n) || n === LIVE || n.startsWith(LOOKS_ROTATED))) return null
      services++
    }
  } catch {
    return null
  }
  return services
}

/**
 * Whether a directory with no DLQ file (of its own or in a service directory) is a DLQ that
 * has none yet, and which kind it will be; null when it is not recognisably one (then it is
 * refused as before: a typo'd path does not exist, a directory of other files is no DLQ).
 * Recognised: a services root whose service directories hold no file yet (hyperi-rustlib
 * creates `<root>/<service>/` when the service starts); and a directory holding nothing, or
 * only dlq's ledger, that dlq read before (its ledger is there), that sits in a services root
 * (a service directory before its first file), or that is named `dlq` (the crate's default
 * root is /var/spool/dfe/dlq). An empty directory elsewhere (a fresh temp dir, a mount point
 * of nothing) is not taken for a DLQ that is fine.
 */
async function emptySpool(path: string, names: string[]): Promise<'directory' | 'services' | null> {
  const services = await spoolRoot(path)
  if (services === null) return null
  const full = resolve(path)
  if (services > 0 || basename(full) === 'dlq') return 'services'
  if (names.some(isOwnName)) return 'directory'
  return (await spoolRoot(dirname(full))) === null ? null : 'directory'
}

export type ResolvedSource =
  | {kind: 'file' | 'directory'; segments: Segment[]; warnings: string[]}
  | {kind: 'services'; services: string[]; warnings: string[]}
  /** A DLQ directory with no DLQ file yet (see emptySpool): `as` says what it looks like it will be. */
  | {kind: 'empty'; as: 'directory' | 'services'; warnings: string[]}

/** Resolves a file source (path, `file:path`) into its segments (or its services), and the entries it left out. */
export async function resolveFileSource(path: string): Promise<ResolvedSource> {
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
  if (st.isDirectory()) {
    const names = await readdir(path)
    const own = names.some(isLayoutName)
    if (!own) {
      const services = await serviceDirs(path)
      if (services.length > 0) {
        orderedNames(names, path, warnings)
        return {kind: 'services', services, warnings}
      }
      const empty = await emptySpool(path, names)
      if (empty !== null) {
        const what = empty === 'services' ? 'a services root whose service directories hold none yet' : 'a service directory before its first one'
        warnings.push(`${path}: no DLQ file yet (${what}); read as an empty DLQ`)
        return {kind: 'empty', as: empty, warnings}
      }
    }
    return {kind: 'directory', segments: await listDirectorySegments(path, warnings), warnings}
  }
  if (!st.isFile()) throw new UsageError(`${path}: ${kindOf(st)}; give a DLQ file or directory`)
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const fst = fstatSync(fd)
  return {kind: 'file', segments: [{path, gzip: isGzipName(basename(path)), fd, dev: fst.dev, ino: fst.ino}], warnings}
}
