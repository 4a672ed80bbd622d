import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {b64, dropKafka, inspectAll, jsonBytes, jsonHeaders, kafkaKey, loadKafka, loadRedis, readCapture, type Truth} from '../helpers/captured.js'
import {dlqJson} from '../helpers/cli.js'
import {KAFKA_BROKERS, needService, REDIS_URL} from '../helpers/services.js'

// fixtures/captured/watermill: Watermill 1.5's PoisonQueue (wrapping Retry) on Redis streams and on Kafka
// (scripts/capture/watermill). Every field dlq shows is checked against what the handler saw and returned;
// what Watermill does not write must read as null, never guessed.
const kafka = await needService('kafka')
const redis = await needService('redis')
const cap = readCapture('watermill')
const [redisPoison, kafkaPoison] = cap.manifest.dlq as string[]
const POISON_KEYS = ['reason_poisoned', 'topic_poisoned', 'handler_poisoned', 'subscriber_poisoned']
const UUID = '_watermill_message_uuid'
type Pair = [string, Buffer | null]
// Watermill metadata is a Go map: neither the Redis metadata nor the Kafka headers have a stable order.
const sorted = (pairs: Pair[]) => [...pairs].sort((a, b) => a[0].localeCompare(b[0]))
const label = (t: Truth) => `${t.extra?.backend}/${t.extra?.case}`

/** The checks both stores share: `items` are dlq's records, `itemOf` finds the one for a truth line. */
function commonChecks(backend: 'redis' | 'kafka', get: () => {items: any[]; itemOf: (t: Truth) => any; recordTime: (t: Truth) => number; source: string}) {
  const truth = cap.truth.filter((t) => t.extra?.backend === backend)

  it('reads every poison record as watermill, one per truth line, with the topic the handler subscribed to', () => {
    const {items, itemOf} = get()
    expect(truth).toHaveLength(6)
    expect(items).toHaveLength(truth.length)
    for (const t of truth) {
      const it = itemOf(t)
      expect(it.convention).toBe('watermill')
      expect(it.source.topic, label(t)).toBe(t.source.topic)
      expect(it.metadata.topic_poisoned).toBe(t.source.topic)
    }
  })

  it('has the exact reason the handler returned last (after Retry), as reason and error.message, with no class', () => {
    const {itemOf} = get()
    for (const t of truth) {
      const it = itemOf(t)
      expect(it.reason, label(t)).toBe(t.reason)
      expect(it.reason).toBe(t.error!.message)
      // The Go type (truth error.class, e.g. *main.ValidationError) is not written by Watermill.
      expect(it.error).toEqual({class: null, message: t.reason, cause: null, stage: null})
    }
    // The gateway error names its attempt: only the last attempt's text is kept.
    const gateway = truth.find((t) => t.extra?.case === 'gateway')!
    expect(itemOf(gateway).reason).toMatch(/\(attempt 3\)/)
  })

  it('keeps payload bytes (binary and empty included)', () => {
    const {itemOf} = get()
    for (const t of truth) {
      const p = itemOf(t).payload
      const bytes = p.base64 !== undefined ? Buffer.from(p.base64, 'base64') : Buffer.from(p.text, 'utf8')
      expect(bytes, label(t)).toEqual(b64(t.source.value))
    }
  })

  it('shows the handler\'s metadata as user headers, source_topic included, plus the message uuid; the poison keys only as metadata', () => {
    const {itemOf} = get()
    for (const t of truth) {
      const it = itemOf(t)
      if (t.extra?.case === 'binary' && backend === 'redis') continue // see the known bug below
      const headers = jsonHeaders(it.headers)
      expect(sorted(headers.filter(([k]) => k !== UUID)), label(t)).toEqual(sorted(t.source.headers!.map((h) => [h.key, b64(h.value)])))
      expect(headers.filter(([k]) => k === UUID)).toEqual([[UUID, Buffer.from(String(t.extra?.uuid))]])
      expect(jsonBytes(it.headers.source_topic)).toEqual(Buffer.from('legacy-orders-v1'))
      for (const k of POISON_KEYS) expect(Object.keys(it.headers)).not.toContain(k)
      expect(it.metadata.handler_poisoned).toBe(t.extra?.handler)
      expect(it.metadata.subscriber_poisoned).toBe(t.extra?.subscriber)
    }
  })

  it('has no retries, source offset or group: Watermill writes no attempt count and no position', () => {
    const {itemOf} = get()
    for (const t of truth) {
      const it = itemOf(t)
      expect(t.attempts).toBeGreaterThanOrEqual(1)
      expect(it.retries).toBeNull()
      expect(it.source.offset).toBeNull()
      expect(it.source.partition).toBeNull()
      expect(it.source.group).toBeNull() // subscriber_poisoned is a type name, not the group (truth extra.group)
    }
    expect(truth.map((t) => t.attempts).sort()).toEqual([1, 3, 3, 3, 3, 3])
  })

  it('takes the record time as the failure time; the original message time is not recorded', () => {
    const {itemOf, recordTime} = get()
    for (const t of truth) {
      const it = itemOf(t)
      expect(Date.parse(it.timestamp)).toBe(recordTime(t))
      expect(Date.parse(it.deadLetteredAt), label(t)).toBe(recordTime(t))
      expect(recordTime(t) - t.failedAt!).toBeGreaterThanOrEqual(-1)
      expect(recordTime(t) - t.failedAt!).toBeLessThan(5000)
      expect(it.originalTimestamp).toBeNull()
    }
  })

  it('tells the failures apart in stats and finds them by error.message', () => {
    const {source} = get()
    const s = dlqJson(['stats', source, '--json'])
    expect(s.code).toBe(0)
    expect(s.json.byReason.map((r: any) => r.value).sort()).toEqual(truth.map((t) => t.reason).sort())
    expect(s.json.bySourceTopic).toEqual([{value: truth[0].source.topic, count: truth.length}])
    const f = dlqJson(['inspect', source, '--filter', 'error.message~gateway timeout', '--json'])
    expect(f.json.items).toHaveLength(1)
    const u = dlqJson(['inspect', source, '--filter', 'header.source_topic=legacy-orders-v1', '--json'])
    expect(u.json.items).toHaveLength(truth.length)
  })
}

describe.runIf(redis.available)('captured Watermill poison queue: Redis stream', () => {
  let items: any[]
  const source = `${REDIS_URL}/${redisPoison}`
  const itemOf = (t: Truth) => {
    const it = items.find((i) => i.position === (t.dlq as {id: string}).id)
    expect(it, `dlq item for ${JSON.stringify(t.dlq)}`).toBeDefined()
    return it
  }
  beforeAll(async () => {
    await loadRedis(cap)
    items = inspectAll(source)
  })

  commonChecks('redis', () => ({items, itemOf, source, recordTime: (t) => Number((t.dlq as {id: string}).id.split('-')[0])}))

  it('has no key (streams have none)', () => {
    for (const t of cap.truth.filter((x) => x.extra?.backend === 'redis')) expect(itemOf(t).key).toBeNull()
  })

  // FINDINGS.md (watermill) row 2: src/backends/redis/layouts.ts decodes msgpack str values as text,
  // so a metadata value that is not UTF-8 (Go strings are bytes) comes out as other bytes. Outside the
  // convention module; remove `.fails` when the layout decoder keeps str values as bytes.
  it('keeps a metadata value that is not UTF-8 byte for byte', () => {
    const t = cap.truth.find((x) => x.extra?.backend === 'redis' && x.extra?.case === 'binary')!
    const raw = t.source.headers!.find((h) => h.key === 'raw')!
    expect(jsonBytes(itemOf(t).headers.raw)).toEqual(b64(raw.value))
  })
})

describe.runIf(kafka.available)('captured Watermill poison queue: Kafka', () => {
  let items: any[]
  let where: Map<string, string>
  const source = `kafka://${KAFKA_BROKERS}/${kafkaPoison}`
  type KafkaDlq = {topic: string; partition: number; offset: number}
  const rowOf = (t: Truth) => {
    const d = t.dlq as KafkaDlq
    return cap.kafka.find((r) => r.topic === d.topic && r.partition === d.partition && r.offset === d.offset)!
  }
  const itemOf = (t: Truth) => {
    const d = t.dlq as KafkaDlq
    const it = items.find((i) => i.position === where.get(kafkaKey(d.topic, d.partition, d.offset)))
    expect(it, `dlq item for ${JSON.stringify(t.dlq)}`).toBeDefined()
    return it
  }
  beforeAll(async () => {
    where = await loadKafka(cap)
    items = inspectAll(source)
  })
  afterAll(async () => dropKafka(cap))

  commonChecks('kafka', () => ({items, itemOf, source, recordTime: (t) => rowOf(t).timestamp}))

  it('keeps the key the partitioning marshaler generated, which is the source record\'s key (empty included)', () => {
    for (const t of cap.truth.filter((x) => x.extra?.backend === 'kafka')) {
      expect(jsonBytes(itemOf(t).key), label(t)).toEqual(b64(t.source.key))
    }
  })

  it('keeps a header value that is not UTF-8 byte for byte', () => {
    const t = cap.truth.find((x) => x.extra?.backend === 'kafka' && x.extra?.case === 'binary')!
    const raw = t.source.headers!.find((h) => h.key === 'raw')!
    expect(jsonBytes(itemOf(t).headers.raw)).toEqual(b64(raw.value))
  })
})
