import {UsageError} from './errors.js'
import type {RecordFilter} from './filter.js'
import type {DecodedRecord} from './record.js'
import {DEFAULT_LIMIT, MAX_LIMIT, type DlqReader} from './reader.js'

export interface InspectOptions {
  from?: string | null
  limit?: number
  filter: RecordFilter
  signal?: AbortSignal
}

export interface InspectResult {
  source: string
  from: string | null
  limit: number
  records: DecodedRecord[]
  /** Where the next page starts. */
  next: string | null
  /** True when the page reached the current end of the log. */
  atEnd: boolean
  scanned: number
  unreadable: Array<{position: string; error: string}>
  /** Problems met while opening the source that did not stop the read. */
  warnings: string[]
}

export function checkLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_LIMIT
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit ${limit}: must be a whole number from 1 to ${MAX_LIMIT}`)
  if (n > MAX_LIMIT) throw new UsageError(`--limit ${n}: the most one page may hold is ${MAX_LIMIT} (page on with --from)`)
  return n
}

/** One page of a DLQ: the service behind `dlq inspect`. */
export async function inspectPage(reader: DlqReader, opts: InspectOptions): Promise<InspectResult> {
  const limit = checkLimit(opts.limit)
  const from = opts.from ? reader.parsePosition(opts.from) : null
  const page = await reader.page({from, limit, filter: opts.filter, signal: opts.signal})
  return {
    source: reader.info.display,
    from,
    limit,
    records: page.records,
    next: page.next,
    atEnd: page.atEnd,
    scanned: page.scanned,
    unreadable: page.records.filter((r) => r.unreadable !== null).map((r) => ({position: r.position, error: r.unreadable!})),
    warnings: [...(reader.warnings ?? [])],
  }
}
