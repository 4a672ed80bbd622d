import type {Producer as LibProducer} from '@platformatic/kafka'
import {DlqError, UnavailableError, UsageError} from '../../core/errors.js'
import type {SourceInfo} from '../../core/reader.js'
import type {DlqSink, OutgoingMessage, SentMessage, TargetInfo} from '../../core/sink.js'
import {KafkaClient, type TopicLayout} from './client.js'
import {clientOptions} from './connection.js'
import {partitionForKey} from './murmur2.js'
import {brokerText, parseKafkaUri} from './uri.js'
import {readPartition} from './log.js'
import {createHash} from 'node:crypto'
import type {RawHeader} from '../../core/record.js'

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
/** How long a produce request may wait for its acknowledgement (the library's retries included). */
const ACK_TIMEOUT_MS = Number(process.env.DLQ_KAFKA_ACK_TIMEOUT_MS) || 30_000
const CLOSE_TIMEOUT_MS = 5_000

function withTimeout<T>(ms: number, message: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnavailableError(message)), ms)
      timer.unref()
    }),
  ]).finally(() => clearTimeout(timer))
}
/** Below 2^31 ms with room for the library's own `Date.now()` for records without a timestamp. */
const MAX_TIMESTAMP_DELTA = 2 ** 31 - 60_000

/**
 * Replay's writer for Kafka (docs/kafka.md, "Sink"): acks=all, idempotent, the record's key,
 * headers (repeated names kept, in order) and timestamp, and always an explicit partition:
 * the one asked for, else the Java client's murmur2 partition of the key, else round robin.
 */
export class KafkaSink implements DlqSink {
  readonly info: SourceInfo
  private readonly roundRobin = new Map<string, number>()

  private constructor(
    private readonly client: KafkaClient,
    private readonly producer: LibProducer<Buffer, Buffer, Buffer, Buffer>,
    display: string,
  ) {
    this.info = {kind: 'kafka', display}
  }

  static async open(uri: string): Promise<KafkaSink> {
    // A DLQ's own URI may serve as the sink: its topic and ?partition= are about reading, not writing.
    const target = parseKafkaUri(uri, {needTopic: false})
    const client = await KafkaClient.open(target)
    const producer = new client.lib.Producer<Buffer, Buffer, Buffer, Buffer>({...clientOptions(target, client.settings), idempotent: true, acks: ACKS_ALL})
    return new KafkaSink(client, producer, `kafka://${target.username !== null ? `${encodeURIComponent(target.username)}:***@` : ''}${target.brokers.map(brokerText).join(',')}`)
  }

  async describeTarget(topic: string): Promise<TargetInfo> {
    const layout = await this.layout(topic, true)
    if (layout === null) return {exists: false, partitions: null}
    return {exists: true, partitions: layout.partitions, maxMessageBytes: await this.maxMessageBytes(topic)}
  }

  /** The topic's max.message.bytes (DescribeConfigs), or null when the broker does not say (e.g. no ACL for it). */
  private async maxMessageBytes(topic: string): Promise<number | null> {
    const admin = new this.client.lib.Admin(clientOptions(this.client.target, this.client.settings))
    try {
      const [d] = await admin.describeConfigs({resources: [{resourceType: 2 /* TOPIC */, resourceName: topic, configurationKeys: ['max.message.bytes']}]})
      const v = d?.configs.find((c) => c.name === 'max.message.bytes')?.value
      return v && /^\d+$/.test(v) ? Number(v) : null
    } catch {
      return null
    } finally {
      await admin.close().catch(() => undefined)
    }
  }

  async send(batch: OutgoingMessage[]): Promise<SentMessage[]> {
    const layouts = new Map<string, TopicLayout>()
    for (const topic of new Set(batch.map((m) => m.topic))) {
      const layout = await this.layout(topic, false)
      if (layout === null) throw new UnavailableError(`Kafka at ${this.where()}: topic "${topic}" does not exist (dlq never creates topics)`)
      layouts.set(topic, layout)
    }
    const placed = batch.map((m) => ({m, partition: this.partitionFor(m, layouts.get(m.topic)!)}))

    const sent: SentMessage[] = []
    let start = 0
    while (start < placed.length) {
      let end = start
      let size = 0
      const firstTs = new Map<string, number>()
      const batchBytes = new Map<string, number>()
      const now = Date.now()
      while (end < placed.length && size < MAX_REQUEST_BYTES) {
        const {m, partition} = placed[end]
        // @platformatic/dynamic-buffer 0.3.1 encodes varlongs wrongly from 2^31 up (zig-zag
        // with >> 31n, a 32-bit mask), so a record whose timestamp is 24.8 days or more away
        // from the first one of its batch would land with a wrong time: it starts a new request.
        const k = `${m.topic}\u0000${partition}`
        const ts = m.timestamp ?? now
        const first = firstTs.get(k)
        if (first === undefined) firstTs.set(k, ts)
        else if (Math.abs(ts - first) >= MAX_TIMESTAMP_DELTA) break
        const bytes = 64 + (m.key?.length ?? 0) + (m.value?.length ?? 0) + m.headers.reduce((n, h) => n + h.key.length + (h.value?.length ?? 0) + 8, 0)
        const inBatch = batchBytes.get(k) ?? 0
        if (inBatch > 0 && inBatch + bytes > MAX_BATCH_BYTES) break
        batchBytes.set(k, inBatch + bytes)
        size += bytes
        end++
      }
      sent.push(...(await this.sendChunk(placed.slice(start, end))))
      start = end
    }
    return sent
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
          const end = (await this.client.latest(message.topic, layout, [p])).get(p) ?? 0
          for await (const m of readPartition(this.client, message.topic, layout, p, from[p], end)) {
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
    try {
      await withTimeout(CLOSE_TIMEOUT_MS, 'close', this.producer.close()).catch(() => undefined)
    } finally {
      await withTimeout(CLOSE_TIMEOUT_MS, 'close', this.client.close()).catch(() => undefined)
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

  private async sendChunk(chunk: Array<{m: OutgoingMessage; partition: number}>): Promise<SentMessage[]> {
    let result
    try {
      // The library's producer can wait forever when a broker dies mid-request: bound it, so
      // replay reports the batch in doubt instead of hanging.
      result = await withTimeout(ACK_TIMEOUT_MS, `Kafka at ${this.where()}: no acknowledgement within ${ACK_TIMEOUT_MS / 1000} s`, this.producer.send({
        messages: chunk.map(({m, partition}) => ({
          topic: m.topic,
          partition,
          key: m.key ?? undefined,
          value: m.value as Buffer,
          // Distinct Buffer objects as Map keys keep repeated header names, in order.
          headers: new Map(m.headers.map((h) => [Buffer.from(h.key, 'utf8'), h.value as Buffer])),
          timestamp: m.timestamp === null ? undefined : BigInt(m.timestamp),
        })),
      }))
    } catch (error) {
      if (error instanceof UnavailableError) throw error
      throw this.client.fail(error, chunk[0].m.topic)
    }
    // One batch per partition per request: a message's offset is its batch's base offset
    // plus its place among that partition's messages.
    const base = new Map<string, bigint>()
    for (const o of result.offsets ?? []) base.set(`${o.topic}\u0000${o.partition}`, o.offset)
    const seen = new Map<string, number>()
    return chunk.map(({m, partition}) => {
      const k = `${m.topic}\u0000${partition}`
      const b = base.get(k)
      if (b === undefined) throw new DlqError(`Kafka at ${this.where()}: no acknowledgement for ${m.topic} partition ${partition}`)
      const i = seen.get(k) ?? 0
      seen.set(k, i + 1)
      return {topic: m.topic, partition, offset: String(b + BigInt(i))}
    })
  }
}
