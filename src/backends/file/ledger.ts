import {closeSync, fstatSync, fsync, openSync, readSync, statSync, writeSync} from 'node:fs'
import {access, constants, open, readdir, realpath, stat} from 'node:fs/promises'
import {basename, dirname, isAbsolute, join, relative, resolve} from 'node:path'
import {claimEvents, claimTakes, doneEvents, isBatch, releaseEvent, type AnyLedgerEvent, type ClaimRequest, type LedgerEdit, type LedgerEntry, type LedgerEvent, type LedgerTarget, type ReplayLedger} from '../../core/replay/ledger.js'
import {LedgerIndex, type LedgerLine} from './ledger-index.js'
import {holderText, LockFile, lockWaitMs} from './lock-file.js'
import {UnavailableError, UsageError} from '../../core/errors.js'
import {isLayoutName, LEDGER_NAME, serviceDirs} from './layout.js'

/** How long a replay waits for the ledger's lock (held for one read-check-append) before giving up; DLQ_LOCK_WAIT_MS overrides. */
const LOCK_WAIT_MS = 15_000
/** A lock whose owner cannot be checked (another host) is taken for a crash's after this long; a dead owner's at once. */
const STALE_LOCK_MS = 60_000
/** Bytes of the ledger read and folded at once: a large ledger is never held whole. */
const READ_CHUNK = 4 * 1024 * 1024

/**
 * The replay ledger of a file DLQ: an append-only NDJSON file beside it (where: see
 * `defaultFileLedgerPath`; `dlq-replay-ledger.ndjson` of a hyperi-rustlib directory).
 * Every claim is made under an exclusive lock file, read-check-append, and fsync'd before the
 * message is sent, so two replays at once cannot both claim a position and a crash loses no
 * claim.
 */
export class FileLedger implements ReplayLedger {
  /** The ledger folded so far, and how many bytes of the file that covers: only the tail is read again. */
  private index: LedgerIndex
  private readBytes = 0

  private readonly lock: LockFile

  /** `mapLimit`: messages the index holds in a Map before its compact table (LedgerIndex; tests set it low). */
  constructor(
    readonly path: string,
    private readonly opts: {mapLimit?: number} = {},
  ) {
    const lock = `${path}.lock`
    this.lock = new LockFile(lock, {
      staleMs: STALE_LOCK_MS,
      waitMs: lockWaitMs(LOCK_WAIT_MS),
      fail: (error) => new UnavailableError(`replay ledger lock ${lock}: ${(error as Error).message} (use --ledger PATH for a writable place)`),
      busy: (holder) => new UnavailableError(`replay ledger ${path} is locked ${holderText(holder, 'by another replay')} (lock file ${lock}); if no dlq is replaying from it, remove the lock file`),
    })
    this.index = this.newIndex()
  }

  private newIndex(): LedgerIndex {
    const readRange = (start: number, end: number): Buffer => {
      const fd = openSync(this.path, 'r')
      try {
        const buf = Buffer.allocUnsafe(end - start)
        const got = readSync(fd, buf, 0, buf.length, start)
        return buf.subarray(0, got)
      } finally {
        closeSync(fd)
      }
    }
    return new LedgerIndex(readRange, this.opts.mapLimit)
  }

  get where(): string {
    return this.path
  }

  async writeProblem(): Promise<{text: string; usage: boolean} | null> {
    const why = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message
    const place = (text: string) => ({text, usage: false})
    try {
      const st = await stat(this.path)
      if (st.isDirectory()) return {text: `${this.path} is a directory: give the ledger's file path (it is created there)`, usage: true}
      if (!st.isFile()) return {text: `${this.path} is not a regular file`, usage: true}
      await access(this.path, constants.R_OK | constants.W_OK)
      return null
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return place(`${this.path} cannot be written (${why(error)})`)
    }
    const dir = dirname(this.path)
    try {
      if (!(await stat(dir)).isDirectory()) return place(`${this.path} cannot be created: ${dir} is not a directory`)
      await access(dir, constants.W_OK)
      return null
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      return place(code === 'ENOENT' ? `${this.path} cannot be created: ${dir} does not exist` : `${this.path} cannot be created in ${dir} (${why(error)})`)
    }
  }


  /**
   * Folds what other replays appended since the last look (the file only ever grows), a chunk
   * at a time. Only whole lines count; a line cut by a crash mid-write held a claim never
   * followed by a send.
   */
  private refresh(): LedgerIndex {
    let fd: number
    try {
      fd = openSync(this.path, 'r')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.index
      throw new UnavailableError(`replay ledger ${this.path}: ${(error as Error).message}`)
    }
    try {
      const size = fstatSync(fd).size
      if (size < this.readBytes) {
        // Replaced or truncated by hand: start over.
        this.index = this.newIndex()
        this.readBytes = 0
      }
      let buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(0, size - this.readBytes)))
      while (this.readBytes < size) {
        const want = Math.min(size - this.readBytes, Math.max(buf.length, READ_CHUNK))
        // A line longer than a chunk: read it whole.
        if (want > buf.length) buf = Buffer.allocUnsafe(want)
        const got = readSync(fd, buf, 0, want, this.readBytes)
        if (got === 0) break
        const end = buf.subarray(0, got).lastIndexOf(10) + 1
        if (end === 0) {
          if (this.readBytes + got >= size) break
          buf = Buffer.allocUnsafe(buf.length * 2)
          continue
        }
        const lines: LedgerLine[] = []
        for (let at = 0; at < end; ) {
          const nl = buf.indexOf(10, at)
          if (nl - at >= 2) {
            try {
              lines.push({e: JSON.parse(buf.toString('utf8', at, nl)), start: this.readBytes + at, end: this.readBytes + nl + 1})
            } catch {
              // skip a damaged line
            }
          }
          at = nl + 1
        }
        const before = this.readBytes
        this.index.fold(lines)
        this.readBytes += end
        // After the first chunk of a large ledger, room for what the rest holds at the same rate.
        if (before === 0 && size > this.readBytes) this.index.reserve(Math.ceil(this.index.size * (size / this.readBytes) * 1.05))
      }
    } catch (error) {
      throw new UnavailableError(`replay ledger ${this.path}: ${(error as Error).message}`)
    } finally {
      closeSync(fd)
    }
    return this.index
  }

  /**
   * Appends under the lock, right after a refresh: what is in the file is then exactly what
   * we folded plus our own events, so those are folded from memory instead of read back.
   * Claims are fsync'd before anything is sent; a lost `done` only leaves a claim in doubt,
   * which the next run resolves by looking in the target, so completions need no fsync.
   */
  private append(events: AnyLedgerEvent[], durable: true): number | null
  private append(events: AnyLedgerEvent[], durable: false): null
  private append(events: AnyLedgerEvent[], durable: boolean): number | null {
    if (events.length === 0) return null
    const fd = openSync(this.path, 'a')
    try {
      const texts = events.map(ledgerLine)
      // The refresh just before (under the lock) folded every whole line: bytes past them are a
      // line torn by a crash or a full disk. Ours start on a line of their own, or the first would
      // be glued onto that garbage and lost with it (a claim lost: a re-run sends the message again).
      const size = fstatSync(fd).size
      const torn = size > this.readBytes
      const text = Buffer.from((torn ? '\n' : '') + texts.join(''))
      writeSync(fd, text)
      if (size >= this.readBytes && fstatSync(fd).size === size + text.length) {
        const lines: LedgerLine[] = []
        let at = torn ? size + 1 : size
        for (let k = 0; k < events.length; k++) {
          const end = at + Buffer.byteLength(texts[k])
          lines.push({e: events[k], start: at, end})
          at = end
        }
        this.readBytes = at
        this.index.fold(lines)
      }
    } catch (error) {
      closeSync(fd)
      throw error
    }
    if (durable) return fd
    closeSync(fd)
    return null
  }

  /**
   * The fsync of an append, outside the lock and off the main thread: the claim is durable
   * before `claim` returns (so before anything is sent), while the process goes on reading
   * acknowledgements and writing completions of the batch before.
   */
  private async sync(fd: number | null): Promise<void> {
    if (fd === null) return
    try {
      await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())))
    } catch (error) {
      throw new UnavailableError(`replay ledger ${this.path}: ${(error as Error).message}`)
    } finally {
      closeSync(fd)
    }
  }

  private locked<T>(fn: () => T): Promise<T> {
    return this.lock.with(fn)
  }

  async read(positions: string[]): Promise<Map<string, LedgerEntry>> {
    const index = this.refresh()
    const out = new Map<string, LedgerEntry>()
    if (index.size === 0) return out
    for (const p of positions) {
      const e = index.get(p)
      if (e) out.set(p, e)
    }
    return out
  }

  async claim(entries: ClaimRequest[], runId: string, force: boolean): Promise<Set<string>> {
    const {held, fd} = await this.locked(() => {
      const index = this.refresh()
      const at = new Date().toISOString()
      const held = new Set<string>()
      const won: typeof entries = []
      for (const e of entries) {
        if (!claimTakes(index.holderOf(e.position), runId, force, e.over)) continue
        held.add(e.position)
        won.push(e)
      }
      return {held, fd: this.append(claimEvents(won, runId, force, at), true)}
    })
    await this.sync(fd)
    return held
  }

  async complete(entries: Array<{position: string; target: LedgerTarget; offset: string; edit?: LedgerEdit}>, runId: string): Promise<void> {
    const at = new Date().toISOString()
    await this.locked(() => {
      this.refresh()
      this.append(doneEvents(entries, runId, at), false)
    })
  }

  async release(positions: string[], runId: string): Promise<void> {
    const at = new Date().toISOString()
    await this.sync(
      await this.locked(() => {
        this.refresh()
        return this.append(positions.length === 0 ? [] : [releaseEvent(positions, runId, at)], true)
      }),
    )
  }

  forget(positions: string[]): void {
    this.index.forget(positions)
  }

  async close(): Promise<void> {}
}

/** One ledger line: a batch event as JSON, a one-message event as `eventLine` writes it. */
export function ledgerLine(e: AnyLedgerEvent): string {
  return isBatch(e) ? `${JSON.stringify(e)}\n` : eventLine(e)
}

/**
 * One ledger line of the one-message format, exactly what `JSON.stringify(event)` writes (same keys, same order), built
 * by hand: two lines per replayed message made JSON.stringify a tenth of a replay's time.
 */
export function eventLine(e: LedgerEvent): string {
  let line = `{"op":"${e.op}","position":${JSON.stringify(e.position)},"runId":${JSON.stringify(e.runId)}`
  if (e.target !== undefined) line += `,"target":{"topic":${JSON.stringify(e.target.topic)},"partition":${e.target.partition === null ? 'null' : e.target.partition}}`
  if (e.mark !== undefined) line += `,"mark":${e.mark === null ? 'null' : JSON.stringify(e.mark)}`
  if (e.offset !== undefined) line += `,"offset":${e.offset === null ? 'null' : JSON.stringify(e.offset)}`
  if (e.force !== undefined) line += `,"force":${e.force}`
  if (e.over !== undefined) line += `,"over":${JSON.stringify(e.over)}`
  line += `,"at":${JSON.stringify(e.at)}`
  if (e.edit !== undefined) line += `,"edit":{"sha256":${JSON.stringify(e.edit.sha256)}}`
  return `${line}}\n`
}

const FILE_LEDGER_SUFFIX = '.replay-ledger.ndjson'

/**
 * Where a file DLQ's replay ledger lives unless `--ledger` names one. A hyperi-rustlib DLQ can
 * be named three ways — the services root, a service directory, or its live or rotated file —
 * and each must find the same ledger, or a message replayed under one name is sent again under
 * another. A service directory and its files share the directory's ledger; the services root
 * has its own, which a service directory uses once it exists (a root replayed before). A root
 * whose services have ledgers of their own (replayed one by one before), or a directory whose
 * file has one (an earlier dlq kept it beside the file), is refused until they are merged
 * (exit 2), never silently left behind. A directory is never taken for a services root unless
 * named so or holding a ledger: /tmp holding test directories is not a DLQ. A file that is no
 * part of the layout keeps its ledger beside it. All of this is decided on the real path, so a
 * symlink and its target (or a service directory reached through a link) find the same ledger.
 */
export async function defaultFileLedgerPath(path: string, kind: 'file' | 'directory' | 'services'): Promise<string> {
  const named = path.replace(/\/+$/, '') || path
  const ledger = await ledgerOfRealPath(named, kind)
  // A DLQ named through a link kept its ledger beside the link until 2026-12-01: left there, its
  // messages would all be sent again. Merged into the real one first, never silently passed over.
  const before = kind === 'file' ? (isLayoutName(basename(named)) ? join(dirname(named), LEDGER_NAME) : `${named}${FILE_LEDGER_SUFFIX}`) : null
  if (before !== null && nonEmpty(before) && (await realpath(before)) !== (await realpath(ledger).catch(() => resolve(ledger)))) {
    throw new UsageError(
      `${named} is named through a link: its replay ledger is kept with the file it points to, at ${ledger}, but an earlier dlq kept one beside the link, at ${before}. ` +
        `Append it to the real one so nothing is sent twice: cat '${before}' >> '${ledger}' && rm '${before}'`,
    )
  }
  return ledger
}

async function ledgerOfRealPath(named: string, kind: 'file' | 'directory' | 'services'): Promise<string> {
  const given = await realName(named)
  let home: string | null = kind === 'file' ? null : given
  if (kind === 'file') {
    if (isLayoutName(basename(given))) home = dirname(given)
  }
  if (home === null) return `${given}${FILE_LEDGER_SUFFIX}`
  // The service directories of the root the ledger is kept at, or null (a service directory's own).
  let services = kind === 'services' ? await serviceDirs(home).catch(() => []) : null
  if (kind !== 'services' && nonEmpty(join(home, '..', LEDGER_NAME))) {
    const parent = await servicesOf(dirname(resolve(home)))
    if (parent?.includes(basename(resolve(home)))) {
      home = join(home, '..')
      services = parent
    }
  }
  const ledger = join(home, LEDGER_NAME)
  const strays = await strayLedgers(home, services)
  if (strays.length > 0) {
    const list = strays.map((p) => `'${p}'`).join(' ')
    const which = given === home ? `The DLQ at ${home}` : `${given} is part of the DLQ at ${home}, which`
    throw new UsageError(
      `${which} keeps its replay ledger at ${ledger}, but there are ledgers for parts of it: ${strays.join(', ')}. ` +
        `Append them to it so every name of this DLQ knows what was replayed (never sent twice): cat ${list} >> '${ledger}' && rm ${list}`,
    )
  }
  return ledger
}

/**
 * `path` with its symlinks resolved, so a DLQ named through a link keeps its ledger where its
 * target's is. Unchanged when no link is involved (the ledger is then shown as the user named
 * the DLQ); relative to the working directory when the real path lies below it.
 */
async function realName(path: string): Promise<string> {
  let real: string
  try {
    real = await realpath(path)
  } catch {
    return path
  }
  if (real === resolve(path)) return path
  const rel = relative(process.cwd(), real)
  return isAbsolute(path) || rel === '' || rel.startsWith('..') || isAbsolute(rel) ? real : rel
}

/** Non-empty ledgers an earlier dlq kept at narrower names of the DLQ at `home` (a service directory's, a file's). */
async function strayLedgers(home: string, services: string[] | null): Promise<string[]> {
  const dirs = [home, ...(services ?? []).map((s) => join(home, s))]
  const found: string[] = []
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[])
    for (const n of names.sort()) {
      // A ledger an earlier dlq kept beside one of the layout's files (not beside another file in the same directory).
      const beside = n.endsWith(FILE_LEDGER_SUFFIX) ? n.slice(0, -FILE_LEDGER_SUFFIX.length) : null
      if ((n === LEDGER_NAME && dir !== home) || (beside !== null && isLayoutName(beside))) {
        if (nonEmpty(join(dir, n))) found.push(join(dir, n))
      }
    }
  }
  return found
}

/** The service directories of `dir` when it is a services root (no DLQ files of its own), else null. */
async function servicesOf(dir: string): Promise<string[] | null> {
  try {
    if ((await readdir(dir)).some(isLayoutName)) return null
    return await serviceDirs(dir)
  } catch {
    return null
  }
}

function nonEmpty(path: string): boolean {
  try {
    return statSync(path).size > 0
  } catch {
    return false
  }
}

/** How every line dlq writes to a file ledger begins, in both formats (`op` comes first). */
const LINE_OPS = ['claim', 'done', 'release'].map((op) => `{"op":"${op}"`)
const LINE_START = '{"op":"'
/** Bytes of an existing `--ledger` file looked at to tell whether it is a ledger. */
const SNIFF_BYTES = 64 * 1024

/**
 * Why the file named by `--ledger` may not be a replay ledger, or null when it may. dlq appends
 * lines to it, which would damage anything else: the DLQ itself (it belongs to the service that
 * writes it; for a rotated directory or services root, any of its files, or a new file named as
 * one that would be read as part of it), the settings store file, or any existing file that
 * holds something other than ledger lines. Paths are compared after symlinks are resolved.
 */
export async function givenLedgerProblem(path: string, opts: {dlq: {path: string; kind: 'file' | 'directory' | 'services'} | null; settings: string | null}): Promise<string | null> {
  const real = await plannedRealPath(path)
  if (opts.dlq !== null) {
    const clash = await dlqFileClash(real, opts.dlq)
    if (clash !== null) return clash
  }
  if (opts.settings !== null && real === (await plannedRealPath(opts.settings))) return `is dlq's settings store (${opts.settings}, from DLQ_STORE or the profile)`
  const what = await notLedgerContent(path)
  return what === null ? null : `already exists and is not a replay ledger (it holds ${what}): dlq appends only to a ledger, or to an empty or new file`
}

/** The real path of `path`, or of the file it would create (its real directory and its name). */
async function plannedRealPath(path: string): Promise<string> {
  try {
    return await realpath(path)
  } catch {
    try {
      return join(await realpath(dirname(path)), basename(path))
    } catch {
      return resolve(path)
    }
  }
}

/** Whether `real` is (or would become) one of the files the file DLQ `dlq` reads. */
async function dlqFileClash(real: string, dlq: {path: string; kind: 'file' | 'directory' | 'services'}): Promise<string | null> {
  const source = await plannedRealPath(dlq.path.replace(/\/+$/, '') || dlq.path)
  if (real === source) return `is the DLQ itself (${dlq.path}), which belongs to the service that writes it: dlq never writes to a DLQ`
  // The directories whose layout-named files are the DLQ: a rotated directory, a services root's service directories.
  let dirs: string[] = []
  if (dlq.kind === 'file' && isLayoutName(basename(source))) dirs = [dirname(source)]
  if (dlq.kind === 'directory') dirs = [source]
  if (dlq.kind === 'services') {
    for (const e of await readdir(source, {withFileTypes: true}).catch(() => [])) {
      const p = join(source, e.name)
      if (e.isDirectory() || (e.isSymbolicLink() && (await stat(p).catch(() => null))?.isDirectory())) dirs.push(await plannedRealPath(p))
    }
  }
  const part = `is a file of the DLQ ${dlq.kind === 'file' ? dirname(dlq.path) : dlq.path}, which belongs to the service that writes it: dlq never writes to a DLQ`
  if (isLayoutName(basename(real)) && dirs.includes(dirname(real))) return part
  // A layout name in one of them may be a link to the file named.
  for (const dir of dirs) {
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      if (isLayoutName(n) && (await plannedRealPath(join(dir, n))) === real) return part
    }
  }
  return null
}

/**
 * What an existing file holds when that is not a replay ledger, or null when it is one, is
 * empty, or cannot be looked at here (missing: created on the first claim; not a regular file or
 * unreadable: `writeProblem` names it). A ledger is told by its first line, which starts as every
 * line dlq writes to one does; a line torn by a crash keeps that start, so a ledger whose first
 * append was cut short (at least `{"op":"` written) is still one.
 */
export async function notLedgerContent(path: string): Promise<string | null> {
  let head: Buffer
  try {
    // stat first: opening a named pipe would wait for a writer.
    if (!(await stat(path)).isFile()) return null
    const fh = await open(path, 'r')
    try {
      const buf = Buffer.alloc(SNIFF_BYTES)
      head = buf.subarray(0, (await fh.read(buf, 0, SNIFF_BYTES, 0)).bytesRead)
    } finally {
      await fh.close()
    }
  } catch {
    return null
  }
  const text = head.toString('latin1').replace(/^\s+/, '')
  if (text === '') return null
  const nl = text.indexOf('\n')
  const line = (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '')
  if (LINE_OPS.some((s) => line.startsWith(s) || (line.length >= LINE_START.length && s.startsWith(line)))) return null
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip-compressed data'
  if (head.includes(0)) return 'binary data'
  if (/"format"\s*:\s*"dlq-settings"/.test(text)) return 'dlq settings'
  if (line.trim() === '{' || line.trim() === '[') return 'a JSON document'
  // latin1 decodes a character a byte, so `text` and `line` measure bytes of `head`.
  const lead = head.length - text.length
  try {
    const value: unknown = JSON.parse(head.toString('utf8', lead, lead + line.length))
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? 'JSON lines without a ledger "op" (claim, done, release)' : 'JSON values that are not ledger events'
  } catch {
    return nl < 0 && head.length === SNIFF_BYTES ? 'data that is not ledger lines' : 'lines that are not ledger events (the first is not JSON)'
  }
}
