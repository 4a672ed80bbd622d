import {Admin, Producer} from '@platformatic/kafka'
import {KAFKA_BROKERS, uniqueName} from './helpers/services.js'

/**
 * Real Kafka for the kafka-*.test.ts files: random topic names, real producers. Topics are
 * deleted afterwards. Producers are idempotent: a non-idempotent @platformatic/kafka
 * producer resends a whole request when one partition of a just-created topic is not ready,
 * writing the others twice.
 */
export const BROKERS = KAFKA_BROKERS.split(',')
export const KAFKA_URI = `kafka://${KAFKA_BROKERS}`

export type HeaderPairs = Array<[string, string | Buffer | null]>

export interface TestMessage {
  partition?: number
  key?: string | Buffer | null
  value: string | Buffer | null
  headers?: HeaderPairs
  timestamp?: number
}

const buf = (v: string | Buffer) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v)

export function headerMap(pairs: HeaderPairs = []): Map<Buffer, Buffer> {
  // Distinct Buffer objects as keys: repeated header names stay repeated.
  return new Map(pairs.map(([k, v]) => [Buffer.from(k, 'utf8'), (v === null ? null : buf(v)) as Buffer]))
}

/** A test message as the producer sends it (partition 0 unless given). */
const toRecord = (topic: string, m: TestMessage) => ({
  topic,
  partition: m.partition ?? 0,
  key: m.key === null || m.key === undefined ? undefined : buf(m.key),
  value: (m.value === null ? null : buf(m.value)) as Buffer,
  headers: headerMap(m.headers),
  timestamp: m.timestamp === undefined ? undefined : BigInt(m.timestamp),
})

export class KafkaFixture {
  readonly admin = new Admin({clientId: 'dlq-tests', bootstrapBrokers: BROKERS})
  private readonly topics: string[] = []
  private readonly producers: Array<Producer<Buffer, Buffer, Buffer, Buffer>> = []

  async topic(prefix: string, partitions = 3, configs: Record<string, string> = {}): Promise<string> {
    const name = uniqueName(`dlq-test-${prefix}`)
    await this.admin.createTopics({topics: [name], partitions, replicas: 1, configs: Object.entries(configs).map(([name, value]) => ({name, value}))})
    this.topics.push(name)
    // A topic's partitions get leaders a moment after CreateTopics returns.
    for (let i = 0; i < 100; i++) {
      const md = await this.admin.metadata({topics: [name], forceUpdate: true}).catch(() => null)
      if (md && md.topics.get(name)?.partitions.every((p) => p.leader >= 0)) return name
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`topic ${name} got no leaders`)
  }

  producer(opts: {compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'; transactionalId?: string} = {}): Producer<Buffer, Buffer, Buffer, Buffer> {
    const p = new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: 'dlq-tests',
      bootstrapBrokers: BROKERS,
      idempotent: true,
      acks: -1,
      compression: opts.compression ?? 'none',
      ...(opts.transactionalId ? {transactionalId: opts.transactionalId} : {}),
    })
    this.producers.push(p)
    return p
  }

  /** Sends messages in one request per call, in order; returns each message's `P:O`. */
  async produce(topic: string, messages: TestMessage[], producer = this.producer()): Promise<string[]> {
    const out: string[] = []
    for (const m of messages) {
      const r = await producer.send({
        messages: [toRecord(topic, m)],
      })
      const o = r.offsets![0]
      out.push(`${o.partition}:${o.offset}`)
    }
    return out
  }

  /** Many messages in few requests (no per-message offsets). */
  async produceBulk(topic: string, messages: TestMessage[], producer = this.producer()): Promise<void> {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({
        messages: messages.slice(i, i + 500).map((m) => toRecord(topic, m)),
      })
    }
  }

  async groups(): Promise<string[]> {
    return [...(await this.admin.listGroups()).keys()].sort()
  }

  async close(): Promise<void> {
    for (const p of this.producers) await p.close().catch(() => {})
    if (this.topics.length > 0) await this.admin.deleteTopics({topics: this.topics}).catch(() => {})
    await this.admin.close()
  }
}
