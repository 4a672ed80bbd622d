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
  /**
   * Unreadable records with no time (corrupt file lines) that --since/--until left out of the
   * page: a filter on time cannot place them, so they are named here rather than dropped
   * silently (`dlq stats` places them by the lines around them). The first few positions.
   */
  untimedLeftOut: {count: number; positions: string[]}
  /** Problems met while opening the source that did not stop the read. */
  warnings: string[]
}

export function checkLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_LIMIT
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit ${limit}: must be a whole number from 1 to ${MAX_LIMIT}`)
  if (n > MAX_LIMIT) throw new UsageError(`--limit ${n}: the most one page may hold is ${MAX_LIMIT} (page on with --from)`)
  return n
}

/** Positions of untimed unreadable records named in the note (the rest are counted). */
const LISTED = 10

/** One page of a DLQ: the service behind `dlq inspect`. */
export async function inspectPage(reader: DlqReader, opts: InspectOptions): Promise<InspectResult> {
  const limit = checkLimit(opts.limit)
  const from = opts.from ? reader.parsePosition(opts.from) : null
  const leftOut = {count: 0, positions: [] as string[]}
  const timed = opts.filter.since !== null || opts.filter.until !== null
  const filter: RecordFilter = !timed
    ? opts.filter
    : {
        ...opts.filter,
        matches(r) {
          if (opts.filter.matches(r)) return true
          if (r.timestamp === null && r.unreadable !== null) {
            leftOut.count++
            if (leftOut.positions.length < LISTED) leftOut.positions.push(r.position)
          }
          return false
        },
      }
  const page = await reader.page({from, limit, filter, signal: opts.signal})
  return {
    source: reader.info.display,
    from,
    limit,
    records: page.records,
    next: page.next,
    atEnd: page.atEnd,
    scanned: page.scanned,
    unreadable: page.records.filter((r) => r.unreadable !== null).map((r) => ({position: r.position, error: r.unreadable!})),
    untimedLeftOut: leftOut,
    warnings: [...(reader.warnings ?? [])],
  }
}
