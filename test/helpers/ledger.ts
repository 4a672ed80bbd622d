import {existsSync, readFileSync} from 'node:fs'
import {parseLine} from '../../src/backends/file/parse-line.js'
import {ledgerKey} from '../../src/core/replay/identity.js'
import {foldLedger, type AnyLedgerEvent} from '../../src/core/replay/ledger.js'

/** The replay ledger's key for one line of a file DLQ (its identity: the message, not its number). */
export function fileLedgerKey(line: string): string {
  return ledgerKey(parseLine(Buffer.from(line), '0', false)!, 'file')
}

/** How many messages a file ledger records as replayed (either line format), 0 while it does not exist. */
export function ledgerDone(path: string): number {
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
  for (const e of foldLedger(events).values()) if (e.state === 'done') n++
  return n
}
