import {parseLine} from '../../src/backends/file/parse-line.js'
import {ledgerKey} from '../../src/core/replay/identity.js'

/** The replay ledger's key for one line of a file DLQ (its identity: the message, not its number). */
export function fileLedgerKey(line: string): string {
  return ledgerKey(parseLine(Buffer.from(line), '0', false)!, 'file')
}
