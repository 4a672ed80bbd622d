import {parseExpression, type RecordFilter} from '../filter.js'
import type {DecodedRecord} from '../record.js'
import type {DlqReader, FollowRequest, LastOfEachRequest, Page, PageBefore, PageBeforeRequest, PageRequest, ScanRequest} from '../reader.js'
import type {ParallelStats} from '../stats.js'
import type {SchemaDecoder} from './decoder.js'

/** Whether a filter looks at the payload (so it must see decoded values). */
export function filterReadsPayload(filter: RecordFilter): boolean {
  if (filter.spec.grep !== undefined) return true
  return (filter.spec.filters ?? []).some((e) => /^\s*payload(\.|\s*(!=|<=|>=|=|~|<|>))/.test(e))
}

/**
 * The top-level payload fields a filter reads, when it reads the payload only through
 * `payload.FIELD…` paths; undefined when it reads the whole payload (`payload OP …`, --grep).
 */
export function payloadFieldsRead(filter: RecordFilter): ReadonlySet<string> | undefined {
  if (filter.spec.grep !== undefined) return undefined
  const fields = new Set<string>()
  for (const expr of filter.spec.filters ?? []) {
    const {field} = parseExpression(expr)
    if (field === 'payload') return undefined
    if (field.startsWith('payload.')) fields.add(field.slice(8).split('.')[0])
  }
  return fields
}

/**
 * A reader whose records carry their decoded payload and key (DecodedRecord.decoded) beside the
 * raw bytes, which stay exactly as stored (replay sends those).
 *
 * Filters on the payload run inside the store's read loop, where nothing can wait for the
 * registry: there the record is decoded synchronously when its schema is loaded; a record whose
 * schema is not loaded yet passes as "maybe", its id is noted, and once the read returns the ids
 * are fetched together and the page is read again (schemas are few, so this happens about once
 * per schema and command). What still passed as "maybe" is then decoded and filtered for real.
 * The stores' raw-byte prefilters never see payload filters (they prefilter only fields that are
 * stored literally), so they cannot drop a record whose decoded value matches.
 */
export function withSchemaDecoding(
  inner: DlqReader & Partial<ParallelStats>,
  decoder: SchemaDecoder,
  /** false: `scan` decodes only what a payload filter needs (stats shows no payloads). */
  decodeEvery = true,
): DlqReader & Partial<ParallelStats> {
  const decodeAll = (records: DecodedRecord[]) => decoder.decodeAll(records)

  /** The filter the store runs: decodes what it can; `maybe` collects records it could not decide. */
  const tentative = (filter: RecordFilter, pending: Set<number>, maybe: WeakSet<DecodedRecord>): RecordFilter => ({
    ...filter,
    matches(rec) {
      const ids = decoder.tryDecode(rec)
      if (ids.length === 0) return filter.matches(rec)
      for (const id of ids) pending.add(id)
      maybe.add(rec)
      return true
    },
  })

  /** Reads with `read` until no schema is missing any more (a few rounds at most), then settles the rest. */
  async function settled<T extends {records: DecodedRecord[]}>(filter: RecordFilter, read: (f: RecordFilter) => Promise<T>): Promise<T> {
    if (!filterReadsPayload(filter)) {
      const result = await read(filter)
      await decodeAll(result.records)
      return result
    }
    let result!: T
    let maybe = new WeakSet<DecodedRecord>()
    for (let round = 0; round < 4; round++) {
      const pending = new Set<number>()
      maybe = new WeakSet()
      result = await read(tentative(filter, pending, maybe))
      if (pending.size === 0) return result
      await decoder.load(pending)
    }
    await decodeAll(result.records)
    return {...result, records: result.records.filter((r) => !maybe.has(r) || filter.matches(r))}
  }

  /** A stream of the store's records, decoded as they come; payload filters settled after decoding. */
  async function* decodedStream(filter: RecordFilter, read: (f: RecordFilter) => AsyncIterable<DecodedRecord>): AsyncIterable<DecodedRecord> {
    const reads = filterReadsPayload(filter)
    const pending = new Set<number>()
    const maybe = new WeakSet<DecodedRecord>()
    for await (const rec of read(reads ? tentative(filter, pending, maybe) : filter)) {
      if ((reads && !maybe.has(rec)) || (!reads && !decodeEvery)) {
        yield rec
        continue
      }
      const ids = decoder.tryDecode(rec)
      if (ids.length > 0) await decoder.decode(rec)
      if (reads && !filter.matches(rec)) continue
      yield rec
    }
  }

  const reader: DlqReader & Partial<ParallelStats> = {
    info: inner.info,
    warnings: inner.warnings,
    parsePosition: (text) => inner.parsePosition(text),
    bounds: () => inner.bounds(),
    page: (req: PageRequest): Promise<Page> => settled(req.filter, (filter) => inner.page({...req, filter})),
    scan: (req: ScanRequest): AsyncIterable<DecodedRecord> => decodedStream(req.filter, (filter) => inner.scan({...req, filter})),
    async get(positions) {
      const found = await inner.get(positions)
      await decodeAll([...found.values()])
      return found
    },
    close: () => inner.close(),
  }
  if (inner.pageBefore) {
    const before = inner.pageBefore.bind(inner)
    reader.pageBefore = (req: PageBeforeRequest): Promise<PageBefore> => settled(req.filter, (filter) => before({...req, filter}))
  }
  if (inner.lastOfEach) {
    const last = inner.lastOfEach.bind(inner)
    reader.lastOfEach = async (req: LastOfEachRequest): Promise<DecodedRecord[]> => (await settled(req.filter, async (filter) => ({records: await last({...req, filter})}))).records
  }
  if (inner.follow) {
    // tail: the backlog and what follows are decoded like a scan (a backlog record that a payload
    // filter rejects once decoded leaves the backlog one short).
    const follow = inner.follow.bind(inner)
    reader.follow = (req: FollowRequest) => decodedStream(req.filter, (filter) => follow({...req, filter}))
  }
  if (inner.parallelStats) {
    // Counts by reason, topic and convention do not depend on payloads: the store's parallel pass
    // serves unless a filter reads the payload (its worker threads have no registry).
    const parallel = inner.parallelStats.bind(inner)
    reader.parallelStats = (filter, signal) => (filterReadsPayload(filter) ? Promise.resolve(null) : parallel(filter, signal))
  }
  return reader
}
