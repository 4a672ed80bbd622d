import {decodeRaw} from '../../core/conventions/index.js'
import {DlqError, UnavailableError} from '../../core/errors.js'
import type {RecordFilter} from '../../core/filter.js'
import type {DlqReader, FollowRequest, LastOfEachRequest, LogBounds, Page, PageBefore, PageBeforeRequest, PageRequest, ScanRequest, SourceInfo} from '../../core/reader.js'
import {kafkaPageBefore, type KafkaBackwardPort} from './backward.js'
import type {DecodedRecord} from '../../core/record.js'
import {decodeRecordSet, RecordSetDecoder, recordSetNext, type DecodedRecordSet, type KafkaMessage} from './batches.js'
import {KafkaClient, STALE_LEADER, type FetchedPartition, type TopicLayout} from './client.js'
import {CorruptBatchError} from './codecs.js'
import {isConnectionLost} from '../../core/errors.js'
import {formatCursor, formatPosition, parseCursor, singlePosition, type Cursor} from './positions.js'
import {brokerText, parseKafkaUri} from './uri.js'
import {topicHint} from '../../core/conventions/topic-hint.js'
import {pause} from '../../core/time.js'
import {NewestMerge} from '../../core/tail.js'

/** A `get`'s fetches: the positions asked for are often close together. */
const GET_FETCH_BYTES = 1024 * 1024
/**
 * A page's first fetch asks for about this much per record wanted (DLQ records with a stack
 * trace in a header are a few KiB), from 64 KiB up to a scan's fetch: a page of 50 asks for 200 KiB,
 * not 1 MiB that the broker would send and the client buffer for 50 records. The broker
 * still sends at least the whole batch the page starts in; a page that needs more reads on
 * with full-size fetches.
 */
const PAGE_BYTES_PER_RECORD = 4096
const PAGE_FIRST_FETCH_MIN = 64 * 1024
/**
 * Later fetches of a page (a selective filter) and every fetch of a scan. Records are views
 * into their fetch's buffer, so larger fetches mostly pin more memory until a major GC: with
 * 1 MiB a 1M-record scan peaks at ~140-180 MB RSS, with 4 MiB at ~220 MB, at the same speed.
 */
const SCAN_FETCH_BYTES = 1024 * 1024

/** A follow's long poll: the broker holds a fetch this long when nothing is new (Ctrl-C waits at most this). */
const FOLLOW_WAIT_MS = 500
/** How often a follow that lost its connection tries again. */
const FOLLOW_RETRY_MS = 2000
/** How often a follow re-reads the topic's metadata, to pick up partitions added meanwhile and moved leaders. */
const FOLLOW_METADATA_MS = 3000

/** Partitions read at once for `tail -n`'s newest across partitions. */
const NEWEST_PARALLEL = 8

const OFFSET_OUT_OF_RANGE = 1

const ESCAPE = Buffer.from('\\u')
/** Fields whose `=` value a header-less record stores literally in its key or JSON value. */
const PREFILTER_FIELDS = new Set(['reason', 'source.topic', 'source.group', 'key'])

/**
 * Skips records that cannot match the filter's `=` needles without decoding them — for the
 * common hyperi-rustlib topic (JSON value, no headers, no key), where decoding is most of a
 * scan's time. A record WITH headers is always decoded: its metadata may be binary (Spring's
 * i32 partition) or derived (a reason taken from an exception header). Without headers, the
 * filterable text is the JSON value's own literal text (unless a `\u` escape hides it), the
 * key, or the source topic hinted by the DLQ topic's name — so the prefilter is off when a
 * needle occurs in that hint, and when any filter is on another field.
 */
class RecordPrefilter {
  private readonly needles: Buffer[]

  constructor(filter: RecordFilter, dlqTopic: string) {
    const hint = topicHint(dlqTopic) ?? ''
    const fields = (filter.spec.filters ?? []).map((e) => /^\s*([A-Za-z.]+)\s*(?:!=|<=|>=|=|~|<|>)/.exec(e)?.[1] ?? '')
    const usable = fields.every((f) => PREFILTER_FIELDS.has(f)) && filter.needles.every((n) => !hint.includes(n.toString('latin1')))
    this.needles = usable ? filter.needles : []
  }

  /** False only when the record certainly does not match. */
  candidate(m: KafkaMessage): boolean {
    if (this.needles.length === 0 || m.headers.length > 0 || m.value === null) return true
    const v = m.value
    for (const n of this.needles) {
      if (v.indexOf(n) < 0 && (m.key === null || m.key.indexOf(n) < 0)) return v.indexOf(ESCAPE) >= 0
    }
    return true
  }
}

/** One partition's part of a read: from `pos` (the next offset to look at) up to `end` (exclusive). */
interface Lane {
  partition: number
  pos: number
  end: number
  /** Set when the broker had nothing readable before `end` (so the page is at its end all the same). */
  dry?: boolean
}

/**
 * A Kafka topic as a DLQ (docs/kafka.md). Partitions are read one after the other in
 * ascending order; see positions.ts for positions and the cursor that `next` returns.
 */
export class KafkaReader implements DlqReader {
  readonly info: SourceInfo

  private constructor(
    private readonly client: KafkaClient,
    private readonly topic: string,
    private layout: TopicLayout,
    /** The partitions this source reads, ascending (all, or those of `?partition=`). */
    readonly readable: number[],
    display: string,
    /** The URI named its partitions (`?partition=`): a follow reads those only, never partitions added later. */
    private readonly chosen: boolean,
  ) {
    this.info = {kind: 'kafka', display, name: topic}
  }

  static async open(uri: string): Promise<KafkaReader> {
    const target = parseKafkaUri(uri, {needTopic: true})
    const topic = target.topic!
    const client = await KafkaClient.open(target, {topic})
    try {
      const layout = await client.layout(topic)
      const where = target.brokers.map(brokerText).join(',')
      if (!layout) throw new UnavailableError(`Kafka at ${where}: topic "${topic}" does not exist`)
      const all = Array.from({length: layout.partitions}, (_, i) => i)
      const readable = target.partitions ?? all
      const missing = readable.filter((p) => p >= layout.partitions)
      if (missing.length > 0) {
        throw new UnavailableError(`Kafka at ${where}: topic "${topic}" has ${layout.partitions} partition${layout.partitions === 1 ? '' : 's'} (0…${layout.partitions - 1}); partition ${missing.join(',')} does not exist`)
      }
      return new KafkaReader(client, topic, layout, readable, target.display, target.partitions !== undefined && target.partitions !== null)
    } catch (error) {
      await client.close().catch(() => {})
      throw client.fail(error, topic)
    }
  }

  parsePosition(text: string): string {
    return formatCursor(parseCursor(text, this.readable, this.topic))
  }

  async bounds(): Promise<LogBounds> {
    const [lo, hi] = await this.call(() => Promise.all([this.client.earliest(this.topic, this.layout, this.readable), this.client.latest(this.topic, this.layout, this.readable)]))
    const filled = this.readable.filter((p) => (hi.get(p) ?? 0) > (lo.get(p) ?? 0))
    const first = filled[0]
    const last = filled.at(-1)
    // Offsets give no exact count: compaction leaves gaps and transaction markers take offsets.
    return {
      first: first === undefined ? null : formatPosition(first, lo.get(first)!),
      last: last === undefined ? null : formatPosition(last, hi.get(last)! - 1),
      count: null,
    }
  }

  async page(req: PageRequest): Promise<Page> {
    const lanes = await this.plan(req.from ? parseCursor(req.from, this.readable, this.topic) : null, req.filter)
    const records: DecodedRecord[] = []
    let scanned = 0
    let bytes = Math.min(SCAN_FETCH_BYTES, Math.max(PAGE_FIRST_FETCH_MIN, req.limit * PAGE_BYTES_PER_RECORD))
    const pre = new RecordPrefilter(req.filter, this.topic)
    for (const lane of lanes) {
      while (lane.pos < lane.end && records.length < req.limit && !req.signal?.aborted) {
        const chunk = await this.fetchSet(lane, bytes)
        bytes = SCAN_FETCH_BYTES
        if (chunk === null) {
          lane.dry = true
          break
        }
        // Decoded only as far as the page needs: the records still wanted, then twice as many
        // each time a filter has passed over them all.
        let want = req.limit - records.length
        let any = false
        let ms = this.take(lane, chunk, want)
        takes: while (ms.length > 0) {
          any = true
          for (const m of ms) {
            if (m.offset >= lane.end) break takes
            scanned++
            lane.pos = m.offset + 1
            if (!pre.candidate(m)) continue
            const rec = this.decode(lane.partition, m)
            if (req.filter.matches(rec)) records.push(rec)
            if (records.length >= req.limit) break takes
          }
          ms = this.take(lane, chunk, (want *= 2))
        }
        // No message and no way forward: nothing readable below the end we planned with.
        if (!any && chunk.next <= chunk.fromOffset) {
          lane.dry = true
          break
        }
        // Past control batches, aborted transactions and compacted gaps at the end of the chunk.
        if (records.length < req.limit) lane.pos = Math.min(Math.max(lane.pos, chunk.next), lane.end)
      }
      if (records.length >= req.limit) break
    }
    const cursor: Cursor = new Map(lanes.map((l) => [l.partition, l.pos]))
    return {records, next: formatCursor(cursor), atEnd: lanes.every((l) => l.pos >= l.end || l.dry === true), scanned}
  }

  async *scan(req: ScanRequest): AsyncIterable<DecodedRecord> {
    const lanes = await this.plan(req.from ? parseCursor(req.from, this.readable, this.topic) : null, req.filter)
    const pre = new RecordPrefilter(req.filter, this.topic)
    for (const lane of lanes) {
      // The next fetch is sent before this one is decoded, so the broker's read and the
      // network overlap with our decoding.
      let pending: Promise<FetchedPartition> | null = lane.pos < lane.end ? this.fetchRaw(lane, lane.pos) : null
      while (pending !== null && !req.signal?.aborted) {
        const from = lane.pos
        const fp = await this.call(() => pending!)
        pending = null
        const chunk = await this.settle(lane, fp, from)
        if (chunk === null) break
        const next = chunk.records ? recordSetNext(chunk.records, from) : from
        if (next > from && next < lane.end) {
          pending = this.fetchRaw(lane, next)
          pending.catch(() => {})
        }
        const decoded = chunk.records ? this.decodeSet(lane.partition, chunk.records, from, chunk.aborted) : {messages: [], next: from}
        let done = false
        for (const m of decoded.messages) {
          if (m.offset >= lane.end) {
            done = true
            break
          }
          if (!pre.candidate(m)) continue
          const rec = this.decode(lane.partition, m)
          if (req.filter.matches(rec)) yield rec
        }
        if (done || next <= from) break
        lane.pos = next
      }
    }
  }

  async get(positions: string[]): Promise<Map<string, DecodedRecord>> {
    const wanted = positions.map((text) => singlePosition(parseCursor(text, this.readable, this.topic), text))
    const found = new Map<string, DecodedRecord>()
    if (wanted.length === 0) return found
    const partitions = [...new Set(wanted.map((w) => w.partition))].sort((a, b) => a - b)
    const [lo, hi] = await this.call(() => Promise.all([this.client.earliest(this.topic, this.layout, partitions), this.client.latest(this.topic, this.layout, partitions)]))
    for (const partition of partitions) {
      const offsets = [...new Set(wanted.filter((w) => w.partition === partition).map((w) => w.offset))].sort((a, b) => a - b)
      let chunk: {from: number; next: number; byOffset: Map<number, KafkaMessage>} | null = null
      for (const offset of offsets) {
        // Below the log start (deleted by retention) or not written yet: absent, never a neighbour.
        if (offset < lo.get(partition)! || offset >= hi.get(partition)!) continue
        if (chunk === null || offset < chunk.from || offset >= chunk.next) {
          const lane: Lane = {partition, pos: offset, end: hi.get(partition)!}
          const set = await this.read(lane, GET_FETCH_BYTES, {outOfRangeIsEnd: true})
          if (set === null) continue
          chunk = {from: offset, next: set.next, byOffset: new Map(set.messages.map((m) => [m.offset, m]))}
        }
        // A compacted-away offset, a transaction marker or aborted data has no message here.
        const m = chunk.byOffset.get(offset)
        if (m) found.set(formatPosition(partition, offset), this.decode(partition, m))
      }
    }
    return found
  }

  /** Backward paging lives in backward.ts, on this reader's plan, fetches and decoding. */
  pageBefore(req: PageBeforeRequest): Promise<PageBefore> {
    return kafkaPageBefore(this.backward((filter) => this.plan(null, filter)), req)
  }

  private backward(plan: KafkaBackwardPort['plan']): KafkaBackwardPort {
    return {
      readable: this.readable,
      parseCursor: (text) => parseCursor(text, this.readable, this.topic),
      plan,
      read: async (partition, offset, end, bytes) => {
        const lane: Lane = {partition, pos: offset, end}
        const set = await this.read(lane, bytes)
        return set && {start: lane.pos, messages: set.messages, next: set.next}
      },
      decode: (partition, m) => this.decode(partition, m),
    }
  }

  /** `tail -n`: the newest `limit` across the partitions (see DlqReader). */
  lastOfEach(req: LastOfEachRequest): Promise<DecodedRecord[]> {
    return this.newestBefore(null, req.limit, req.filter, req.signal)
  }

  /**
   * The newest `limit` matching records before `ends` (each partition's offset; null: each
   * one's end now) across the partitions: the last `limit` of each partition, read backward
   * on its own (one plan for all), merged by time.
   */
  private async newestBefore(ends: Cursor | null, limit: number, filter: RecordFilter, signal?: AbortSignal): Promise<DecodedRecord[]> {
    const merge = new NewestMerge(limit)
    if (limit === 0) return []
    const lanes = (await this.plan(null, filter)).flatMap((lane) => {
      const end = ends === null ? lane.end : ends.get(lane.partition)
      return end === undefined || end <= lane.pos ? [] : [{lane, end}]
    })
    // A few partitions at a time: their fetches overlap, and at most that many pages are held besides the merge.
    for (let i = 0; i < lanes.length && !signal?.aborted; i += NEWEST_PARALLEL) {
      const pages = await Promise.all(
        lanes.slice(i, i + NEWEST_PARALLEL).map(({lane, end}) => kafkaPageBefore(this.backward(async () => [lane]), {before: formatPosition(lane.partition, end), limit, filter, signal})),
      )
      for (const page of pages) merge.add(page.records)
    }
    return merge.records()
  }

  /**
   * `tail -f` on the topic: the end is each partition's last stable offset now; the backlog
   * is the newest records across the partitions before that cursor; then one long-poll fetch per leader at a time
   * (all its partitions in one request) from where each partition stands. Metadata is
   * re-read every few seconds: a partition added meanwhile is read from its start (all it
   * holds is new), a moved leader is found again.
   */
  identityOf(position: string): string | null {
    const prefix = identityPrefix(this.layout)
    return prefix === null ? null : prefix + position
  }

  async *follow(req: FollowRequest): AsyncIterable<DecodedRecord> {
    const parts = [...this.readable]
    const ends = await this.call(() => this.client.latest(this.topic, this.layout, parts))
    const cursor: Cursor = new Map(parts.map((p) => [p, ends.get(p) ?? 0]))
    req.onLive?.()
    // The newest `backlog` across the partitions before the snapshot; each partition is then followed from its snapshot offset.
    if (req.backlog > 0) yield* await this.newestBefore(cursor, req.backlog, req.filter, req.signal)
    const pre = new RecordPrefilter(req.filter, this.topic)
    let looked = Date.now()
    let stale = false
    /** When the connection was lost (a broker restarting, a network outage), while it is being retried. */
    let lostAt: number | null = null
    while (!req.signal.aborted) {
      let replies: Array<Map<number, FetchedPartition>>
      try {
        const byLeader = await this.followLeaders(parts, cursor, stale || Date.now() - looked >= FOLLOW_METADATA_MS)
        if (byLeader.looked) {
          looked = Date.now()
          stale = false
        }
        if (byLeader.stale) stale = true
        if (byLeader.leaders.size === 0) {
          await pause(FOLLOW_WAIT_MS, req.signal)
          continue
        }
        replies = await this.call(() => Promise.all([...byLeader.leaders].map(([leader, ps]) => this.client.fetchWaiting(this.topic, this.layout, leader, ps, SCAN_FETCH_BYTES, FOLLOW_WAIT_MS))))
      } catch (error) {
        // A lost connection is waited out (the cursor stays where it stood: nothing is missed or
        // printed twice); anything else — the topic deleted, credentials refused — ends the follow.
        if (!isConnectionLost(error) || req.signal.aborted) throw error
        if (lostAt === null) {
          lostAt = Date.now()
          req.onNotice?.(`${(error as Error).message}: retrying every ${FOLLOW_RETRY_MS / 1000} s (Ctrl-C to stop)`)
        }
        stale = true
        await pause(FOLLOW_RETRY_MS, req.signal)
        continue
      }
      if (lostAt !== null) {
        req.onNotice?.(`Kafka at ${this.client.target.brokers.map(brokerText).join(',')}: connected again after ${Math.round((Date.now() - lostAt) / 1000)} s; following on from where it stood`)
        lostAt = null
      }
      const fetched = new Map<number, FetchedPartition>()
      for (const r of replies) for (const [p, fp] of r) fetched.set(p, fp)
      for (const p of parts) {
        const fp = fetched.get(p)
        const from = cursor.get(p)!
        if (!fp) continue
        if (fp.errorCode === OFFSET_OUT_OF_RANGE) {
          // Retention removed what we stood on (a very slow reader): go on from the new log start.
          const lo = await this.call(() => this.client.earliest(this.topic, this.layout, [p]))
          cursor.set(p, Math.max(from, lo.get(p) ?? from))
          continue
        }
        if (STALE_LEADER.has(fp.errorCode)) {
          stale = true
          continue
        }
        if (fp.errorCode !== 0) throw this.client.fail(new this.client.lib.ProtocolError(fp.errorCode), this.topic)
        if (!fp.records) continue
        const set = this.decodeSet(p, fp.records, from, fp.aborted)
        for (const m of set.messages) {
          if (m.offset < from || !pre.candidate(m)) continue
          const rec = this.decode(p, m)
          if (req.filter.matches(rec)) yield rec
        }
        cursor.set(p, Math.max(from, set.next))
      }
    }
  }

  /**
   * A follow's next fetches, per leader: the metadata read again first when `look` (every few
   * seconds, or after a moved leader or a lost connection) — a partition added meanwhile is
   * read from its start (all it holds is new). `stale`: a partition has no leader yet.
   */
  private async followLeaders(parts: number[], cursor: Cursor, look: boolean): Promise<{leaders: Map<number, Array<{partition: number; offset: number}>>; looked: boolean; stale: boolean}> {
    if (look) {
      const layout = await this.call(() => this.client.layout(this.topic, true))
      if (layout === null) throw this.client.fail(new this.client.lib.ProtocolError(3), this.topic)
      this.layout = layout
      const added = this.chosen ? [] : Array.from({length: layout.partitions}, (_, i) => i).filter((p) => !cursor.has(p))
      if (added.length > 0) {
        const starts = await this.call(() => this.client.earliest(this.topic, this.layout, added))
        for (const p of added) {
          cursor.set(p, starts.get(p) ?? 0)
          parts.push(p)
        }
      }
    }
    const leaders = new Map<number, Array<{partition: number; offset: number}>>()
    let stale = false
    for (const p of parts) {
      const leader = this.layout.leaders[p]
      // A partition just created (or whose broker is down) has no leader yet: asked again after the next metadata look.
      if (leader === undefined || leader < 0) {
        stale = true
        continue
      }
      leaders.set(leader, [...(leaders.get(leader) ?? []), {partition: p, offset: cursor.get(p)!}])
    }
    return {leaders, looked: look, stale}
  }

  async close(): Promise<void> {
    await this.client.close()
  }

  private decode(partition: number, m: KafkaMessage): DecodedRecord {
    const rec = decodeRaw({position: formatPosition(partition, m.offset), key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp, dlqTopic: this.topic})
    // The topic id tells a topic deleted and recreated under the same name from the old one.
    const prefix = identityPrefix(this.layout)
    if (prefix !== null) rec.identity = prefix + rec.position
    return rec
  }

  private decodeSet(partition: number, records: Buffer, from: number, aborted: FetchedPartition['aborted']): DecodedRecordSet {
    try {
      return decodeRecordSet(records, from, aborted)
    } catch (error) {
      throw this.corrupt(error, partition, from)
    }
  }

  /** Maps every library or broker error to a dlq error naming this topic. */
  private async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f()
    } catch (error) {
      throw this.client.fail(error, this.topic)
    }
  }

  /**
   * Where each partition's read starts and ends: the cursor (or the log start), moved up to
   * `--since` with the broker's offset-for-timestamp lookup — never a scan. The end is the last
   * stable offset, so open transactions are not read past. `--until` does not cut the read: a
   * record's own time (a failure time, the original message's time) comes before the broker
   * stamped the DLQ record, by a retry's seconds or an outage's hours, so a record stamped
   * after --until may still be at or before it; the filter makes that cut, record by record.
   * (`--since` may cut: a record stamped before --since was made before it too.)
   */
  private async plan(from: Cursor | null, filter: RecordFilter): Promise<Lane[]> {
    const ps = this.readable
    const c = this.client
    const [lo, hi, since] = await this.call(() =>
      Promise.all([
        c.earliest(this.topic, this.layout, ps),
        c.latest(this.topic, this.layout, ps),
        filter.since === null ? null : c.listOffsets(this.topic, this.layout, ps, BigInt(filter.since)),
      ]),
    )
    const firstListed = from ? Math.min(...from.keys()) : null
    return ps.map((partition) => {
      const start = lo.get(partition) ?? 0
      const end0 = hi.get(partition) ?? 0
      let pos = start
      if (from) pos = from.has(partition) ? Math.max(start, from.get(partition)!) : partition < firstListed! ? end0 : start
      const s = since?.get(partition)
      if (s !== undefined) pos = Math.max(pos, s < 0 ? end0 : s)
      return {partition, pos, end: end0}
    })
  }

  private fetchRaw(lane: Lane, offset: number): Promise<FetchedPartition> {
    return this.client.fetch(this.topic, this.layout, lane.partition, offset, SCAN_FETCH_BYTES)
  }

  /**
   * Handles a partition-level error of a fetch: a leader move is retried after a metadata
   * refresh, until a leader answers (LEADER_ATTEMPTS, ~10 s); an offset that fell below the log start (retention ran while we
   * read) moves to the new start. Returns null when there is nothing (more) to read.
   */
  private async settle(lane: Lane, fp: FetchedPartition, from: number, opts: {outOfRangeIsEnd?: boolean; bytes?: number} = {}, retried = false): Promise<FetchedPartition | null> {
    if (fp.errorCode === 0) return fp
    if (retried) throw this.client.fail(new this.client.lib.ProtocolError(fp.errorCode), this.topic)
    if (fp.errorCode === OFFSET_OUT_OF_RANGE) {
      if (opts.outOfRangeIsEnd) return null
      const lo = await this.call(() => this.client.earliest(this.topic, this.layout, [lane.partition]))
      const start = lo.get(lane.partition) ?? from
      if (start <= from) return null
      lane.pos = start
      if (lane.pos >= lane.end) return null
      return this.settle(lane, await this.call(() => this.fetchRaw(lane, start)), start, opts, true)
    }
    if (STALE_LEADER.has(fp.errorCode)) {
      // The leader moved, or has not taken the partition yet: asked again where the metadata says, until one answers.
      const again = await this.call(() => this.client.refetch(this.topic, this.layout, lane.partition, from, opts.bytes ?? SCAN_FETCH_BYTES))
      this.layout = again.layout
      return this.settle(lane, again.fp, from, opts, true)
    }
    throw this.client.fail(new this.client.lib.ProtocolError(fp.errorCode), this.topic)
  }

  /** One fetch at `lane.pos`, decoded; null when the partition has nothing more to give. */
  private async read(lane: Lane, bytes: number, opts: {outOfRangeIsEnd?: boolean} = {}): Promise<DecodedRecordSet | null> {
    const chunk = await this.fetchSet(lane, bytes, opts)
    if (chunk === null) return null
    const messages = this.take(lane, chunk, Number.POSITIVE_INFINITY)
    // No message and no way forward: nothing readable below the end we planned with.
    if (messages.length === 0 && chunk.next <= chunk.fromOffset) return null
    return {messages, next: chunk.next}
  }

  /** One fetch at `lane.pos`, to be decoded as far as needed; null when the partition has nothing more to give. */
  private async fetchSet(lane: Lane, bytes: number, opts: {outOfRangeIsEnd?: boolean} = {}): Promise<RecordSetDecoder | null> {
    const from = lane.pos
    const raw = await this.call(() => this.client.fetch(this.topic, this.layout, lane.partition, from, bytes))
    const fp = await this.settle(lane, raw, from, {...opts, bytes})
    if (fp === null || !fp.records) return null
    return new RecordSetDecoder(fp.records, lane.pos, fp.aborted)
  }

  private take(lane: Lane, chunk: RecordSetDecoder, n: number): KafkaMessage[] {
    try {
      return chunk.take(n)
    } catch (error) {
      throw this.corrupt(error, lane.partition, chunk.fromOffset)
    }
  }

  private corrupt(error: unknown, partition: number, from: number): unknown {
    return error instanceof CorruptBatchError ? new DlqError(`${this.topic} partition ${partition} near offset ${from}: unreadable record batch: ${error.message}`) : error
  }
}

const identityPrefixes = new WeakMap<TopicLayout, string | null>()

/**
 * `kafka:<topic id>:` for the records of a layout, worked out once per layout (it changes only
 * when metadata is read again), not per record; null for a broker without topic ids (all zero).
 */
function identityPrefix(layout: TopicLayout): string | null {
  let prefix = identityPrefixes.get(layout)
  if (prefix === undefined) {
    prefix = layout.id && !/^0+(-0+)*$/.test(layout.id) ? `kafka:${layout.id}:` : null
    identityPrefixes.set(layout, prefix)
  }
  return prefix
}
