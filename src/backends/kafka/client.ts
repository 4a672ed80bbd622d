import {isIP} from 'node:net'
import {DlqError, UnavailableError} from '../../core/errors.js'
import type {AbortedTransaction} from './batches.js'
import {clientOptions, describeError, loadKafka, phase, resolveSettings, type KafkaBase, type KafkaConnection, type KafkaLib, type ResolvedSettings} from './connection.js'
import {brokerText, type KafkaTarget} from './uri.js'

/**
 * Group-less access to one topic: Metadata, ListOffsets and Fetch sent straight to each
 * partition's leader over @platformatic/kafka's connections (which do SASL and TLS).
 * Nothing here joins a consumer group, commits an offset or opens a fetch session, so
 * reading leaves no trace on the cluster.
 */
export const READ_COMMITTED = 1
export const READ_UNCOMMITTED = 0

/** Fetch v12 names topics, v13+ use topic ids; the library has request writers for 12–17. */
const FETCH_VERSIONS = [17, 16, 15, 14, 13, 12] as const
const LIST_OFFSETS_VERSIONS = [9, 8, 7, 6, 5] as const
const EARLIEST = -2n
const LATEST = -1n
/**
 * Attempts of a request refused because the partition's leader is not (yet) serving it — a
 * ListOffsets, a Fetch of a small log — each after `leaderWait` (about 10 s in all).
 */
const LEADER_ATTEMPTS = 14
/** The wait before attempt `attempt + 1`: 100 ms longer each time. */
const leaderWait = (attempt: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100 * attempt))
/**
 * Fetch partition errors after which the metadata is read again and the fetch sent again:
 * not the leader, no leader, fenced or unknown leader epoch, unknown partition or topic id
 * (a topic just created, a leader moved).
 */
export const STALE_LEADER = new Set([3, 5, 6, 74, 75, 100])
/**
 * ListOffsets partition errors after which the request is sent again, to the leader the
 * metadata names when read again: those of STALE_LEADER (a topic just created: a tenth of new
 * topics answer NOT_LEADER_OR_FOLLOWER for a moment on Kafka 4.1, after the metadata already
 * names the leader), and a new leader without a high watermark yet (OFFSET_NOT_AVAILABLE).
 */
const LIST_RETRIABLE = new Set([...STALE_LEADER, 78])

export interface TopicLayout {
  id: string
  partitions: number
  leaders: number[]
}

export interface FetchedPartition {
  errorCode: number
  highWatermark: number
  lastStableOffset: number
  logStartOffset: number
  aborted: AbortedTransaction[]
  records: Buffer | null
}

type ApiFn<A extends unknown[], R> = {async: (connection: KafkaConnection, ...args: A) => Promise<R>}
type FetchArgs = [number, number, number, number, number, number, Array<{topicId: string; partitions: unknown[]}>, unknown[], string]
type ListOffsetsResponse = {topics: Array<{partitions: Array<{partitionIndex: number; errorCode: number; offset: bigint}>}>}
type ListOffsetsArgs = [number, number, Array<{name: string; partitions: Array<{partitionIndex: number; currentLeaderEpoch: number; timestamp: bigint}>}>]

export class Bytes {
  constructor(
    readonly b: Buffer,
    public p = 0,
  ) {}

  i16(): number {
    const v = this.b.readInt16BE(this.p)
    this.p += 2
    return v
  }

  i32(): number {
    const v = this.b.readInt32BE(this.p)
    this.p += 4
    return v
  }

  i64(): bigint {
    const v = this.b.readBigInt64BE(this.p)
    this.p += 8
    return v
  }

  uvarint(): number {
    let r = 0
    for (let shift = 0; ; shift += 7) {
      if (shift > 28) throw new DlqError('Kafka response: bad varint')
      const byte = this.b[this.p++]
      r += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) return r
    }
  }

  skipTags(): void {
    const n = this.uvarint()
    for (let i = 0; i < n; i++) {
      this.uvarint()
      // Not `this.p += this.uvarint()`: that adds to the position from before the size was read.
      const size = this.uvarint()
      this.p += size
    }
  }
}

/**
 * Fetch responses (v12–v17) read to raw record sets: the library's own parser would
 * decompress every batch with its codecs (see codecs.ts for why we do not want that) and
 * throw away a whole response for one partition's error.
 */
function parseFetch(_correlationId: number, _apiKey: number, apiVersion: number, reader: {buffer: {slice(s: number, e: number): Buffer; length: number}; position: number}) {
  const r = new Bytes(reader.buffer.slice(reader.position, reader.buffer.length))
  r.i32() // throttle
  const errorCode = r.i16()
  r.i32() // session id
  const partitions = new Map<number, FetchedPartition>()
  const topics = r.uvarint() - 1
  for (let t = 0; t < topics; t++) {
    if (apiVersion >= 13) r.p += 16
    else r.p += r.uvarint() - 1
    const n = r.uvarint() - 1
    for (let i = 0; i < n; i++) {
      const partition = r.i32()
      const fp: FetchedPartition = {
        errorCode: r.i16(),
        highWatermark: Number(r.i64()),
        lastStableOffset: Number(r.i64()),
        logStartOffset: Number(r.i64()),
        aborted: [],
        records: null,
      }
      const aborted = r.uvarint() - 1
      for (let a = 0; a < aborted; a++) {
        fp.aborted.push({producerId: r.i64(), firstOffset: Number(r.i64())})
        r.skipTags()
      }
      r.i32() // preferred read replica
      const size = r.uvarint() - 1
      if (size > 0) {
        fp.records = r.b.subarray(r.p, r.p + size)
        r.p += size
      }
      r.skipTags()
      partitions.set(partition, fp)
    }
    r.skipTags()
  }
  return {errorCode, partitions}
}

type ApiVersionsList = Awaited<ReturnType<KafkaBase['listApis']>>
type BaseClass = new (options: ConstructorParameters<KafkaLib['Base']>[0]) => KafkaBase
let baseClass: BaseClass | undefined

/**
 * The library's Base, asking the broker for its API versions once: the library does not keep
 * the answer of `listApis()`, so its first metadata request would send ApiVersions again.
 */
function onceApisBase(lib: KafkaLib): BaseClass {
  if (baseClass) return baseClass
  const kListApis: typeof lib.kListApis = lib.kListApis
  class OnceApisBase extends lib.Base {
    #apis: ApiVersionsList | undefined

    override [kListApis](callback: (error: Error | null, apis?: ApiVersionsList) => void): void {
      if (this.#apis) return callback(null, this.#apis)
      super[kListApis]((error, apis) => {
        if (!error) this.#apis = apis
        callback(error, apis)
      })
    }
  }
  baseClass = OnceApisBase
  return OnceApisBase
}

export class KafkaClient {
  private readonly connections = new Map<number, Promise<KafkaConnection>>()
  private layoutCache = new Map<string, TopicLayout>()
  /** Metadata asked for at open, beside ApiVersions (see `open`), taken by the first `layout`. */
  private readonly early = new Map<string, ReturnType<KafkaBase['metadata']>>()

  private constructor(
    readonly lib: KafkaLib,
    readonly base: KafkaBase,
    readonly target: KafkaTarget,
    readonly settings: ResolvedSettings,
    private readonly fetchApi: ApiFn<FetchArgs, ReturnType<typeof parseFetch>>,
    private readonly fetchVersion: number,
    private readonly listOffsetsApi: ApiFn<ListOffsetsArgs, ListOffsetsResponse>,
    /** The broker's supported version range per API key (from ApiVersions at open). */
    readonly apiVersions: ReadonlyMap<number, {minVersion: number; maxVersion: number}>,
  ) {}

  /**
   * `topic`: the topic the caller reads first. Its metadata is asked for at once, so the
   * library sends the Metadata request as soon as the ApiVersions answer is in (it waits for
   * that to pick a version), not after this method has returned.
   */
  static async open(target: KafkaTarget, opts: {topic?: string} = {}): Promise<KafkaClient> {
    const settings = resolveSettings(target)
    const lib = await loadKafka()
    const base = new (onceApisBase(lib))(clientOptions(target, settings))
    phase('client-created')
    // Started after listApis: its ApiVersions request is the one the metadata call waits for.
    const apisAsked = base.listApis()
    const early = opts.topic === undefined ? null : base.metadata({topics: [opts.topic]})
    // Taken by layout(); a failure is reported there (or by listApis, when the broker is not reached).
    early?.catch(() => {})
    try {
      const apis = await apisAsked
      phase('connected+api-versions')
      const range = (key: number) => apis.find((a) => a.apiKey === key)
      const fetchRange = range(1)
      const listRange = range(2)
      const fetchVersion = FETCH_VERSIONS.find((v) => fetchRange && v >= fetchRange.minVersion && v <= fetchRange.maxVersion)
      const listVersion = LIST_OFFSETS_VERSIONS.find((v) => listRange && v >= listRange.minVersion && v <= listRange.maxVersion)
      if (fetchVersion === undefined || listVersion === undefined) {
        throw new UnavailableError(`Kafka at ${target.brokers.map(brokerText).join(',')}: the broker is too old (dlq needs Kafka 3.1 or later: Fetch v12+, ListOffsets v5+)`)
      }
      const writer = (lib as unknown as Record<string, {createRequest: (...a: unknown[]) => unknown}>)[`fetchV${fetchVersion}`].createRequest
      const fetchApi = lib.createAPI(1, fetchVersion, writer as never, parseFetch as never) as unknown as ApiFn<FetchArgs, ReturnType<typeof parseFetch>>
      const listOffsetsApi = (lib as unknown as Record<string, {api: unknown}>)[`listOffsetsV${listVersion}`].api as ApiFn<ListOffsetsArgs, ListOffsetsResponse>
      const apiVersions = new Map(apis.map((a) => [a.apiKey, {minVersion: a.minVersion, maxVersion: a.maxVersion}]))
      const client = new KafkaClient(lib, base, target, settings, fetchApi, fetchVersion, listOffsetsApi, apiVersions)
      if (early !== null) client.early.set(opts.topic!, early)
      return client
    } catch (error) {
      await base.close().catch(() => {})
      throw describeError(error, {target, settings})
    }
  }

  fail(error: unknown, topic?: string | null): DlqError {
    return describeError(error, {target: this.target, settings: this.settings, topic})
  }

  /** Partitions and leaders of a topic; `null` when the topic does not exist. */
  async layout(topic: string, refresh = false): Promise<TopicLayout | null> {
    const cached = this.layoutCache.get(topic)
    if (cached && !refresh) return cached
    const early = this.early.get(topic)
    this.early.delete(topic)
    let md
    try {
      md = await (refresh || early === undefined ? this.base.metadata({topics: [topic], forceUpdate: refresh}) : early)
    } catch (error) {
      const e = this.fail(error, topic)
      if (e instanceof UnavailableError && e.message.endsWith('does not exist')) return null
      throw e
    }
    phase('metadata')
    const t = md.topics.get(topic)
    if (!t) return null
    const layout: TopicLayout = {id: t.id, partitions: t.partitionsCount, leaders: t.partitions.map((p) => p.leader)}
    this.layoutCache.set(topic, layout)
    return layout
  }

  /**
   * The layout read again, and again while it names no leader for one of `partitions` (a
   * topic created a moment ago, a failover under way), as long as ListOffsets would wait: the
   * last one read (a send to a partition still without a leader then fails as not sent), or
   * null when the topic is gone.
   */
  async withLeaders(topic: string, partitions: Iterable<number>): Promise<TopicLayout | null> {
    const wanted = [...partitions]
    let current = await this.layout(topic, true)
    for (let attempt = 1; current !== null && wanted.some((p) => (current!.leaders[p] ?? -1) < 0) && attempt < LEADER_ATTEMPTS; attempt++) {
      await leaderWait(attempt)
      current = await this.layout(topic, true)
    }
    return current
  }

  /**
   * A Fetch of one partition again, after one answered with a STALE_LEADER error: the layout is
   * read again (`withLeaders`: waiting while it names no leader for `partition`) and the fetch
   * sent to the leader it names, again after `leaderWait` while the answer is still one of
   * those, up to LEADER_ATTEMPTS. The last answer, and the layout it came from. A topic deleted
   * and made again meanwhile is another log, whose offsets must not be read as this one's: it
   * fails as unknown, as one gone does.
   */
  async refetch(topic: string, layout: TopicLayout, partition: number, offset: number, maxBytes: number, isolation = READ_COMMITTED): Promise<{fp: FetchedPartition; layout: TopicLayout}> {
    for (let attempt = 1; ; attempt++) {
      const fresh = await this.withLeaders(topic, [partition])
      if (fresh === null || fresh.id !== layout.id) throw new this.lib.ProtocolError(3)
      layout = fresh
      const fp = await this.fetch(topic, layout, partition, offset, maxBytes, isolation)
      if (!STALE_LEADER.has(fp.errorCode) || attempt >= LEADER_ATTEMPTS) return {fp, layout}
      await leaderWait(attempt)
    }
  }

  /** The newest of `versions` (highest first) the broker supports for `apiKey`, if any. */
  pickVersion(apiKey: number, versions: readonly number[]): number | undefined {
    const r = this.apiVersions.get(apiKey)
    return versions.find((v) => r !== undefined && v >= r.minVersion && v <= r.maxVersion)
  }

  /** The one connection to a broker, shared by reads and the sink's produce requests. */
  connection(nodeId: number): Promise<KafkaConnection> {
    let c = this.connections.get(nodeId)
    if (!c) {
      const broker = this.base.currentMetadata?.brokers.get(nodeId)
      if (!broker || nodeId < 0) return Promise.reject(new UnavailableError(`Kafka at ${this.target.brokers.map(brokerText).join(',')}: no leader for a partition (broker ${nodeId} unknown)`))
      const made = this.sameEndpoint(broker) ?? this.base.connections.get({host: broker.host, port: broker.port})
      c = made
      // A failed connection must be retried next time, not remembered; nor one closed since
      // (a broker restarted, or its idle reaper at connections.max.idle.ms): the next request
      // opens a new one instead of failing on the closed one.
      made.then(
        (conn) => (conn as unknown as {once(event: 'close', fn: () => void): void}).once('close', () => this.connections.get(nodeId) === made && this.connections.delete(nodeId)),
        () => this.connections.delete(nodeId),
      )
      this.connections.set(nodeId, c)
    }
    return c
  }

  /**
   * An open connection (the bootstrap one) that already reaches `broker`: the library keys
   * connections by host:port as written, so a bootstrap `localhost:9092` and a leader
   * advertised as `127.0.0.1:9092` would be two connections to one broker, each with its own
   * TCP, TLS and SASL set-up. Only an advertised IP address is compared (with the address the
   * socket is connected to): one IP and port is one broker.
   */
  private sameEndpoint(broker: {host: string; port: number}): Promise<KafkaConnection> | undefined {
    if (isIP(broker.host) === 0) return undefined
    for (const [, conn] of this.base.connections) {
      const socket = conn.socket as {remoteAddress?: string; remotePort?: number} | undefined
      if (conn.isConnected() && socket?.remoteAddress === broker.host && socket.remotePort === broker.port) return Promise.resolve(conn)
    }
    return undefined
  }

  /**
   * One ListOffsets per leader: `timestamp` -2 = log start, -1 = last stable offset (the end a
   * read_committed reader sees), else the first offset whose timestamp is at or after it
   * (-1 in the result when there is none).
   */
  async listOffsets(topic: string, layout: TopicLayout, partitions: number[], timestamp: bigint, isolation = READ_COMMITTED): Promise<Map<number, number>> {
    const out = new Map<number, number>()
    let todo = partitions
    for (let attempt = 1; ; attempt++) {
      const byLeader = new Map<number, number[]>()
      for (const p of todo) {
        const leader = layout.leaders[p] ?? -1
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), p])
      }
      const again: number[] = []
      let why: unknown = null
      await Promise.all(
        [...byLeader].map(async ([leader, ps]) => {
          try {
            if (leader < 0) throw new this.lib.ProtocolError(5)
            const conn = await this.connection(leader)
            const res = await this.listOffsetsApi.async(conn, -1, isolation, [
              {name: topic, partitions: ps.map((p) => ({partitionIndex: p, currentLeaderEpoch: -1, timestamp}))},
            ])
            for (const t of res.topics) for (const p of t.partitions) out.set(p.partitionIndex, Number(p.offset))
          } catch (error) {
            if (!listRetriable(error)) throw error
            again.push(...ps)
            why = error
          }
        }),
      )
      if (again.length === 0) break
      if (attempt >= LEADER_ATTEMPTS) throw why
      await leaderWait(attempt)
      const fresh = await this.layout(topic, true)
      // Gone, or deleted and made again meanwhile (another log: offsets of the two must not mix).
      if (fresh === null || fresh.id !== layout.id) throw why
      layout = fresh
      todo = again
    }
    phase(`list-offsets(${timestamp})`)
    return out
  }

  earliest(topic: string, layout: TopicLayout, partitions: number[]) {
    return this.listOffsets(topic, layout, partitions, EARLIEST)
  }

  latest(topic: string, layout: TopicLayout, partitions: number[]) {
    return this.listOffsets(topic, layout, partitions, LATEST)
  }

  /** The high watermarks: the end of what is written, open transactions' records included. */
  highWatermarks(topic: string, layout: TopicLayout, partitions: number[]) {
    return this.listOffsets(topic, layout, partitions, LATEST, READ_UNCOMMITTED)
  }

  /** One Fetch of one partition from its leader, without a fetch session (epoch -1). */
  async fetch(topic: string, layout: TopicLayout, partition: number, offset: number, maxBytes: number, isolation = READ_COMMITTED): Promise<FetchedPartition> {
    const conn = await this.connection(layout.leaders[partition])
    const res = await this.fetchApi.async(conn, 0, 1, maxBytes, isolation, 0, -1, [
      {
        topicId: this.fetchVersion >= 13 ? layout.id : topic,
        partitions: [{partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, partitionMaxBytes: maxBytes}],
      },
    ], [], '')
    phase(`fetch(${partition}:${offset})`)
    if (res.errorCode !== 0) throw new this.lib.ProtocolError(res.errorCode)
    const fp = res.partitions.get(partition)
    if (!fp) throw new DlqError(`Kafka Fetch response for ${topic}:${partition} is missing that partition`)
    return fp
  }

  /**
   * One long-poll Fetch of several partitions led by `leader`: the broker answers as soon as
   * one of them has a record, or after `maxWaitMs` with none. Partition errors are returned,
   * not thrown, so one moved partition does not hide the others' records.
   */
  async fetchWaiting(topic: string, layout: TopicLayout, leader: number, partitions: Array<{partition: number; offset: number}>, maxBytes: number, maxWaitMs: number): Promise<Map<number, FetchedPartition>> {
    const conn = await this.connection(leader)
    const res = await this.fetchApi.async(conn, maxWaitMs, 1, maxBytes * partitions.length, READ_COMMITTED, 0, -1, [
      {
        topicId: this.fetchVersion >= 13 ? layout.id : topic,
        partitions: partitions.map((p) => ({partition: p.partition, currentLeaderEpoch: -1, fetchOffset: BigInt(p.offset), lastFetchedEpoch: -1, partitionMaxBytes: maxBytes})),
      },
    ], [], '')
    phase(`fetch-wait(${partitions.map((p) => `${p.partition}:${p.offset}`).join(',')})`)
    if (res.errorCode !== 0) throw new this.lib.ProtocolError(res.errorCode)
    return res.partitions
  }

  async close(): Promise<void> {
    this.connections.clear()
    await this.base.close()
  }
}

/** Whether a ListOffsets failed only on partition errors that a later attempt may not get. */
function listRetriable(error: unknown): boolean {
  const code = (e: unknown) => (e as {apiCode?: unknown}).apiCode
  const nested = (error as {errors?: unknown[]}).errors
  const all = Array.isArray(nested) && nested.length > 0 ? nested : [error]
  return all.every((e) => typeof code(e) === 'number' && LIST_RETRIABLE.has(code(e) as number))
}
