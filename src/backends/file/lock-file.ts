import {randomBytes} from 'node:crypto'
import {closeSync, constants as fsc, fstatSync, linkSync, openSync, readSync, renameSync, unlinkSync, writeSync} from 'node:fs'
import {hostname} from 'node:os'
import type {DlqError} from '../../core/errors.js'

/** Who holds a lock file: written into it by its owner right after creating it. */
export interface LockOwner {
  pid: number
  host: string
  token: string
  at: string
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
const errno = (e: unknown) => (e as NodeJS.ErrnoException)?.code
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

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
    const owner: LockOwner = {pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), at: new Date().toISOString()}
    const deadline = Date.now() + this.opts.waitMs
    let delay = 2
    for (;;) {
      if (this.create(owner)) return owner.token
      const holder = this.read()
      if (holder !== null && this.isStale(holder)) {
        this.breakLock(holder)
        continue
      }
      if (Date.now() > deadline) throw this.opts.busy(holder)
      // Jitter keeps waiting writers from retrying in lock step.
      await sleep(delay + Math.random() * delay)
      delay = Math.min(delay * 2, 50)
    }
  }

  /** Removes the lock if it is still the one `token` took (a lock broken as stale and taken by another is theirs). */
  release(token: string): void {
    const holder = this.tryRead()
    if (holder?.owner?.token === token) this.unlink()
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
    } finally {
      closeSync(fd)
    }
    return true
  }

  /** The lock as it is now; null when it is gone. Not a regular file (a FIFO, a directory): an error, never read. */
  read(): LockHolder | null {
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
    if (o === null || o.host !== hostname() || o.pid === process.pid) return false
    try {
      process.kill(o.pid, 0)
      return false
    } catch (error) {
      return errno(error) === 'ESRCH'
    }
  }

  /**
   * Moves the stale lock aside rather than deleting it by name: if another writer broke it
   * first and took a fresh lock, we would otherwise delete theirs. After the move we check
   * that it is the lock we judged stale, and put it back (link never overwrites) if not.
   */
  private breakLock(stale: LockHolder): void {
    const aside = `${this.path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`
    try {
      renameSync(this.path, aside)
    } catch (error) {
      if (errno(error) === 'ENOENT') return
      throw this.opts.fail(error)
    }
    let moved: string | null = null
    try {
      const fd = openSync(aside, fsc.O_RDONLY)
      try {
        const buf = Buffer.alloc(MAX_LOCK_BYTES)
        moved = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8')
      } finally {
        closeSync(fd)
      }
    } catch {
      // gone: nothing to put back
    }
    if (moved !== null && moved !== stale.text) {
      try {
        linkSync(aside, this.path)
      } catch {
        // a fresh lock is there already: the one moved aside was taken for stale by another too
      }
    }
    try {
      unlinkSync(aside)
    } catch {
      // removed by whoever put it back
    }
  }

  private unlink(): void {
    try {
      unlinkSync(this.path)
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
