import {closeSync, fsyncSync, openSync, readFileSync, rmSync, statSync, writeSync} from 'node:fs'
import {foldLedger, type LedgerEntry, type LedgerEvent, type LedgerTarget, type ReplayLedger} from '../../core/replay/ledger.js'
import {UnavailableError} from '../../core/errors.js'

const LOCK_WAIT_MS = 15_000
const STALE_LOCK_MS = 60_000

/**
 * The replay ledger of a file DLQ: an append-only NDJSON file beside it
 * (`<file>.replay-ledger.ndjson`, or `dlq-replay-ledger.ndjson` inside a rotated directory).
 * Every claim is made under an exclusive lock file, read-check-append, and fsync'd before the
 * message is sent, so two replays at once cannot both claim a position and a crash loses no
 * claim.
 */
export class FileLedger implements ReplayLedger {
  constructor(readonly path: string) {}

  get where(): string {
    return this.path
  }

  private events(): LedgerEvent[] {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw new UnavailableError(`replay ledger ${this.path}: ${(error as Error).message}`)
    }
    const out: LedgerEvent[] = []
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      try {
        out.push(JSON.parse(line))
      } catch {
        // A line cut by a crash mid-write: the claim it held was never followed by a send.
      }
    }
    return out
  }

  private append(events: LedgerEvent[]): void {
    if (events.length === 0) return
    const fd = openSync(this.path, 'a')
    try {
      writeSync(fd, events.map((e) => JSON.stringify(e) + '\n').join(''))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }

  private async locked<T>(fn: () => T): Promise<T> {
    const lock = `${this.path}.lock`
    const deadline = Date.now() + LOCK_WAIT_MS
    for (;;) {
      try {
        closeSync(openSync(lock, 'wx'))
        break
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code !== 'EEXIST') throw new UnavailableError(`replay ledger lock ${lock}: ${(error as Error).message} (use --ledger PATH for a writable place)`)
        try {
          if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, {force: true})
        } catch {
          // gone meanwhile
        }
        if (Date.now() > deadline) throw new UnavailableError(`replay ledger ${this.path} is locked by another replay (lock file ${lock})`)
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 30))
      }
    }
    try {
      return fn()
    } finally {
      rmSync(lock, {force: true})
    }
  }

  async read(positions: string[]): Promise<Map<string, LedgerEntry>> {
    const all = foldLedger(this.events())
    const want = new Set(positions)
    return new Map([...all].filter(([p]) => want.has(p)))
  }

  async claim(entries: Array<{position: string; target: LedgerTarget; mark: string | null}>, runId: string, force: boolean): Promise<Set<string>> {
    return this.locked(() => {
      const state = foldLedger(this.events())
      const at = new Date().toISOString()
      const held = new Set<string>()
      const events: LedgerEvent[] = []
      for (const e of entries) {
        const cur = state.get(e.position)
        if (cur && cur.runId !== runId && !force) continue
        held.add(e.position)
        events.push({op: 'claim', position: e.position, runId, target: e.target, mark: e.mark, at})
      }
      this.append(events)
      return held
    })
  }

  async complete(entries: Array<{position: string; target: LedgerTarget; offset: string}>, runId: string): Promise<void> {
    const at = new Date().toISOString()
    await this.locked(() => this.append(entries.map((e) => ({op: 'done', position: e.position, runId, target: e.target, offset: e.offset, at}))))
  }

  async release(positions: string[], runId: string): Promise<void> {
    const at = new Date().toISOString()
    await this.locked(() => this.append(positions.map((position) => ({op: 'release', position, runId, at}))))
  }

  async close(): Promise<void> {}
}

export function defaultFileLedgerPath(path: string, kind: 'file' | 'directory'): string {
  return kind === 'directory' ? `${path.replace(/\/+$/, '')}/dlq-replay-ledger.ndjson` : `${path}.replay-ledger.ndjson`
}
