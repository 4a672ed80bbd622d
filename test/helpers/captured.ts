import {cpSync, existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Admin, Producer} from '@platformatic/kafka'
import {isSafeNumber, parse as parseLossless} from 'lossless-json'
import {openKafkaReader} from '../../src/backends/kafka/index.js'
import {MATCH_ALL} from '../../src/core/filter.js'
import type {DecodedRecord} from '../../src/core/record.js'
import {dlq, FIXTURES} from './cli.js'
import {KAFKA_BROKERS, REDIS_URL} from './services.js'

/**
 * Captures from real DLQ writers (scripts/capture/README.md) loaded byte for byte into the real
 * stores, and read back through the CLI, for test/captured/*.test.ts.
 */
export const CAPTURED = join(FIXTURES, 'captured')

export interface KafkaRow {
  topic: string
  partition: number
  offset: number
  timestamp: number
  timestampType: string
  key: string | null
  value: string | null
  headers: Array<{key: string; value: string | null}>
}

export interface RedisRow {
  stream: string
  id: string
  fields: Array<{name: string; value: string}>
}

export interface TruthSource {
  topic: string | null
  partition: number | null
  offset: string | null
  key: string | null
  value: string | null
  headers: Array<{key: string; value: string | null}> | null
  timestamp: number | null
}

export interface Truth {
  dlq: {topic: string; partition: number; offset: number} | {stream: string; id: string} | {file: string; line: number}
  source: TruthSource
  error: {class: string | null; message: string | null; cause: {class: string | null; message: string | null} | null} | null
  reason: string | null
  attempts: number | null
  failedAt: number | null
  extra?: Record<string, unknown>
}

export interface Capture {
  writer: string
  dir: string
  manifest: Record<string, any>
  kafka: KafkaRow[]
  redis: RedisRow[]
  truth: Truth[]
  /** The capture's files/ folder, or null. */
  files: string | null
}

const ndjson = <T>(path: string): T[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => parseExact(l) as T)
    : []

/** JSON with integers beyond 2^53 kept exact (as bigint), like dlq writes them. */
export function parseExact(text: string): any {
  return parseLossless(text, null, (n: string) => (isSafeNumber(n) ? Number(n) : /^-?\d+$/.test(n) ? BigInt(n) : Number(n)))
}

export function readCapture(writer: string): Capture {
  const dir = join(CAPTURED, writer)
  return {
    writer,
    dir,
    manifest: JSON.parse(readFileSync(join(dir, 'capture.json'), 'utf8')),
    kafka: ndjson<KafkaRow>(join(dir, 'kafka.ndjson')),
    redis: ndjson<RedisRow>(join(dir, 'redis.ndjson')),
    truth: ndjson<Truth>(join(dir, 'truth.ndjson')),
    files: existsSync(join(dir, 'files')) ? join(dir, 'files') : null,
  }
}

export const b64 = (v: string | null): Buffer | null => (v === null ? null : Buffer.from(v, 'base64'))

/** `topic|partition|offset` of a captured Kafka record → its position `P:O` in the loaded topic. */
export type KafkaPositions = Map<string, string>
export const kafkaKey = (topic: string, partition: number, offset: number) => `${topic}|${partition}|${offset}`

/** Where a Kafka writer put the DLQ record of a truth line. */
export const dlqAt = (t: Truth) => t.dlq as {topic: string; partition: number; offset: number}
/** The captured Kafka record that is the DLQ record of a truth line. */
export const kafkaRowOf = (cap: Capture, t: Truth): KafkaRow => {
  const at = dlqAt(t)
  return cap.kafka.find((r) => r.topic === at.topic && r.partition === at.partition && r.offset === at.offset)!
}
/** A Java class name without its package. */
export const simpleName = (c: string) => c.slice(c.lastIndexOf('.') + 1)
/** The first line of a message (a stack trace's headline). */
export const firstLine = (m: string | null) => (m === null ? null : m.split(/\r?\n/, 1)[0])

/**
 * Loads the capture's Kafka records into topics of the same names (names start with the writer's
 * name, so captures never collide), with their partitions, timestamps, keys, values and headers
 * (null and repeated ones included) byte for byte. A leftover topic of an earlier run is
 * replaced. Returns where each captured record landed.
 */
export async function loadKafka(cap: Capture): Promise<KafkaPositions> {
  const bootstrapBrokers = KAFKA_BROKERS.split(',')
  const admin = new Admin({clientId: 'dlq-capture-loader', bootstrapBrokers})
  const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({clientId: 'dlq-capture-loader', bootstrapBrokers, idempotent: true, acks: -1})
  const out: KafkaPositions = new Map()
  try {
    const byTopic = new Map<string, KafkaRow[]>()
    for (const r of cap.kafka) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r])
    for (const [topic, rows] of byTopic) {
      const partitions = Math.max(...rows.map((r) => r.partition)) + 1
      await createFresh(admin, topic, partitions)
      for (let i = 0; i < 100; i++) {
        const md = await admin.metadata({topics: [topic], forceUpdate: true}).catch(() => null)
        if (md && md.topics.get(topic)?.partitions.every((p) => p.leader >= 0)) break
        await new Promise((r) => setTimeout(r, 100))
      }
      for (const r of [...rows].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
        const res = await producer.send({
          messages: [
            {
              topic,
              partition: r.partition,
              key: b64(r.key) ?? undefined,
              value: b64(r.value) as Buffer,
              // Distinct Buffer keys: repeated header names stay repeated, in order.
              headers: new Map(r.headers.map((h) => [Buffer.from(h.key, 'utf8'), b64(h.value) as Buffer])),
              timestamp: BigInt(r.timestamp),
            },
          ],
        })
        const o = res.offsets![0]
        out.set(kafkaKey(topic, r.partition, r.offset), `${o.partition}:${o.offset}`)
      }
    }
  } finally {
    await producer.close().catch(() => {})
    await admin.close().catch(() => {})
  }
  return out
}

/** Creates the topic, deleting a leftover of an earlier run first (a capture always loads into an empty topic). */
async function createFresh(admin: Admin, topic: string, partitions: number): Promise<void> {
  const exists = async () => ((await admin.metadata({topics: [topic], forceUpdate: true}).catch(() => null))?.topics.has(topic) ?? false)
  if (await exists()) {
    await admin.deleteTopics({topics: [topic]}).catch(() => {})
    for (let i = 0; i < 100 && (await exists()); i++) await new Promise((r) => setTimeout(r, 100))
  }
  for (let i = 0; ; i++) {
    try {
      await admin.createTopics({topics: [topic], partitions, replicas: 1})
      return
    } catch (error) {
      // A deletion still in progress answers "already exists" / "marked for deletion" for a moment.
      if (i >= 50) throw error
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

/** Creates a topic the capture's records name as their source, unless it exists (it is left in place). */
export async function ensureTopic(topic: string, partitions: number): Promise<void> {
  const admin = new Admin({clientId: 'dlq-capture-loader', bootstrapBrokers: KAFKA_BROKERS.split(',')})
  try {
    const md = await admin.metadata({topics: [topic], forceUpdate: true}).catch(() => null)
    if (md?.topics.has(topic)) return
    await admin.createTopics({topics: [topic], partitions, replicas: 1}).catch((error) => {
      if (!/already exists/i.test(JSON.stringify((error as {errors?: unknown}).errors ?? (error as Error).message))) throw error
    })
    for (let i = 0; i < 100; i++) {
      const m = await admin.metadata({topics: [topic], forceUpdate: true}).catch(() => null)
      if (m && m.topics.get(topic)?.partitions.every((p) => p.leader >= 0)) return
      await new Promise((r) => setTimeout(r, 100))
    }
  } finally {
    await admin.close().catch(() => {})
  }
}

/** Deletes the capture's topics (a test's afterAll), so the next run loads them afresh. */
export async function dropKafka(cap: Capture): Promise<void> {
  const admin = new Admin({clientId: 'dlq-capture-loader', bootstrapBrokers: KAFKA_BROKERS.split(',')})
  try {
    await admin.deleteTopics({topics: [...new Set(cap.kafka.map((r) => r.topic))]}).catch(() => {})
  } finally {
    await admin.close().catch(() => {})
  }
}

/** Loads the capture's Redis entries with their exact ids and fields (streams replaced). */
export async function loadRedis(cap: Capture): Promise<void> {
  const {Redis} = await import('ioredis')
  const r = new Redis(REDIS_URL, {lazyConnect: true})
  try {
    await r.connect()
    for (const s of new Set(cap.redis.map((e) => e.stream))) await r.del(s)
    for (const e of cap.redis) {
      const args: Buffer[] = e.fields.flatMap((f) => [Buffer.from(f.name, 'base64'), Buffer.from(f.value, 'base64')])
      await r.xadd(e.stream, e.id, ...(args as unknown as string[]))
    }
  } finally {
    r.disconnect()
  }
}

/** Copies the capture's files/ into a fresh temp dir (names, rotation suffixes and .gz kept). */
export function copyFiles(cap: Capture): string {
  if (!cap.files) throw new Error(`capture ${cap.writer} has no files/`)
  const dir = mkdtempSync(join(tmpdir(), `dlq-captured-${cap.writer}-`))
  cpSync(cap.files, dir, {recursive: true, preserveTimestamps: true})
  return dir
}

/** Every record of a source as `dlq inspect --json` shows it (all pages), big integers exact. */
export function inspectAll(source: string, extra: string[] = []): any[] {
  const items: any[] = []
  let from: string | null = null
  for (;;) {
    const r = dlq(['inspect', source, '--json', '--limit', '5000', '--payload-limit', String(1024 * 1024), ...(from === null ? [] : ['--from', from]), ...extra])
    if (r.code !== 0) throw new Error(`dlq inspect ${source} exited ${r.code}: ${r.stderr}`)
    const page = parseExact(r.stdout)
    items.push(...page.items)
    const next = page.nextOffsetHint ?? page.next_offset_hint ?? null
    if (page.end || next === null || page.items.length === 0) return items
    from = String(next)
  }
}

/**
 * Loads the capture's Kafka records (those of `topics`) and gives, for each truth line, its
 * record as `dlq inspect --json` shows it — found by the captured coordinates, since the broker
 * the capture is loaded into gives it positions of its own.
 */
export async function loadShown(cap: Capture, topics: string[] = cap.manifest.dlq as string[]): Promise<(t: Truth) => any> {
  const where = await loadKafka(cap)
  const shown = new Map<string, any>()
  for (const topic of topics) {
    const byPos = new Map(inspectAll(`kafka://${KAFKA_BROKERS}/${topic}`).map((i) => [i.position, i]))
    for (const r of cap.kafka.filter((k) => k.topic === topic)) shown.set(kafkaKey(topic, r.partition, r.offset), byPos.get(where.get(kafkaKey(topic, r.partition, r.offset))!))
  }
  return (t) => shown.get(kafkaKey(dlqAt(t).topic, dlqAt(t).partition, dlqAt(t).offset))
}

/** Every record of a (small) Kafka topic as dlq's reader decodes it: user headers in stored order, which the JSON groups. */
export async function readKafkaRecords(topic: string): Promise<DecodedRecord[]> {
  const r = await openKafkaReader(`kafka://${KAFKA_BROKERS}/${topic}`)
  try {
    return (await r.page({limit: 1000, filter: MATCH_ALL})).records
  } finally {
    await r.close()
  }
}

/** The bytes of a `text | {base64}` field of dlq's JSON. */
export function jsonBytes(v: unknown): Buffer | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'string') return Buffer.from(v, 'utf8')
  return Buffer.from((v as {base64: string}).base64, 'base64')
}

/** dlq's `headers` object as [name, bytes|null] pairs in order (repeated names kept). */
export function jsonHeaders(h: Record<string, unknown>): Array<[string, Buffer | null]> {
  const out: Array<[string, Buffer | null]> = []
  for (const [k, v] of Object.entries(h)) for (const one of Array.isArray(v) ? v : [v]) out.push([k, jsonBytes(one)])
  return out
}
