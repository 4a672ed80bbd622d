import {UsageError} from './errors.js'
import type {RecordFilter} from './filter.js'
import type {DecodedRecord} from './record.js'
import {MAX_LIMIT, type DlqReader} from './reader.js'

export const DEFAULT_TAIL = 10

export interface TailOptions {
  /** The last N matching messages to print first. */
  limit: number
  filter: RecordFilter
  signal: AbortSignal
}

export function checkTailLimit(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_LIMIT) throw new UsageError(`--limit ${n}: must be a whole number from 0 to ${MAX_LIMIT}`)
  return n
}

/** `dlq tail`: the last `limit` matching messages, read backward from the end (pageBefore). */
export async function tailLast(reader: DlqReader, opts: TailOptions): Promise<DecodedRecord[]> {
  const limit = checkTailLimit(opts.limit)
  if (limit === 0) return []
  if (!reader.pageBefore) throw new UsageError(`${reader.info.display}: this source cannot be read from its end`)
  return (await reader.pageBefore({before: null, limit, filter: opts.filter, signal: opts.signal})).records
}

/** `dlq tail --follow`: the last `limit`, then every new matching message until the signal aborts. */
export function followTail(reader: DlqReader, opts: TailOptions): AsyncIterable<DecodedRecord> {
  const limit = checkTailLimit(opts.limit)
  if (!reader.follow) throw new UsageError(`${reader.info.display}: this source cannot be followed`)
  return reader.follow({backlog: limit, filter: opts.filter, signal: opts.signal})
}
