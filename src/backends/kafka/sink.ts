import {DlqError, UnavailableError, UsageError} from '../../core/errors.js'
import type {SourceInfo} from '../../core/reader.js'
import {NotSentError, type DlqSink, type OutgoingMessage, type SentMessage, type TargetInfo} from '../../core/sink.js'
import {KafkaClient, type TopicLayout} from './client.js'
import {REQUEST_TIMEOUT_MS, type KafkaConnection, type KafkaLib} from './connection.js'
import {crc32cFor, encodeBatch, nextSequence, parseProduce, type PartitionAck} from './produce.js'
import {partitionForKey} from './murmur2.js'
import {brokerText, parseKafkaUri} from './uri.js'
import {readPartition} from './log.js'
import {createHash} from 'node:crypto'
import type {RawHeader} from '../../core/record.js'
import {withDeadline} from '../../core/time.js'

function digest(key: Buffer | null, value: Buffer | null, headers: RawHeader[]): string {
  const h = createHash('sha256')
  const part = (b: Buffer | null) => (b === null ? h.update('-1:') : h.update(`${b.length}:`).update(b))
  part(key)
  part(value)
  for (const x of headers) {
    part(Buffer.from(x.key))
    part(x.value)
  }
  return h.digest('hex')
}


/**
 * A produce request holds one record batch per partition; each batch is cut well below the
 * broker's default max.message.bytes (1 MiB per batch), and a request carries up to 4 MiB in
 * all, so a replay to several partitions takes few round trips.
 */
const MAX_BATCH_BYTES = 512 * 1024
const MAX_REQUEST_BYTES = 4 * 1024 * 1024
const ACKS_ALL = -1
/** Produce v9-v11 share one request layout (flexible, topic names); Kafka 3.1+ has them all. */
const PRODUCE_VERSIONS = [11, 10, 9] as const
const INIT_PRODUCER_ID_VERSIONS = [5, 4, 3] as const
/** Sent with InitProducerId as the Java producer does; unused without a transactional id. */
const TRANSACTION_TIMEOUT_MS = 60_000
/**
 * Partition errors after which the same record batch may be sent again: the leader moved or
 * is not known yet (a topic just created), too few in-sync replicas, a broker-side timeout,
 * or a batch behind one of these (its sequence came before that one's retry).
 */
const RETRIABLE = new Set([3, 5, 6, 7, 13, 19, 20, 45, 56, 74, 75])
/** Retries of one batch, RETRY_DELAY_MS longer apart each time (about 20 s in all). */
const MAX_RETRIES = 20
const RETRY_DELAY_MS = 100
/** InitProducerId attempts (about 5 s in all). */
const INIT_ATTEMPTS = 10

/** Messages for one partition in one produce request, and where they are in the batch sent. */
interface Part {
  topic: string
  partition: number
  messages: OutgoingMessage[]
  indices: number[]
  bytes: number
}

/** What a message adds to a request, near enough to cut requests and batches by. */
function messageBytes(m: OutgoingMessage): number {
  let n = 24 + (m.key?.length ?? 0) + (m.value?.length ?? 0)
  for (const h of m.headers) n += h.key.length * 3 + (h.value?.length ?? 0) + 6
  return n
}

type ProduceTopics = Array<{topic: string; parts: Array<{partition: number; records: Buffer}>}>
type ProduceApi = {async: (c: KafkaConnection, acks: number, timeout: number, topics: ProduceTopics) => Promise<Map<string, PartitionAck>>}
type DescribeConfigsApi = {
  async: (c: KafkaConnection, resources: Array<{resourceType: number; resourceName: string; configurationKeys: string[]}>, synonyms: boolean, documentation: boolean) => Promise<{results: Array<{configs: Array<{name: string; value: string | null}>}>}>
}
type InitProducerIdApi = {async: (c: KafkaConnection, transactionalId: null, timeoutMs: number, producerId: bigint, epoch: number) => Promise<{producerId: bigint; producerEpoch: number}>}

/**
 * A Produce request (v9-v11) around record batches encoded beforehand (produce.ts): the
 * library's writer would build each record again from message objects.
 */
function produceRequest(Writer: KafkaLib['Writer']) {
  return (acks: number, timeout: number, topics: ProduceTopics) =>
    Writer.create()
      .appendString(null)
      .appendInt16(acks)
      .appendInt32(timeout)
      .appendArray(topics, (w, t) => {
        w.appendString(t.topic).appendArray(t.parts, (w, p) => {
          w.appendInt32(p.partition).appendBytes(p.records)
        })
      })
      .appendTaggedFields()
}

/** How long a send may wait for its acknowledgements (retries included). */
const ACK_TIMEOUT_MS = Number(process.env.DLQ_KAFKA_ACK_TIMEOUT_MS) || 30_000
const CLOSE_TIMEOUT_MS = 5_000

/**
 * Replay's writer for Kafka (docs/kafka.md, "Sink"): acks=all, idempotent, the record's key,
 * headers (repeated names kept, in order) and timestamp, and always an explicit partition:
 * the one asked for, else the Java client's murmur2 partition of the key, else round robin.
 */
export class KafkaSink implements DlqSink {
  readonly info: SourceInfo
  /** Sends in flight at once: written in call order on one connection per broker (see send). */
  readonly maxInFlight = 4
  private readonly roundRobin = new Map<string, number>()
  /** Per topic, the bytes of messages a record batch holds at most (see describeTarget). */
  private readonly batchLimits = new Map<string, number>()
  /** The idempotent producer's next sequence number per `topic\0partition`. */
  private readonly sequences = new Map<string, number>()
  private producer: Promise<{id: bigint; epoch: number}> | null = null
  /** Per `topic\0partition`, the last retry of a record batch (see retry), while it runs. */
  private readonly retries = new Map<string, Promise<bigint>>()
  private crc: ((b: Buffer) => number) | null = null
  private readonly keys = new Map<string, string[]>()
  /** Partitions whose first batch from this producer the broker has acknowledged (see write). */
  private readonly established = new Set<string>()
  /** Partitions whose first batch is in flight: settles once it is acknowledged or failed. */
  private readonly firstAcks = new Map<string, Promise<unknown>>()
  /** Where the next send waits for the one before it to be on the wire. */
  private queue: Promise<unknown> = Promise.resolve()
  /** send() calls so far, and the last one that must not go out because one before it failed. */
  private calls = 0
  private refuseUpTo = 0
  /** The failure that refuses them. */
  private broken: Error | null = null

  private constructor(
    private readonly client: KafkaClient,
    private readonly produceApi: ProduceApi,
    private readonly initProducerIdApi: InitProducerIdApi,
    display: string,
  ) {
    this.info = {kind: 'kafka', display}
  }

  static async open(uri: string): Promise<KafkaSink> {
    // A DLQ's own URI may serve as the sink: its topic and ?partition= are about reading, not writing.
    const target = parseKafkaUri(uri, {needTopic: false})
    const client = await KafkaClient.open(target)
    const produceVersion = client.pickVersion(0, PRODUCE_VERSIONS)
    const initVersion = client.pickVersion(22, INIT_PRODUCER_ID_VERSIONS)
    if (produceVersion === undefined || initVersion === undefined) {
      await client.close().catch(() => undefined)
      throw new UnavailableError(`Kafka at ${target.brokers.map(brokerText).join(',')}: the broker is too old to replay to (dlq needs Produce v9+ and InitProducerId v3+)`)
    }
    const lib = client.lib as unknown as Record<string, {parseResponse: unknown; api: unknown}>
    const produceApi = client.lib.createAPI(0, produceVersion, produceRequest(client.lib.Writer) as never, parseProduce as never) as unknown as ProduceApi
    const initApi = lib[`initProducerIdV${initVersion}`].api as InitProducerIdApi
    return new KafkaSink(client, produceApi, initApi, `kafka://${target.username !== null ? `${encodeURIComponent(target.username)}:***@` : ''}${target.brokers.map(brokerText).join(',')}`)
  }

  async describeTarget(topic: string): Promise<TargetInfo> {
    const layout = await this.layout(topic, true)
    if (layout === null) return {exists: false, partitions: null}
    const maxMessageBytes = await this.maxMessageBytes(topic, layout)
    // A record batch is one "message" to the broker: a topic that takes less than MAX_BATCH_BYTES
    // gets smaller batches (with room for what messageBytes does not count), else it refuses them.
    if (maxMessageBytes !== null) this.batchLimits.set(topic, Math.max(1, Math.min(MAX_BATCH_BYTES, Math.floor(maxMessageBytes * 0.9) - 128)))
    return {exists: true, partitions: layout.partitions, maxMessageBytes}
  }

  /**
   * The topic's max.message.bytes (DescribeConfigs on the connection already open, not an
   * Admin client of its own), or null when the broker does not say (e.g. no ACL for it).
   */
  private async maxMessageBytes(topic: string, layout: TopicLayout): Promise<number | null> {
    const version = this.client.pickVersion(32, [4, 3, 2])
    if (version === undefined) return null
    const api = (this.client.lib as unknown as Record<string, {api: DescribeConfigsApi}>)[`describeConfigsV${version}`].api
    try {
      const conn = await this.client.connection(layout.leaders.find((l) => l >= 0) ?? -1)
      const res = await api.async(conn, [{resourceType: 2 /* TOPIC */, resourceName: topic, configurationKeys: ['max.message.bytes']}], false, false)
      const v = res.results[0]?.configs.find((c) => c.name === 'max.message.bytes')?.value
      return v && /^\d+$/.test(v) ? Number(v) : null
    } catch {
      return null
    }
  }

  /**
   * Sends are written in call order: each waits for the one before it to be on the wire (not
   * acknowledged), so several batches' requests are in flight on one connection per broker,
   * in order, and the broker writes them in that order (idempotent sequence numbers would
   * refuse a later one after a gap).
   */
  async send(batch: OutgoingMessage[]): Promise<SentMessage[]> {
    const call = ++this.calls
    const written = this.queue.then(() => this.write(batch, call))
    this.queue = written.then(
      () => undefined,
      () => undefined,
    )
    const {acks} = await written
    // The library's connection fails a request after its own timeout; a broker that dies
    // mid-request is bounded here too, so replay reports the batch in doubt instead of hanging.
    return withDeadline(acks, ACK_TIMEOUT_MS, () => new UnavailableError(`Kafka at ${this.where()}: no acknowledgement within ${ACK_TIMEOUT_MS / 1000} s`), {unref: true}).catch((error) => {
      // Whether it landed is unknown, so the sequence numbers after it are too: nothing more goes out.
      this.fail(error, Number.POSITIVE_INFINITY)
      throw error
    })
  }

  /** Encodes a batch and hands its produce requests to the connections; resolves before the acks. */
  private async write(batch: OutgoingMessage[], call: number): Promise<{acks: Promise<SentMessage[]>}> {
    if (call <= this.refuseUpTo) throw new NotSentError(`not sent: an earlier send to Kafka at ${this.where()} failed (${this.broken?.message})`)
    /** Each partition's sequence before this batch, and whether any of its requests went out. */
    const before = new Map<string, number>()
    let issued = false
    try {
      const layouts = new Map<string, TopicLayout>()
      for (const m of batch) {
        if (layouts.has(m.topic)) continue
        const layout = await this.layout(m.topic, false)
        if (layout === null) throw this.missing(m.topic)
        layouts.set(m.topic, layout)
      }
      const partitions = batch.map((m) => this.partitionFor(m, layouts.get(m.topic)!))
      for (const [topic, layout] of layouts) {
        const used = new Set(partitions.filter((_, i) => batch[i].topic === topic))
        if ([...used].some((p) => (layout.leaders[p] ?? -1) < 0)) {
          const led = await this.client.withLeaders(topic, used)
          if (led === null) throw this.missing(topic)
          layouts.set(topic, led)
        }
      }
      const producer = await this.producerId(layouts.values().next().value!)
      const now = Date.now()

      // Requests: cut at MAX_REQUEST_BYTES, each holding one record batch per partition of at most MAX_BATCH_BYTES.
      const requests: Array<Map<string, Part>> = []
      let current = new Map<string, Part>()
      let size = 0
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i]
        const k = this.partitionKey(m.topic, partitions[i])
        const bytes = messageBytes(m)
        const part = current.get(k)
        if (size > 0 && (size + bytes > MAX_REQUEST_BYTES || (part !== undefined && part.bytes + bytes > (this.batchLimits.get(m.topic) ?? MAX_BATCH_BYTES)))) {
          requests.push(current)
          current = new Map()
          size = 0
        }
        let p = current.get(k)
        if (p === undefined) current.set(k, (p = {topic: m.topic, partition: partitions[i], messages: [], indices: [], bytes: 0}))
        p.messages.push(m)
        p.indices.push(i)
        p.bytes += bytes
        size += bytes
      }
      if (current.size > 0) requests.push(current)

      // Each request goes to its partitions' leader: split per leader, then encode with sequence numbers in order.
      const crc = (this.crc ??= crc32cFor(this.client.lib))
      const sends: Array<{request: number; leader: number; topics: Map<string, Array<{partition: number; records: Buffer}>>}> = []
      for (const [r, request] of requests.entries()) {
        const byLeader = new Map<number, Map<string, Array<{partition: number; records: Buffer}>>>()
        for (const [k, p] of request) {
          const leader = layouts.get(p.topic)!.leaders[p.partition]
          let topics = byLeader.get(leader)
          if (!topics) byLeader.set(leader, (topics = new Map()))
          const seq = this.sequences.get(k) ?? 0
          if (!before.has(k)) before.set(k, seq)
          this.sequences.set(k, nextSequence(seq, p.messages.length))
          const records = encodeBatch(p.messages, {producerId: producer.id, producerEpoch: producer.epoch, baseSequence: seq, now}, crc)
          const list = topics.get(p.topic) ?? []
          list.push({partition: p.partition, records})
          topics.set(p.topic, list)
        }
        for (const [leader, topics] of byLeader) sends.push({request: r, leader, topics})
      }
      // Nothing is on the wire yet: a leader not reached (none elected, a refused connection) leaves the batch certainly not sent.
      const connections = await Promise.all(sends.map((s) => this.client.connection(s.leader))).catch((error) =>
        Promise.reject(new NotSentError(`not sent: ${this.client.fail(error, batch[0].topic).message}`, error)),
      )

      // A partition this producer has not written to yet: the broker, holding no sequence
      // state for it, takes whatever sequence comes first — so if the first batch fails (its
      // leader not elected yet) and the next one lands, the retry of the first is refused and
      // the partition has a hole. Until a partition's first batch is acknowledged, nothing
      // more is sent to it: earlier sends' first batches are waited for here, and within this
      // send a request that repeats such a partition waits for the ones before it.
      const firstOnes = [...new Set(sends.flatMap((s) => [...s.topics].flatMap(([topic, parts]) => parts.map((p) => this.partitionKey(topic, p.partition)))))]
        .map((k) => this.firstAcks.get(k))
        .filter((w) => w !== undefined)
      if (firstOnes.length > 0) {
        await Promise.all(firstOnes)
        if (call <= this.refuseUpTo) throw new NotSentError(`not sent: an earlier send to Kafka at ${this.where()} failed (${this.broken?.message})`)
      }
      const acked: Array<Promise<Array<readonly [string, bigint]>>> = []
      const firstHere = new Set<string>()
      for (const [i, s] of sends.entries()) {
        const keys = [...s.topics].flatMap(([topic, parts]) => parts.map((p) => this.partitionKey(topic, p.partition)))
        if (keys.some((k) => firstHere.has(k))) {
          try {
            await Promise.all(acked)
          } catch (error) {
            // Part of this send is on the wire: whether it landed is unknown.
            this.fail(error, Number.POSITIVE_INFINITY)
            throw this.client.fail(error, batch[0].topic)
          }
          for (const k of firstHere) this.established.add(k)
          firstHere.clear()
        }
        for (const k of keys) if (!this.established.has(k)) firstHere.add(k)
        issued = true
        acked.push(this.produce(s.topics, connections[i]))
      }
      const acks = Promise.all(acked).then(
        (bases) => {
          const base = requests.map(() => new Map<string, bigint>())
          bases.forEach((b, i) => {
            for (const [k, v] of b) base[sends[i].request].set(k, v)
          })
          // A message's offset is its record batch's base offset plus its place in that batch.
          const out: SentMessage[] = new Array(batch.length)
          requests.forEach((request, r) => {
            for (const [k, p] of request) {
              // Offsets stay far below 2^53: Number arithmetic is exact and cheaper than BigInt per message.
              const b = Number(base[r].get(k)!)
              p.indices.forEach((idx, j) => (out[idx] = {topic: p.topic, partition: p.partition, offset: String(b + j)}))
            }
          })
          return out
        },
        (error) => {
          // Sequence numbers may now have a gap: the broker refuses whatever this producer
          // sends to that partition after it, so nothing more is sent.
          this.fail(error, Number.POSITIVE_INFINITY)
          throw this.client.fail(error, batch[0].topic)
        },
      )
      acks.catch(() => undefined)
      for (const k of firstHere) {
        const first = acks.then(
          () => this.established.add(k),
          () => undefined,
        )
        this.firstAcks.set(k, first)
        void first.then(() => this.firstAcks.get(k) === first && this.firstAcks.delete(k))
      }
      return {acks}
    } catch (error) {
      // Nothing of this batch went out: the sends already queued behind it must not either
      // (that would leave a hole), but a send asked for after this failure may — with the
      // sequence numbers this batch did not use, or the broker would refuse it as out of order.
      if (!issued) for (const [k, seq] of before) this.sequences.set(k, seq)
      this.fail(error, this.calls)
      if (error instanceof DlqError || error instanceof NotSentError) throw error
      throw this.client.fail(error, batch[0]?.topic)
    }
  }

  /**
   * The partitions' end offsets before a send (`{"partition": offset}` as JSON): a message
   * in doubt can only have landed at or after them.
   */
  async mark(topic: string, partition: number | null): Promise<string | null> {
    const layout = await this.layout(topic, false)
    if (layout === null) return null
    const partitions = partition === null ? [...Array(layout.partitions).keys()] : [partition]
    try {
      const ends = await this.client.latest(topic, layout, partitions)
      return JSON.stringify(Object.fromEntries(ends))
    } catch (error) {
      throw this.client.fail(error, topic)
    }
  }

  /** Content digests of the records after a mark, per partition, read once per batch of doubts. */
  private readonly seen = new Map<string, Map<string, number[]>>()

  async find(message: OutgoingMessage, mark: string | null): Promise<SentMessage | null | undefined> {
    // Only a mark this kind of sink recorded (partition end offsets as JSON) can be checked here.
    if (mark !== null && !/^\{.*\}$/s.test(mark)) return undefined
    const layout = await this.layout(message.topic, false)
    if (layout === null) return null
    // No mark (the claim could not record one): look through the whole partition.
    const from: Record<string, number> =
      mark !== null ? JSON.parse(mark) : Object.fromEntries(await this.client.earliest(message.topic, layout, [...Array(layout.partitions).keys()]).catch((e) => Promise.reject(this.client.fail(e, message.topic))))
    const candidates =
      message.partition !== null ? [message.partition] : message.key !== null ? [partitionForKey(message.key, layout.partitions)] : Object.keys(from).map(Number)
    const want = digest(message.key, message.value, message.headers)
    for (const p of candidates) {
      if (from[p] === undefined) continue
      const cacheKey = `${message.topic}\u0000${p}\u0000${from[p]}`
      let byDigest = this.seen.get(cacheKey)
      if (!byDigest) {
        byDigest = new Map()
        try {
          // To the high watermark, outside transactions: what this sink wrote (never in a
          // transaction) is there behind another producer's open transaction too.
          const end = (await this.client.highWatermarks(message.topic, layout, [p])).get(p) ?? 0
          for await (const m of readPartition(this.client, message.topic, layout, p, from[p], end, true)) {
            const d = digest(m.key, m.value, m.headers)
            const list = byDigest.get(d) ?? []
            list.push(m.offset)
            byDigest.set(d, list)
          }
        } catch (error) {
          throw this.client.fail(error, message.topic)
        }
        this.seen.set(cacheKey, byDigest)
      }
      const offset = byDigest.get(want)?.shift()
      if (offset !== undefined) return {topic: message.topic, partition: p, offset: String(offset)}
    }
    return null
  }

  async close(): Promise<void> {
    await withDeadline(this.client.close(), CLOSE_TIMEOUT_MS, () => new UnavailableError('close'), {unref: true}).catch(() => undefined)
  }

  /**
   * The idempotent producer id, asked for once (InitProducerId). A broker just started may not
   * hand out ids yet (its coordinator loading): asked again a few times, as the library did.
   */
  private producerId(layout: TopicLayout): Promise<{id: bigint; epoch: number}> {
    this.producer ??= (async () => {
      for (let n = 1; ; n++) {
        try {
          const conn = await this.client.connection(layout.leaders.find((l) => l >= 0) ?? -1)
          const res = await this.initProducerIdApi.async(conn, null, TRANSACTION_TIMEOUT_MS, -1n, -1)
          return {id: res.producerId, epoch: res.producerEpoch}
        } catch (error) {
          if (n >= INIT_ATTEMPTS) throw new NotSentError(`not sent: ${this.client.fail(error).message}`, error)
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * n))
        }
      }
    })()
    // A failure is not remembered: the next send asks again.
    this.producer.catch(() => (this.producer = null))
    return this.producer
  }

  /** One produce request; partitions answered with a retriable error are sent again on their own, in order. */
  private produce(topics: Map<string, Array<{partition: number; records: Buffer}>>, connection: KafkaConnection): Promise<Array<readonly [string, bigint]>> {
    // Retries stop when the send is reported in doubt anyway (send's acknowledgement timeout),
    // so a later send waiting for a partition's first batch is not held for minutes.
    const deadline = Date.now() + ACK_TIMEOUT_MS
    return this.produceApi.async(connection, ACKS_ALL, REQUEST_TIMEOUT_MS, [...topics].map(([topic, parts]) => ({topic, parts}))).then((res) =>
      Promise.all(
        [...topics].flatMap(([topic, parts]) =>
          parts.map(async ({partition, records}) => {
            const k = this.partitionKey(topic, partition)
            const ack = res.get(k)
            if (ack === undefined) throw new DlqError(`Kafka at ${this.where()}: no acknowledgement for ${topic} partition ${partition}`)
            const base = ack.errorCode === 0 && !this.retries.has(k) ? ack.baseOffset : await this.retry(topic, partition, records, ack, deadline)
            return [k, base] as const
          }),
        ),
      ),
    )
  }

  /**
   * Sends a record batch again (same bytes, same sequence numbers: the broker writes it once)
   * after a retriable error, to the partition's leader as the refreshed metadata names it.
   * Retries of one partition run one after another in the order the errors came back, which
   * is the order the batches were sent, so the partition's order holds: a batch sent behind a
   * failed one is refused by the broker (out of order sequence) and retried after it. A batch
   * that was acknowledged while an earlier one of its partition waits for its retry cannot be
   * (the broker refuses the gap), so `retries` only matters for that check.
   */
  private retry(topic: string, partition: number, records: Buffer, first: PartitionAck, deadline: number): Promise<bigint> {
    const k = this.partitionKey(topic, partition)
    const before = this.retries.get(k) ?? Promise.resolve(0n)
    const attempt = before.then(async () => {
      let ack = first
      for (let n = 1; ; n++) {
        if (ack.errorCode === 0) return ack.baseOffset
        if (!RETRIABLE.has(ack.errorCode) || n > MAX_RETRIES || Date.now() + RETRY_DELAY_MS * n > deadline) {
          throw new this.client.lib.ProtocolError(ack.errorCode, ack.message ?? undefined)
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * n))
        const layout = await this.client.layout(topic, true)
        if (layout === null) throw this.missing(topic)
        const leader = layout.leaders[partition] ?? -1
        if (leader < 0) {
          // No leader in the metadata yet (a failover under way): wait for one, as for LEADER_NOT_AVAILABLE.
          ack = {errorCode: 5, baseOffset: -1n, message: `no leader for partition ${partition} yet`}
          continue
        }
        const conn = await this.client.connection(leader)
        const res = await this.produceApi.async(conn, ACKS_ALL, REQUEST_TIMEOUT_MS, [{topic, parts: [{partition, records}]}])
        ack = res.get(k) ?? {errorCode: -1, baseOffset: -1n, message: 'no answer for the partition'}
      }
    })
    this.retries.set(k, attempt)
    // The chain ends when this retry does: later errors on the partition start a new one.
    attempt.then(
      () => this.retries.get(k) === attempt && this.retries.delete(k),
      () => undefined,
    )
    return attempt
  }

  /** `topic\0partition`, built once per partition rather than once per message. */
  private partitionKey(topic: string, partition: number): string {
    let keys = this.keys.get(topic)
    if (keys === undefined) this.keys.set(topic, (keys = []))
    return (keys[partition] ??= `${topic}\u0000${partition}`)
  }

  private fail(error: unknown, upTo: number): void {
    if (upTo > this.refuseUpTo) {
      this.refuseUpTo = upTo
      this.broken = error as Error
    }
  }

  private where(): string {
    return this.client.target.brokers.map(brokerText).join(',')
  }

  private async layout(topic: string, refresh: boolean): Promise<TopicLayout | null> {
    try {
      return await this.client.layout(topic, refresh)
    } catch (error) {
      throw this.client.fail(error, topic)
    }
  }

  private missing(topic: string): UnavailableError {
    return new UnavailableError(`Kafka at ${this.where()}: topic "${topic}" does not exist (dlq never creates topics)`)
  }

  private partitionFor(m: OutgoingMessage, layout: TopicLayout): number {
    if (m.partition !== null) {
      if (!Number.isInteger(m.partition) || m.partition < 0 || m.partition >= layout.partitions) {
        // The library would wrap it modulo the partition count: a silent move we refuse.
        throw new UsageError(`topic "${m.topic}" has ${layout.partitions} partition${layout.partitions === 1 ? '' : 's'}; partition ${m.partition} does not exist`)
      }
      return m.partition
    }
    if (m.key !== null) return partitionForKey(m.key, layout.partitions)
    const n = this.roundRobin.get(m.topic) ?? 0
    this.roundRobin.set(m.topic, n + 1)
    return n % layout.partitions
  }
}
