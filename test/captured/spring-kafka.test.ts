import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {b64, dlqAt, dropKafka, ensureTopic, firstLine, inspectAll, jsonBytes, jsonHeaders, kafkaRowOf, loadShown, readCapture, simpleName, type Truth} from '../helpers/captured.js'
import {dlqJson} from '../helpers/cli.js'
import {KAFKA_BROKERS, needService} from '../helpers/services.js'

// Real spring-kafka 4.1.2 dead letters (scripts/capture/spring-kafka): a blocking DeadLetterPublishingRecoverer
// (spring-orders-dlt, and spring-orders-dlt-dlt for records a DLT listener failed on again) and non-blocking
// retry topics (spring-payments-retry, spring-payments-dlt). Every field dlq shows is checked against what the
// listeners saw and threw (truth.ndjson); fixtures/captured/spring-kafka/FINDINGS.md lists what the DLT does not
// keep and so must stay null.
const kafka = await needService('kafka')
const cap = readCapture('spring-kafka')
const LEFE = 'org.springframework.kafka.listener.ListenerExecutionFailedException'

const iso = (ms: number) => new Date(ms).toISOString()
const extra = (t: Truth) => t.extra as Record<string, any>
const pairs = (hs: Array<{key: string; value: string | null}>) => hs.map((h): [string, Buffer | null] => [h.key, b64(h.value)])
/** The group that consumed the ROOT record (the one the record's source names): its first failure's group. */
const rootGroup = (t: Truth) =>
  extra(cap.truth.find((u) => extra(u).case === extra(t).case && (extra(u).failedRecord === undefined || extra(u).failedRecord.topic === u.source.topic))!).group

describe.runIf(kafka.available)('captured Spring Kafka 4.1.2 dead letters', () => {
  /** Each truth line's record as `dlq inspect` shows it. */
  let item: (t: Truth) => any = () => undefined
  beforeAll(async () => {
    item = await loadShown(cap)
  }, 120_000)
  afterAll(async () => dropKafka(cap))

  it('has a truth line for every captured record, of every kind the brief asks for', () => {
    expect(cap.truth).toHaveLength(cap.kafka.length)
    expect(new Set(cap.truth.map((t) => dlqAt(t).topic))).toEqual(new Set(['spring-orders-dlt', 'spring-orders-dlt-dlt', 'spring-payments-retry', 'spring-payments-dlt']))
    expect(new Set(cap.truth.map((t) => extra(t).failure ?? extra(t).hop))).toEqual(new Set(['listener', 'value-deserialization', 'key-deserialization', 'retry', 'dlt']))
  })

  it.each(cap.truth.map((t) => [`${dlqAt(t).topic} ${dlqAt(t).partition}:${dlqAt(t).offset} (${extra(t).case})`, t] as const))('%s: every field against the truth', (_, t) => {
    const i = item(t)
    expect(i, 'dlq shows the record').toBeDefined()
    expect(i.convention).toBe('spring')
    // the ROOT source, also for retry hops and records dead-lettered twice
    expect({topic: i.source.topic, partition: i.source.partition, offset: String(i.source.offset)}).toEqual({topic: t.source.topic, partition: t.source.partition, offset: t.source.offset})
    expect(i.source.group).toBe(rootGroup(t))
    expect(i.source.doubt ?? null).toBeNull()
    expect(jsonBytes(i.key)).toEqual(b64(t.source.key))

    const payload = jsonBytes(i.payload.text ?? {base64: i.payload.base64})
    if (extra(t).dltValueEqualsSource === false) {
      // The DLT hop re-serialised the deserialised object: the source bytes are not in the record.
      expect(payload).toEqual(b64(kafkaRowOf(cap, t).value))
      expect(payload).not.toEqual(b64(t.source.value))
    } else expect(payload).toEqual(b64(t.source.value))

    // User headers as the source had them (order, repeats, null and empty values), no Spring metadata; the
    // only addition is the __TypeId__ that JacksonJsonSerializer writes on a DLT hop that re-serialised an object.
    const typeId = kafkaRowOf(cap, t).headers.filter((h) => h.key === '__TypeId__')
    expect(t.source.headers!.some((h) => h.key === '__TypeId__')).toBe(false)
    expect(jsonHeaders(i.headers)).toEqual([...pairs(t.source.headers!), ...pairs(typeId)])

    const e = t.error!
    const root = extra(t).rootCause as {class: string; message: string | null}
    if (extra(t).failure === 'value-deserialization' || extra(t).failure === 'key-deserialization') {
      // Spring's DeserializationException says only "failed to deserialize": the parser error is the stack
      // trace's last "Caused by:", which carries the first line of its message.
      expect(i.error).toEqual({class: e.class, message: e.message, cause: {class: root.class, message: firstLine(root.message)}, stage: extra(t).failure === 'key-deserialization' ? 'key' : null})
      expect(i.reason).toBe(`${simpleName(root.class)}: ${firstLine(root.message)}`)
    } else {
      // Spring's wrapper, whose cause is the exception the listener threw.
      expect(i.error.class).toBe(LEFE)
      expect(i.error.cause).toEqual({class: e.class, message: e.message})
      expect(i.error.stage).toBeNull()
      expect(i.reason).toBe(e.message === null ? simpleName(e.class!) : `${simpleName(e.class!)}: ${e.message}`)
    }

    // Non-blocking retries record the next attempt's number; the blocking recoverer records nothing.
    expect(i.retries).toBe(dlqAt(t).topic.startsWith('spring-payments') ? t.attempts : null)
    // The DLT/retry record is produced when the listener gives up: its time is the failure time (a few
    // hundred ms after it); the failed record's own time is in kafka_(dlt-)original-timestamp.
    expect(i.timestamp).toBe(iso(kafkaRowOf(cap, t).timestamp))
    expect(i.deadLetteredAt).toBe(i.timestamp)
    expect(kafkaRowOf(cap, t).timestamp - t.failedAt!).toBeGreaterThanOrEqual(0)
    expect(kafkaRowOf(cap, t).timestamp - t.failedAt!).toBeLessThan(1000)
    expect(i.originalTimestamp).toBe(iso(t.source.timestamp!))
  })

  it('stats tells every failure of the blocking DLT apart, and reason/header filters find the right records', () => {
    const orders = cap.truth.filter((t) => dlqAt(t).topic === 'spring-orders-dlt')
    const stats = dlqJson(['stats', `kafka://${KAFKA_BROKERS}/spring-orders-dlt`]).json
    expect(stats.total).toBe(orders.length)
    expect(stats.byReason).toHaveLength(orders.length)
    const quantity = orders.filter((t) => /quantity/.test(t.error!.message ?? ''))
    expect(quantity).toHaveLength(1)
    const found = dlqJson(['inspect', `kafka://${KAFKA_BROKERS}/spring-orders-dlt`, '--filter', 'reason~quantity']).json.items
    expect(found.map((f: any) => f.position)).toEqual([item(quantity[0]).position])
    const withNull = orders.filter((t) => t.source.headers!.some((h) => h.key === 'note' && h.value === null))
    const nulls = dlqJson(['inspect', `kafka://${KAFKA_BROKERS}/spring-orders-dlt`, '--filter', 'header.note=null']).json.items
    expect(nulls.map((f: any) => f.position)).toEqual(withNull.map((t) => item(t).position))
    const missing = dlqJson(['inspect', `kafka://${KAFKA_BROKERS}/spring-orders-dlt`, '--filter', 'header.note=missing']).json.items
    expect(missing).toHaveLength(orders.length - withNull.length)
  })

  it('plans replay of non-blocking retry records to the root source with only the user headers', async () => {
    // The root source topic as the capture had it (a fresh broker has none).
    const sources = cap.truth.filter((t) => ['spring-payments-retry', 'spring-payments-dlt'].includes(dlqAt(t).topic))
    await ensureTopic(sources[0].source.topic!, Math.max(...sources.map((t) => t.source.partition!)) + 1)
    const ledger = join(mkdtempSync(join(tmpdir(), 'dlq-spring-capture-')), 'ledger.ndjson')
    for (const topic of ['spring-payments-retry', 'spring-payments-dlt']) {
      const plan = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${topic}`, '--all', '--dry-run', '--yes', '--ledger', ledger]).json
      const truths = cap.truth.filter((t) => dlqAt(t).topic === topic)
      // Retry hops of one source record are copies of one message: the first is sent, the later ones follow it.
      const hops = new Map<string, string>()
      const copies = truths.filter((t) => {
        const src = `${t.source.topic}/${t.source.partition}/${t.source.offset}`
        if (hops.has(src)) return true
        hops.set(src, item(t).position)
        return false
      })
      if (topic === 'spring-payments-retry') expect(copies.length).toBeGreaterThan(0)
      expect(plan.summary).toMatchObject({send: truths.length - copies.length, skip: copies.length})
      for (const t of truths) {
        const p = plan.items.find((x: any) => x.position === item(t).position)
        if (copies.includes(t)) {
          expect(p).toMatchObject({action: 'skip', reason: 'already_replayed'})
          expect(p.detail).toContain(`the same source message as position ${hops.get(`${t.source.topic}/${t.source.partition}/${t.source.offset}`)}`)
          continue
        }
        expect(p.target).toEqual({topic: t.source.topic, partition: t.source.partition})
        // the plan names each kept header once
        expect(p.headersKept).toEqual([...new Set(t.source.headers!.map((h) => h.key))])
      }
    }
  })

  it('replays non-blocking retry and DLT records to a target byte for byte: key, value and only the source headers', async () => {
    const {KafkaFixture} = await import('../kafka-fixtures.js')
    const fx = new KafkaFixture()
    try {
      for (const topic of ['spring-payments-retry', 'spring-payments-dlt']) {
        // one ledger file per DLQ: its entries name positions, not the DLQ they belong to
        const ledger = join(mkdtempSync(join(tmpdir(), 'dlq-spring-capture-')), 'ledger.ndjson')
        const target = await fx.topic(`spring-replay`, 2)
        const r = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${topic}`, '--all', '--yes', '--to', target, '--ledger', ledger])
        const truths = cap.truth.filter((t) => dlqAt(t).topic === topic)
        const messages = new Set(truths.map((t) => `${t.source.topic}/${t.source.partition}/${t.source.offset}`)).size
        expect(r.code, JSON.stringify(r.json)).toBe(0)
        expect(r.json.replayed, JSON.stringify(r.json).slice(0, 1500)).toBe(messages)
        const landed = inspectAll(`kafka://${KAFKA_BROKERS}/${target}`)
        expect(landed).toHaveLength(messages)
        for (const t of truths) {
          const got = landed.filter((m) => jsonBytes(m.payload.text ?? {base64: m.payload.base64})!.equals(b64(t.source.value)!) && m.position.startsWith(`${t.source.partition}:`))
          // retry hops of one record are one message, which the source's consumer gets once
          expect(got.length).toBe(1)
          for (const m of got) {
            expect(m.convention).toBe('unknown')
            expect(jsonBytes(m.key)).toEqual(b64(t.source.key))
            expect(jsonHeaders(m.headers)).toEqual(pairs(t.source.headers!))
          }
        }
      }
    } finally {
      await fx.close()
    }
  })
})
