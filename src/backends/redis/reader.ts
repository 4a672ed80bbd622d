import type {RecordFilter} from '../../core/filter.js'
import type {DecodedRecord} from '../../core/record.js'
import type {DlqReader, FollowRequest, LogBounds, Page, PageBefore, PageBeforeRequest, PageRequest, ScanRequest, SourceInfo} from '../../core/reader.js'
import {redisPageBefore} from './backward.js'
import {isConnectionLost} from '../../core/errors.js'
import {connect, where, type RedisConnection} from './connection.js'
import {pause} from '../../core/time.js'
import {compareIds, idAfter, parsePosition, sinceId} from './ids.js'
import {decodeEntry, type EntryFields} from './layouts.js'
import {applyDelivery, type Delivery, PendingCounts} from './pending.js'
import {EntryPrefilter} from './prefilter.js'

type Entry = [Buffer, EntryFields]

/** Entries per XRANGE while a filter keeps rejecting (page) and while streaming (scan). */
const MAX_PAGE_BATCH = 1000
const SCAN_BATCH = 1000
/**
 * `XREAD BLOCK` waits at most this long per call (well under the connection's command
 * timeout); Ctrl-C does not wait for it: the follow connection is dropped at once.
 */
const FOLLOW_BLOCK_MS = 1000
const FOLLOW_BATCH = 1000
/** How often a follow that lost its connection tries again. */
const FOLLOW_RETRY_MS = 2000

/**
 * A Redis stream read with XRANGE only: no consumer group is joined and nothing is written.
 * Position = entry id. A page is one `XRANGE start end COUNT limit+1` (the extra entry only
 * tells whether the stream goes on); only when a filter rejects entries does it read on,
 * in growing batches. --since narrows the id range itself (see ids.ts, sinceId),
 * so a time-bounded read never starts at the beginning of the stream.
 */
export class RedisReader implements DlqReader {
  readonly info: SourceInfo
  private readonly key: Buffer
  private readonly stream: string

  constructor(
    private readonly conn: RedisConnection,
    private readonly pending: PendingCounts,
  ) {
    this.key = conn.target.key!
    this.stream = this.key.toString('utf8')
    this.info = {kind: 'redis', display: conn.target.display, name: this.stream}
  }

  parsePosition(text: string): string {
    return parsePosition(text)
  }

  async bounds(): Promise<LogBounds> {
    const pipe = this.conn.client.pipeline().xlen(this.key).xrangeBuffer(this.key, '-', '+', 'COUNT', 1).xrevrangeBuffer(this.key, '+', '-', 'COUNT', 1)
    const [len, first, last] = (await this.call(pipe.exec())) as Array<[Error | null, unknown]>
    for (const [error] of [len, first, last]) if (error) throw this.conn.fail(error)
    const idOf = (r: unknown) => ((r as Entry[])[0]?.[0].toString('latin1') ?? null)
    return {first: idOf(first[1]), last: idOf(last[1]), count: Number(len[1])}
  }

  async page(req: PageRequest): Promise<Page> {
    const from = req.from ? parsePosition(req.from) : null
    const {start: rangeStart, end} = this.range(from, req.filter)
    const records: DecodedRecord[] = []
    let scanned = 0
    let last: string | null = null
    let start: string | null = rangeStart
    let count = req.limit + 1
    // Nothing read: the next page starts where this one did (the range start: an empty or
    // trimmed stream's next page is its first entry to come).
    const after = () => (last === null ? (from ?? rangeStart) : idAfter(last))
    const pre = this.prefilter(req.filter)

    while (start !== null) {
      if (req.signal?.aborted) return {records, next: after(), atEnd: false, scanned}
      const entries = await this.fetch(start, end, count)
      const deliveries = await this.deliveries(entries)
      for (const entry of entries) {
        // The page is full and the stream goes on: this entry is where the next page starts.
        if (records.length === req.limit) return {records, next: after(), atEnd: false, scanned}
        scanned++
        last = entry[0].toString('latin1')
        if (!pre.candidate(entry[1])) continue
        const rec = this.decode(entry, deliveries)
        if (req.filter.matches(rec)) records.push(rec)
      }
      // Fewer than asked: the stream (from its --since bound) is exhausted.
      if (entries.length < count) return {records, next: after(), atEnd: true, scanned}
      if (records.length === req.limit) return {records, next: after(), atEnd: false, scanned}
      start = idAfter(last!)
      count = Math.min(count * 2, Math.max(MAX_PAGE_BATCH, req.limit + 1))
    }
    return {records, next: after(), atEnd: true, scanned}
  }

  async *scan(req: ScanRequest): AsyncIterable<DecodedRecord> {
    const from = req.from ? parsePosition(req.from) : null
    const {start, end} = this.range(from, req.filter)
    const pre = this.prefilter(req.filter)
    let pending: Promise<Entry[]> | null = this.fetch(start, end, SCAN_BATCH)
    while (pending !== null) {
      const entries: Entry[] = await pending
      // Ask for the next batch before decoding this one, so Redis works while we decode.
      const nextStart = entries.length === SCAN_BATCH ? idAfter(entries[entries.length - 1][0].toString('latin1')) : null
      pending = nextStart === null || req.signal?.aborted ? null : this.fetch(nextStart, end, SCAN_BATCH)
      // A prefetch nobody awaits (the consumer stopped early) must not become an unhandled rejection.
      pending?.catch(() => {})
      const deliveries = await this.deliveries(entries)
      for (const entry of entries) {
        if (req.signal?.aborted) return
        if (!pre.candidate(entry[1])) continue
        const rec = this.decode(entry, deliveries)
        if (req.filter.matches(rec)) yield rec
      }
    }
  }

  async get(positions: string[]): Promise<Map<string, DecodedRecord>> {
    const ids = [...new Set(positions.map((p) => parsePosition(p)))]
    const found = new Map<string, DecodedRecord>()
    if (ids.length === 0) return found
    const pipe = this.conn.client.pipeline()
    for (const id of ids) pipe.xrangeBuffer(this.key, id, id, 'COUNT', 1)
    const replies = (await this.call(pipe.exec())) as Array<[Error | null, unknown]>
    const entries: Entry[] = []
    for (const [error, reply] of replies) {
      if (error) throw this.conn.fail(error)
      const e = (reply as Entry[])[0]
      if (e) entries.push(e)
    }
    const deliveries = await this.pending.ids(entries.map((e) => e[0].toString('latin1')))
    for (const e of entries) {
      const rec = this.decode(e, deliveries)
      found.set(rec.position, rec)
    }
    return found
  }

  /** Backward paging (XREVRANGE) lives in backward.ts, on this reader's decoding and filters. */
  pageBefore(req: PageBeforeRequest): Promise<PageBefore> {
    return redisPageBefore(
      {
        fetchRev: (end, start, count) => this.call(this.conn.client.xrevrangeBuffer(this.key, end, start, 'COUNT', count) as unknown as Promise<Entry[]>),
        deliveries: (entries) => this.deliveries(entries),
        decode: (entry, deliveries) => this.decode(entry, deliveries),
        prefilter: (filter) => this.prefilter(filter),
        range: (filter) => this.range(null, filter),
      },
      req,
    )
  }

  /**
   * `tail -f` on the stream: the newest id now is the end; the backlog is read backward
   * before it, then `XREAD BLOCK` from it returns exactly the entries added after it, in id
   * order. The blocking read has a connection of its own (delivery counts are asked on it
   * too, between reads). A lost connection (the server restarting, a network outage) is said
   * on `onNotice` and opened again every FOLLOW_RETRY_MS, following on from the last id seen,
   * so nothing is missed or printed twice; anything else ends the follow.
   */
  async *follow(req: FollowRequest): AsyncIterable<DecodedRecord> {
    const newest = (await this.bounds()).last
    let last = newest ?? '0-0'
    req.onLive?.()
    if (req.backlog > 0 && newest !== null) {
      const page = await this.pageBefore({before: idAfter(newest), limit: req.backlog, filter: req.filter, signal: req.signal})
      yield* page.records
    }
    if (req.signal.aborted) return
    let blocking: RedisConnection | null = await connect(this.conn.target)
    // Ctrl-C does not wait for a blocked read: the connection is dropped at once.
    const drop = () => blocking?.client.disconnect()
    req.signal.addEventListener('abort', drop, {once: true})
    const pre = this.prefilter(req.filter)
    try {
      while (!req.signal.aborted) {
        let entries: Entry[]
        let deliveries: Map<string, Delivery> | null
        try {
          blocking ??= await this.reconnect(req)
          if (blocking === null) return
          const reply = (await blocking.client.xreadBuffer('COUNT', FOLLOW_BATCH, 'BLOCK', FOLLOW_BLOCK_MS, 'STREAMS', this.key, last)) as Array<[Buffer, Entry[]]> | null
          entries = reply?.[0]?.[1] ?? []
          deliveries = await this.deliveries(entries, this.pending.on(blocking))
        } catch (error) {
          if (req.signal.aborted) return
          const failed = blocking?.fail(error) ?? this.conn.fail(error)
          if (!isConnectionLost(failed)) throw failed
          req.onNotice?.(`${failed.message}: retrying every ${FOLLOW_RETRY_MS / 1000} s (Ctrl-C to stop)`)
          blocking?.client.disconnect()
          blocking = null
          continue
        }
        if (entries.length === 0) continue
        last = entries[entries.length - 1][0].toString('latin1')
        for (const entry of entries) {
          if (!pre.candidate(entry[1])) continue
          const rec = this.decode(entry, deliveries)
          if (req.filter.matches(rec)) yield rec
        }
      }
    } finally {
      req.signal.removeEventListener('abort', drop)
      await blocking?.close()
    }
  }

  /** Opens the follow's connection again, every FOLLOW_RETRY_MS until it answers; null once Ctrl-C is pressed. */
  private async reconnect(req: FollowRequest): Promise<RedisConnection | null> {
    const lostAt = Date.now()
    for (;;) {
      await pause(FOLLOW_RETRY_MS, req.signal)
      if (req.signal.aborted) return null
      try {
        const conn = await connect(this.conn.target)
        req.onNotice?.(`Redis at ${where(this.conn.target)}: connected again after ${Math.round((Date.now() - lostAt) / 1000)} s; following on from where it stood`)
        return conn
      } catch (error) {
        if (!isConnectionLost(error)) throw error
      }
    }
  }

  async close(): Promise<void> {
    await this.conn.close()
  }

  /** Where a read starts (the later of --from and --since's id) and ends (the stream's end: see sinceId). */
  private range(from: string | null, filter: RecordFilter): {start: string; end: string} {
    const since = sinceId(filter.since)
    const start = since !== null && compareIds(since, from ?? '0-0') > 0 ? since : (from ?? '0-0')
    return {start, end: '+'}
  }

  private prefilter(filter: RecordFilter): EntryPrefilter {
    return new EntryPrefilter(filter, this.stream, this.pending.groups.length > 0)
  }

  private fetch(start: string, end: string, count: number): Promise<Entry[]> {
    return this.call(this.conn.client.xrangeBuffer(this.key, start, end, 'COUNT', count) as unknown as Promise<Entry[]>)
  }

  private async deliveries(entries: Entry[], pending = this.pending): Promise<Map<string, Delivery> | null> {
    if (entries.length === 0 || pending.groups.length === 0) return null
    return pending.range(entries[0][0].toString('latin1'), entries[entries.length - 1][0].toString('latin1'), entries.length)
  }

  private decode([id, fields]: Entry, deliveries: Map<string, Delivery> | null): DecodedRecord {
    const rec = decodeEntry(id.toString('latin1'), fields, this.stream)
    applyDelivery(rec, deliveries)
    return rec
  }

  private async call<T>(p: Promise<T>): Promise<T> {
    try {
      return await p
    } catch (error) {
      throw this.conn.fail(error)
    }
  }
}
