import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {b64, dlqAt, dropKafka, ensureTopic, firstLine, inspectAll, jsonBytes, jsonHeaders, kafkaRowOf, loadShown, readCapture, simpleName, type Truth} from '../helpers/captured.js'
import {dlqJson} from '../helpers/cli.js'
import {KAFKA_BROKERS, needService} from '../helpers/services.js'

// Real Spring Cloud Stream Kafka binder 5.0.4 dead letters (scripts/capture/spring-cloud-stream): enableDlq with
// maxAttempts 3 and a dlqName (spring-cloud-stream-orders-dlq), maxAttempts 1 and the default DLQ name
// error.<topic>.<group>, a DLQ consumer that dead-letters two records a second time
// (spring-cloud-stream-orders-dlq-dlq), and a binding whose container retries and dead-letters with Spring Kafka's
// recoverer instead (ListenerContainerWithDlqAndRetryCustomizer: spring-cloud-stream-refunds-dlq, Spring's headers).
// Every field dlq shows is checked against what the handlers saw and threw and what the binder dead-lettered
// (truth.ndjson); fixtures/captured/spring-cloud-stream/FINDINGS.md lists what the DLQ record does not keep and so
// must stay null.
const kafka = await needService('kafka')
const cap = readCapture('spring-cloud-stream')
const ORDERS_DLQ = 'spring-cloud-stream-orders-dlq'
const ORDERS_DLQ_DLQ = 'spring-cloud-stream-orders-dlq-dlq'
const PAYMENTS_DLQ = 'error.spring-cloud-stream-payments.spring-cloud-stream-group'
/** (d) written by Spring Kafka's DeadLetterPublishingRecoverer in the binding's container, not by the binder. */
const REFUNDS_DLQ = 'spring-cloud-stream-refunds-dlq'
const LEFE = 'org.springframework.kafka.listener.ListenerExecutionFailedException'
const MHE = 'org.springframework.messaging.MessageHandlingException'

const iso = (ms: number) => new Date(ms).toISOString()
const extra = (t: Truth) => t.extra as Record<string, any>
const pairs = (hs: Array<{key: string; value: string | null}>) => hs.map((h): [string, Buffer | null] => [h.key, b64(h.value)])
/** A record's user headers in stored order: dlq adds headerOrder when its headers object cannot keep it (tag, tenant, tag). */
const headersOf = (m: any) => (m.headerOrder ? (m.headerOrder as Array<[string, unknown]>).map(([k, v]): [string, Buffer | null] => [k, jsonBytes(v)]) : jsonHeaders(m.headers))
/** The handler threw an IllegalStateException with a cause: Spring Integration keeps only the cause. */
const lostIse = (t: Truth) => t.error!.class === 'java.lang.IllegalStateException' && t.error!.cause !== null
/** The ErrorMessage payload the binder dead-lettered, outermost first (what the app's errorChannel saw). */
const binderChain = (t: Truth) => extra(t).binderException as Array<{class: string; message: string | null}>

describe.runIf(kafka.available)('captured Spring Cloud Stream Kafka binder 5.0.4 dead letters', () => {
  /** Each truth line's record as `dlq inspect` shows it. */
  let item: (t: Truth) => any = () => undefined
  beforeAll(async () => {
    item = await loadShown(cap)
  }, 120_000)
  afterAll(async () => dropKafka(cap))
  /** What both writers' records must agree on with the truth: source, key, payload, user headers, times, partition. */
  const sameRecord = (i: any, t: Truth) => {
    // the ROOT source, also for a record dead-lettered twice (the first x-original-* set)
    expect({topic: i.source.topic, partition: i.source.partition, offset: String(i.source.offset)}).toEqual({topic: t.source.topic, partition: t.source.partition, offset: t.source.offset})
    expect(i.source.doubt ?? null).toBeNull()
    // key and value copied byte for byte (binary and null keys too; o-4's unconvertible payload as it was)
    expect(jsonBytes(i.key)).toEqual(b64(t.source.key))
    expect(jsonBytes(i.payload.text ?? {base64: i.payload.base64})).toEqual(b64(t.source.value))
    // User headers as the source had them (order, repeats, null, empty and binary values), no writer metadata.
    expect(headersOf(i)).toEqual(pairs(t.source.headers!))
    // The DLQ record is produced when the writer gives up: its time is the failure time; the failed record's own
    // time (CreateTime or the broker's LogAppendTime) is in x-original-timestamp / kafka_dlt-original-timestamp.
    expect(i.timestamp).toBe(iso(kafkaRowOf(cap, t).timestamp))
    expect(i.deadLetteredAt).toBe(i.timestamp)
    expect(kafkaRowOf(cap, t).timestamp - t.failedAt!).toBeGreaterThanOrEqual(0)
    expect(kafkaRowOf(cap, t).timestamp - t.failedAt!).toBeLessThan(1000)
    expect(i.originalTimestamp).toBe(iso(t.source.timestamp!))
    // dlqPartitions unset: the DLQ record goes to the failed record's partition number
    expect(dlqAt(t).partition).toBe((extra(t).failedRecord ?? t.source).partition)
  }

  it('has a truth line for every captured record, of every kind the brief asks for', () => {
    expect(cap.truth).toHaveLength(cap.kafka.length)
    expect(new Set(cap.truth.map((t) => dlqAt(t).topic))).toEqual(new Set([ORDERS_DLQ, PAYMENTS_DLQ, ORDERS_DLQ_DLQ, REFUNDS_DLQ]))
    const orders = cap.truth.filter((t) => dlqAt(t).topic === ORDERS_DLQ)
    // real retries; a cause; no message; a payload the binder could not convert (the handler got byte[])
    expect(orders.every((t) => t.attempts === 3)).toBe(true)
    expect(orders.some((t) => t.error!.cause !== null)).toBe(true)
    expect(orders.some((t) => t.error!.message === null)).toBe(true)
    expect(orders.some((t) => extra(t).payloadTypeSeen === '[B' && t.error!.class === 'java.lang.ClassCastException')).toBe(true)
    // a handler exception Spring Integration drops (an IllegalStateException with a cause)
    expect(cap.truth.some(lostIse)).toBe(true)
    // null and binary keys, three source partitions
    expect(orders.some((t) => t.source.key === null)).toBe(true)
    expect(new Set(orders.map((t) => t.source.partition))).toEqual(new Set([0, 1, 2]))
  })

  it.each(cap.truth.filter((t) => dlqAt(t).topic !== REFUNDS_DLQ).map((t) => [`${dlqAt(t).topic} ${dlqAt(t).partition}:${dlqAt(t).offset} (${extra(t).case}, ${extra(t).hop})`, t] as const))('%s: every field against the truth', (_, t) => {
    const i = item(t)
    expect(i, 'dlq shows the record').toBeDefined()
    expect(i.convention).toBe('spring-cloud-stream')
    // No header names the group: only the binder's default DLQ name error.<topic>.<group> does.
    expect(i.source.group).toBe(dlqAt(t).topic === `error.${t.source.topic}.${extra(t).rootGroup}` ? extra(t).rootGroup : null)
    sameRecord(i, t)

    // x-exception-fqcn is the binder's wrapper (MessagingException after retries, MessageHandlingException
    // without), never the handler's class; x-exception-message is the MessageHandlingException's message, "; "
    // and the message of the exception under it (empty when it had none): that exception is the cause.
    const e = t.error!
    const chain = binderChain(t)
    const mhe = chain.findIndex((c) => c.class === MHE)
    const under = chain[mhe + 1]
    // Spring Integration wraps what the handler threw, except an IllegalStateException with a cause, which it
    // replaces by that cause: the handler's own exception is then in no header.
    expect(under).toEqual(lostIse(t) ? {class: e.cause!.class, message: e.cause!.message} : {class: e.class, message: e.message})
    expect(i.error).toEqual({class: chain[0].class, message: `${chain[mhe].message}; ${under.message ?? ''}`, cause: under, stage: null})
    expect(i.reason).toBe(under.message === null ? simpleName(under.class) : `${simpleName(under.class)}: ${firstLine(under.message)}`)

    // No header counts attempts (the deliveryAttempt message header is not written); after the binder's retries the
    // stack trace's RetryException holds each earlier attempt's exception as a Suppressed one. With maxAttempts 1
    // there is none and the count is unknown.
    expect(i.retries).toBe(chain.some((c) => c.class === 'org.springframework.core.retry.RetryException') ? t.attempts : null)
    const rootType = t.source.topic === 'spring-cloud-stream-payments' ? 'LogAppendTime' : 'CreateTime'
    // one x-original-* set per hop, in order (the orders DLQ is CreateTime)
    expect(i.metadata['x-original-timestamp-type']).toEqual(extra(t).hop === 'dlq-of-dlq' ? [rootType, 'CreateTime'] : rootType)
  })

  it.each(cap.truth.filter((t) => dlqAt(t).topic === REFUNDS_DLQ).map((t) => [`${dlqAt(t).topic} ${dlqAt(t).partition}:${dlqAt(t).offset} (${extra(t).case})`, t] as const))('%s (recoverer in the binding\'s container): every field against the truth', (_, t) => {
    const i = item(t)
    expect(i, 'dlq shows the record').toBeDefined()
    // Spring Kafka's headers, so Spring Kafka's convention, with the binding's group
    expect(i.convention).toBe('spring')
    expect(i.source.group).toBe(extra(t).rootGroup)
    sameRecord(i, t)
    // The recoverer's cause header names Spring Integration's MessageHandlingException and its message says only
    // "error occurred in message handler [...]": the handler's exception is the next cause in the stack trace.
    const e = t.error!
    expect(i.error.class).toBe(LEFE)
    expect(i.error.message).toMatch(/^Listener failed; error occurred in message handler \[[^\]]+\]$/)
    expect(i.error.cause).toEqual({class: e.class, message: e.message})
    expect(i.reason).toBe(`${simpleName(e.class!)}: ${firstLine(e.message)}`)
    // the blocking recoverer records no count
    expect(i.retries).toBeNull()
    expect(i.metadata['kafka_dlt-original-timestamp-type']).toBe('CreateTime')
  })

  it('stats tells every failure of the orders DLQ apart, and reason/header filters find the right records', () => {
    const orders = cap.truth.filter((t) => dlqAt(t).topic === ORDERS_DLQ)
    const stats = dlqJson(['stats', `kafka://${KAFKA_BROKERS}/${ORDERS_DLQ}`]).json
    expect(stats.total).toBe(orders.length)
    expect(stats.byReason).toHaveLength(orders.length)
    const priced = orders.filter((t) => /priced/.test(t.error!.message ?? ''))
    expect(priced).toHaveLength(1)
    const found = dlqJson(['inspect', `kafka://${KAFKA_BROKERS}/${ORDERS_DLQ}`, '--filter', 'reason~priced']).json.items
    expect(found.map((f: any) => f.position)).toEqual([item(priced[0]).position])
    const withNull = orders.filter((t) => t.source.headers!.some((h) => h.key === 'note' && h.value === null))
    expect(withNull).toHaveLength(1)
    const nulls = dlqJson(['inspect', `kafka://${KAFKA_BROKERS}/${ORDERS_DLQ}`, '--filter', 'header.note=null']).json.items
    expect(nulls.map((f: any) => f.position)).toEqual(withNull.map((t) => item(t).position))
  })

  it('plans replay of every DLQ to the root source partition with only the user headers', async () => {
    // The source topics as the capture had them (a fresh broker has none).
    for (const topic of new Set(cap.truth.map((t) => t.source.topic!))) {
      await ensureTopic(topic, Math.max(...cap.truth.filter((t) => t.source.topic === topic).map((t) => extra(t).sourcePartitions as number)))
    }
    for (const topic of cap.manifest.dlq as string[]) {
      const ledger = join(mkdtempSync(join(tmpdir(), 'dlq-scs-capture-')), 'ledger.ndjson')
      const plan = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${topic}`, '--all', '--dry-run', '--yes', '--ledger', ledger]).json
      const truths = cap.truth.filter((t) => dlqAt(t).topic === topic)
      expect(plan.summary).toMatchObject({send: truths.length, skip: 0})
      for (const t of truths) {
        const p = plan.items.find((x: any) => x.position === item(t).position)
        expect(p.target).toEqual({topic: t.source.topic, partition: t.source.partition})
        // the plan names each kept header once
        expect(p.headersKept).toEqual([...new Set(t.source.headers!.map((h) => h.key))])
      }
    }
  })

  it('replays every DLQ to a target byte for byte: key, value and only the source headers', async () => {
    const {KafkaFixture} = await import('../kafka-fixtures.js')
    const fx = new KafkaFixture()
    try {
      for (const topic of cap.manifest.dlq as string[]) {
        // one ledger file per DLQ: its entries name positions, not the DLQ they belong to
        const ledger = join(mkdtempSync(join(tmpdir(), 'dlq-scs-capture-')), 'ledger.ndjson')
        const target = await fx.topic('spring-cloud-stream-replay', 3)
        const r = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${topic}`, '--all', '--yes', '--to', target, '--ledger', ledger])
        const truths = cap.truth.filter((t) => dlqAt(t).topic === topic)
        expect(r.code, JSON.stringify(r.json)).toBe(0)
        expect(r.json.replayed, JSON.stringify(r.json).slice(0, 1500)).toBe(truths.length)
        const landed = inspectAll(`kafka://${KAFKA_BROKERS}/${target}`)
        expect(landed).toHaveLength(truths.length)
        for (const t of truths) {
          const got = landed.filter((m) => jsonBytes(m.payload.text ?? {base64: m.payload.base64})!.equals(b64(t.source.value)!))
          expect(got).toHaveLength(1)
          expect(got[0].position.startsWith(`${t.source.partition}:`)).toBe(true)
          expect(got[0].convention).toBe('unknown')
          expect(jsonBytes(got[0].key)).toEqual(b64(t.source.key))
          expect(headersOf(got[0])).toEqual(pairs(t.source.headers!))
        }
      }
    } finally {
      await fx.close()
    }
  })
})

// What the capture has no record of, read from its records with one header or the DLQ name changed.
describe('Spring Cloud Stream records beyond the capture', () => {
  const o6 = cap.kafka.find((r) => r.topic === ORDERS_DLQ && r.partition === 2 && r.offset === 1)!
  const headers = (change: Record<string, string>) =>
    o6.headers.map((h): [string, Buffer | null] => [h.key, h.key in change ? Buffer.from(change[h.key]) : b64(h.value)])

  it('takes the handler message whole from x-exception-message, also when it holds "]; "', async () => {
    const {decodeRaw} = await import('../../src/core/conventions/index.js')
    const {raw} = await import('../helpers/raw.js')
    const r = decodeRaw(raw(headers({'x-exception-message': 'error occurred in message handler [bean@1]; a]; b\nc'})))
    expect(r.error!.cause).toEqual({class: 'java.lang.IllegalArgumentException', message: 'a]; b\nc'})
    expect(r.reason).toBe('IllegalArgumentException: a]; b')
  })

  it('reads the group only from the default DLQ name of the root source topic', async () => {
    const {decodeRaw} = await import('../../src/core/conventions/index.js')
    const {raw} = await import('../helpers/raw.js')
    const group = (dlqTopic: string | null) => decodeRaw(raw(headers({}), {dlqTopic})).source.group
    expect(group('error.spring-cloud-stream-orders.billing.v2')).toBe('billing.v2')
    expect(group('error.spring-cloud-stream-orders.')).toBeNull()
    expect(group('error.spring-cloud-stream-orders-dlq.redo')).toBeNull()
    expect(group('error.error.spring-cloud-stream-orders.g1.g2')).toBeNull()
    expect(group(null)).toBeNull()
  })
})
