import {randomBytes} from 'node:crypto'
import {closeSync, constants as fsc, fstatSync, openSync, readFileSync, readlinkSync, readSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {hostname} from 'node:os'
import type {DlqError} from '../../core/errors.js'

/** Who holds a lock file: written into it by its owner right after creating it. */
export interface LockOwner {
  pid: number
  host: string
  token: string
  at: string
  /** The owner's PID namespace and boot (Linux): a pid means that process only within the same of both. */
  ns?: string
}

/** A lock file as read: its owner when it names one (a lock just created, or garbage, does not), and its age. */
export interface LockHolder {
  owner: LockOwner | null
  mtimeMs: number
  text: string
}

export interface LockOptions {
  /** A lock whose owner cannot be checked (another host, no owner written) is taken for a crash's after this long. */
  staleMs: number
  /** How long to wait for a live holder before giving up. */
  waitMs: number
  /** The error for a lock file that cannot be created or read (no permission, read-only, not a regular file). */
  fail: (error: unknown) => DlqError
  /** The error when the wait is over and the lock is still held. */
  busy: (holder: LockHolder | null) => DlqError
}

const MAX_LOCK_BYTES = 4096
/** A breaker's own lock (`<lock>.break`) older than this was left by a breaker that died. */
const STALE_BREAK_MS = 10_000
const errno = (e: unknown) => (e as NodeJS.ErrnoException)?.code
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Where a pid means this process: its PID namespace and the boot. A container sharing the
 * host's name (host networking, `--uts=host`) sees other pids, or none of the host's; after a
 * reboot pids are handed out again. Null off Linux (no /proc), where the host name alone must do.
 */
const PID_SPACE: string | null = (() => {
  try {
    return `${readlinkSync('/proc/self/ns/pid')} ${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`
  } catch {
    return null
  }
})()

/** The tokens of the locks this process holds now: a lock naming this pid with another token is a dead predecessor's (a restarted container keeps its pid). */
const held = new Set<string>()

/**
 * An exclusive lock file (`<file>.lock`, created with O_EXCL) around read-check-write of a file
 * several dlq processes write (the settings file, a replay ledger). It holds its owner's pid,
 * host and a token. A dlq killed while holding it (kill -9, the OOM killer) leaves it behind:
 * a lock whose owner is a dead process on this host is broken at once; one whose owner cannot
 * be checked (another host sharing the directory, nothing written yet) once it is `staleMs` old.
 * The system calls are synchronous: a replay takes the lock twice per batch, and a thread-pool
 * round trip per call would cost more than the call.
 */
export class LockFile {
  constructor(
    readonly path: string,
    private readonly opts: LockOptions,
  ) {}

  /** Runs `fn` holding the lock. */
  async with<T>(fn: () => T | Promise<T>): Promise<T> {
    const token = await this.acquire()
    try {
      return await fn()
    } finally {
      this.release(token)
    }
  }

  async acquire(): Promise<string> {
    const owner: LockOwner = {pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), at: new Date().toISOString(), ...(PID_SPACE === null ? {} : {ns: PID_SPACE})}
    const deadline = Date.now() + this.opts.waitMs
    let delay = 2
    for (;;) {
      if (this.create(owner)) {
        held.add(owner.token)
        return owner.token
      }
      const holder = this.read()
      if (holder !== null && this.isStale(holder)) {
        if (this.breakLock(holder)) continue
      }
      if (Date.now() > deadline) throw this.opts.busy(holder)
      // Jitter keeps waiting writers from retrying in lock step.
      await sleep(delay + Math.random() * delay)
      delay = Math.min(delay * 2, 50)
    }
  }

  /** Removes the lock if it is still the one `token` took (a lock broken as stale and taken by another is theirs). */
  release(token: string): void {
    held.delete(token)
    const holder = this.tryRead()
    if (holder?.owner?.token === token) this.unlink(this.path)
  }

  /** Creates the lock with `owner` in it; false when it exists. */
  private create(owner: LockOwner): boolean {
    let fd: number
    try {
      fd = openSync(this.path, 'wx', 0o644)
    } catch (error) {
      if (errno(error) === 'EEXIST') return false
      throw this.opts.fail(error)
    }
    try {
      writeSync(fd, JSON.stringify(owner))
    } catch (error) {
      // A lock without its owner (a full disk) would hold everyone off until it is old: not left behind.
      closeSync(fd)
      this.unlink(this.path)
      throw this.opts.fail(error)
    }
    closeSync(fd)
    return true
  }

  /** The lock as it is now; null when it is gone. Not a regular file (a FIFO, a directory): an error, never read. */
  private read(): LockHolder | null {
    let fd: number
    try {
      fd = openSync(this.path, fsc.O_RDONLY | fsc.O_NONBLOCK)
    } catch (error) {
      if (errno(error) === 'ENOENT') return null
      throw this.opts.fail(error)
    }
    try {
      const st = fstatSync(fd)
      if (!st.isFile()) throw this.opts.fail(new Error(`the lock file ${this.path} is not a regular file`))
      const buf = Buffer.alloc(Math.min(MAX_LOCK_BYTES, st.size))
      const text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8')
      return {owner: ownerOf(text), mtimeMs: st.mtimeMs, text}
    } finally {
      closeSync(fd)
    }
  }

  private tryRead(): LockHolder | null {
    try {
      return this.read()
    } catch {
      return null
    }
  }

  private isStale(holder: LockHolder): boolean {
    if (Date.now() - holder.mtimeMs > this.opts.staleMs) return true
    const o = holder.owner
    // Its pid is checked only where it means the same process: this host, this PID namespace, this boot.
    if (o === null || o.host !== hostname() || (o.ns ?? null) !== PID_SPACE) return false
    if (o.pid === process.pid) return !held.has(o.token)
    try {
      process.kill(o.pid, 0)
      return false
    } catch (error) {
      return errno(error) === 'ESRCH'
    }
  }

  /**
   * Removes the stale lock `stale`, if it is still the one there. Breakers take turns under a
   * lock of their own (`<lock>.break`, O_EXCL), and the lock is read again under it: a lock
   * released and taken afresh meanwhile has other text and is left alone. True when the caller
   * should try to take the lock again at once; false when another breaker is at it (wait).
   */
  private breakLock(stale: LockHolder): boolean {
    const breaking = `${this.path}.break`
    let fd: number
    try {
      fd = openSync(breaking, 'wx', 0o644)
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw this.opts.fail(error)
      try {
        // A breaker that died while breaking: its own lock goes once it is old.
        if (Date.now() - statSync(breaking).mtimeMs > STALE_BREAK_MS) this.unlink(breaking)
      } catch {
        // gone meanwhile
      }
      return false
    }
    closeSync(fd)
    try {
      const now = this.tryRead()
      if (now !== null && now.text === stale.text && now.mtimeMs === stale.mtimeMs) this.unlink(this.path)
    } finally {
      this.unlink(breaking)
    }
    return true
  }

  private unlink(path: string): void {
    try {
      unlinkSync(path)
    } catch {
      // gone already
    }
  }
}

/** The owner a lock file names, or null (written but not yet filled in by its owner, or garbage: only its age can tell). */
function ownerOf(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text)
    if (o && typeof o === 'object' && Number.isInteger(o.pid) && typeof o.host === 'string' && typeof o.at === 'string') return o
  } catch {
    // as above
  }
  return null
}

/** How long to wait for a lock: `fallback`, or DLQ_LOCK_WAIT_MS when set (tests of a held lock set it low). */
export function lockWaitMs(fallback: number): number {
  const wait = Number(process.env.DLQ_LOCK_WAIT_MS)
  return Number.isFinite(wait) && wait > 0 ? wait : fallback
}

/** How a holder is named in an error: who, and since when, when the lock says. */
export function holderText(holder: LockHolder | null, unknown: string): string {
  return holder?.owner ? `by pid ${holder.owner.pid} on ${holder.owner.host} since ${holder.owner.at}` : unknown
}
