import {accessSync, constants, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {UsageError} from './errors.js'
import type {RecordFilter} from './filter.js'
import {exactStringify} from './exact-json.js'
import {toMessage} from './message.js'
import type {DlqReader} from './reader.js'

export interface ExportOptions {
  from?: string | null
  filter: RecordFilter
  signal?: AbortSignal
}

export interface ExportResult {
  source: string
  from: string | null
  /** Records written (unreadable ones included). */
  records: number
  unreadable: number
  /** Bytes of NDJSON written (before any compression). */
  bytes: number
  warnings: string[]
}

/** Whole payloads: no preview limit. */
const WHOLE = {payloadLimit: Number.MAX_SAFE_INTEGER}

/**
 * `dlq export`: every record from `from` to the end that matches the filter, one normalised
 * record per NDJSON line with the whole payload, key and headers, in log order. Streams:
 * `write` is awaited per line, so memory stays flat whatever the size of the DLQ. The lines
 * read back as a file source (convention `dlq`) give the same bytes.
 */
export async function exportRecords(reader: DlqReader, opts: ExportOptions, write: (line: string) => Promise<void> | void): Promise<ExportResult> {
  const from = opts.from ? reader.parsePosition(opts.from) : null
  const result: ExportResult = {source: reader.info.display, from, records: 0, unreadable: 0, bytes: 0, warnings: [...(reader.warnings ?? [])]}
  for await (const rec of reader.scan({from, filter: opts.filter, signal: opts.signal})) {
    // JSON.stringify escapes every control character; raw C1 controls and separators are
    // legal in JSON text and are kept as they are, byte for byte.
    const line = exactStringify(toMessage(rec, WHOLE)) + '\n'
    result.records++
    if (rec.unreadable !== null) result.unreadable++
    result.bytes += Buffer.byteLength(line)
    await write(line)
  }
  return result
}

/**
 * `--file PATH` checked before the DLQ is read: a directory, or a directory that does not
 * exist or cannot be written, is a usage error naming it (it was found only after the whole
 * read, as a system error naming the temporary file).
 */
export function checkExportFile(path: string): void {
  if (path.trim() === '') throw new UsageError('--file: the path is empty')
  let st: ReturnType<typeof statSync> | undefined
  try {
    st = statSync(path)
  } catch {
    // Not there yet: the usual case.
  }
  if (st?.isDirectory()) throw new UsageError(`--file ${path}: is a directory; name the file to write (e.g. ${path.replace(/\/+$/, '')}/dlq-export.ndjson)`)
  const dir = dirname(resolve(path))
  let d: ReturnType<typeof statSync>
  try {
    d = statSync(dir)
  } catch {
    throw new UsageError(`--file ${path}: directory ${dir} does not exist`)
  }
  if (!d.isDirectory()) throw new UsageError(`--file ${path}: ${dir} is not a directory`)
  try {
    accessSync(dir, constants.W_OK)
  } catch {
    throw new UsageError(`--file ${path}: cannot write in ${dir} (permission denied)`)
  }
}
