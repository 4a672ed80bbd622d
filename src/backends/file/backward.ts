import type {RecordFilter} from '../../core/filter.js'
import type {DlqReader, PageBefore, PageBeforeRequest} from '../../core/reader.js'
import type {DecodedRecord} from '../../core/record.js'

export interface StepBack {
  /** The last matches of the stretch, in log order. */
  records: DecodedRecord[]
  /** A forward page from here with limit = records.length reads these records again. */
  from: string
  /** The stretch began at record 0 and every match in it was kept: nothing comes before. */
  reachedStart: boolean
  scanned: number
}

/**
 * File positions are record numbers, so the records before one are found by reading the
 * stretch [before - span, before) forward and keeping its last `limit` matches: memory stays
 * at one page however long the stretch is. `keep` may shrink each record as it is kept (the
 * TUI keeps payload previews only).
 */
export async function stepBack(
  reader: DlqReader,
  req: {before: number; span: number; limit: number; filter: RecordFilter; signal?: AbortSignal; keep?: (r: DecodedRecord) => DecodedRecord},
): Promise<StepBack> {
  const start = Math.max(0, req.before - req.span)
  const kept: DecodedRecord[] = []
  let more = false
  let scanned = 0
  for await (const r of reader.scan({from: String(start), filter: req.filter, signal: req.signal})) {
    if (Number(r.position) >= req.before) break
    scanned++
    kept.push(req.keep ? req.keep(r) : r)
    if (kept.length > req.limit) {
      kept.shift()
      more = true
    }
  }
  // Reloading from the first kept record with limit = kept.length gives exactly these again.
  const from = more && kept.length > 0 ? kept[0].position : String(start)
  return {records: kept, from, reachedStart: start === 0 && !more, scanned}
}

/** pageBefore for files: steps back from `before` (null = the end), widening while a filter finds too little. */
export async function filePageBefore(reader: DlqReader, req: PageBeforeRequest): Promise<PageBefore> {
  let end = req.before === null ? ((await reader.bounds()).count ?? 0) : Number(reader.parsePosition(req.before))
  const records: DecodedRecord[] = []
  let span = req.limit
  let scanned = 0
  let atStart = end === 0
  while (records.length < req.limit && end > 0) {
    if (req.signal?.aborted) return {records: [], from: req.before, atStart: false, scanned}
    const step = await stepBack(reader, {before: end, span, limit: req.limit - records.length, filter: req.filter, signal: req.signal})
    records.unshift(...step.records)
    scanned += step.scanned
    if (step.reachedStart) {
      atStart = true
      break
    }
    end = Number(step.from)
    span = step.records.length === 0 ? span * 4 : span * 2
  }
  return {records, from: atStart ? null : (records[0]?.position ?? req.before), atStart, scanned}
}
