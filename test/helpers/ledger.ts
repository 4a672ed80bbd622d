import {existsSync, readFileSync, statSync} from 'node:fs'
import {parseLine} from '../../src/backends/file/parse-line.js'
import {ledgerKey, sourceKey} from '../../src/core/replay/identity.js'
import {foldLedger, type AnyLedgerEvent} from '../../src/core/replay/ledger.js'

/** The replay ledger's key for one line of a file DLQ (its identity: the message, not its number). */
export function fileLedgerKey(line: string): string {
  return ledgerKey(parseLine(Buffer.from(line), '0', false)!, 'file')
}

/** The ledger's key of the source message one line of a file DLQ holds (identity.ts sourceKey). */
export function fileSourceKey(line: string): string | null {
  return sourceKey(parseLine(Buffer.from(line), '0', false)!)
}

/**
 * How many messages a file ledger records as replayed (either line format), 0 while it does not
 * exist: their own keys; `sources` counts the source messages' keys instead (identity.ts sourceKey).
 */
export function ledgerDone(path: string, what: 'messages' | 'sources' = 'messages'): number {
  if (!existsSync(path)) return 0
  const events: AnyLedgerEvent[] = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      if (line.trim() !== '') events.push(JSON.parse(line))
    } catch {
      // a line being written
    }
  }
  let n = 0
  for (const [key, e] of foldLedger(events)) if (e.state === 'done' && key.startsWith('src:') === (what === 'sources')) n++
  return n
}

/**
 * Returns (busy-waiting, up to `ms`) once a file ledger grows by a claim line: the moment a
 * batch's claim is durable and its send has not yet been acknowledged (fault tests freeze the
 * store then, to leave that send in doubt).
 */
export function waitForNextClaim(path: string, ms = 10_000): void {
  let seen = statSync(path).size
  for (const until = Date.now() + ms; Date.now() < until; ) {
    const size = statSync(path).size
    if (size === seen) continue
    if (readFileSync(path).subarray(seen).toString().includes('"op":"claim"')) return
    seen = size
  }
}
