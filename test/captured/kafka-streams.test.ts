import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {DecodedRecord} from '../../src/core/record.js'
import {b64, dlqAt, dropKafka, firstLine, inspectAll, jsonBytes, jsonHeaders, kafkaRowOf, loadKafka, loadShown, readCapture, readKafkaRecords, simpleName, type Truth} from '../helpers/captured.js'
import {streamsStage} from '../../src/core/conventions/streams.js'
import {decodeRaw} from '../../src/core/conventions/index.js'
import {dlqJson} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {KAFKA_BROKERS, needService} from '../helpers/services.js'

// Real Kafka Streams 4.2.2 dead letters (KIP-1034, scripts/capture/kafka-streams): a Topology with a
// LongDeserializer key, connect-json's JsonDeserializer value and two processors, with
// errors.dead.letter.queue.topic.name and the built-in LogAndContinue(Processing)ExceptionHandler. Every field
// dlq shows is checked against what the capture produced and what its deserializers / processors threw;
// what the DLQ record does not keep (application id, failure time) must stay null —
// fixtures/captured/kafka-streams/FINDINGS.md.
const kafka = await needService('kafka')
const cap = readCapture('kafka-streams')
const DLQ = 'kafka-streams-orders-dlq'
/** The second application's DLQ: default handlers (LogAndFail), restarted once after the failure stopped it. */
const PAY_DLQ = 'kafka-streams-payments-dlq'

type H = Array<{key: string; value: string | null}>
const iso = (ms: number) => new Date(ms).toISOString()
const extra = (t: Truth) => t.extra as Record<string, any>
/** The record as the failing node saw it: what Streams copies (time, headers). */
const atFailure = (t: Truth) => extra(t).recordAtFailure as {timestamp: number; headers: H}
/** A processor that forwarded the record to a sink before it threw: Streams has dropped the raw key and value by then. */
const dropped = (t: Truth) => extra(t).forwardedBeforeThrow === true
const STAGE: Record<string, string> = {'deserialize-key': 'key', 'deserialize-value': 'value', process: 'processing'}
/** Headers as dlq's JSON can hold them: an object keyed by name, a repeated name's values as a list in order. */
const grouped = (hs: H) => {
  const names = [...new Set(hs.map((h) => h.key))]
  return names.flatMap((n) => hs.filter((h) => h.key === n).map((h): [string, Buffer | null] => [n, b64(h.value)]))
}
const exact = (hs: H) => hs.map((h): [string, Buffer | null] => [h.key, b64(h.value)])
const userHeaders = (r: DecodedRecord) => r.userHeaders.map((h): [string, Buffer | null] => [h.key, h.value])

describe.runIf(kafka.available)('captured Kafka Streams 4.2.2 dead letters (KIP-1034)', () => {
  /** Each truth line's record as `dlq inspect` shows it. */
  let item: (t: Truth) => any = () => undefined
  beforeAll(async () => {
    item = await loadShown(cap, [DLQ, PAY_DLQ])
  }, 120_000)
  afterAll(async () => dropKafka(cap))
  const orders = cap.truth.filter((t) => dlqAt(t).topic === DLQ)

  it('has a truth line for every captured record, failing in every way the capture provokes', () => {
    expect(cap.manifest.dlq).toEqual([DLQ, PAY_DLQ])
    expect(cap.truth).toHaveLength(cap.kafka.length)
    expect(new Set(orders.map((t) => extra(t).stage))).toEqual(new Set(Object.keys(STAGE)))
    // the source topic has 3 partitions and failures come from each
    expect(new Set(orders.map((t) => t.source.partition))).toEqual(new Set([0, 1, 2]))
  })

  it.each(cap.truth.map((t) => [`${dlqAt(t).partition}:${dlqAt(t).offset} (${extra(t).case})`, t] as const))('%s: every field against the truth', (_, t) => {
    const i = item(t)
    expect(i, 'dlq shows the record').toBeDefined()
    expect(i.convention).toBe('streams')
    expect({topic: i.source.topic, partition: i.source.partition, offset: String(i.source.offset)}).toEqual({topic: t.source.topic, partition: t.source.partition, offset: t.source.offset})
    // The application id (the consumer group) is in no header.
    expect(extra(t).group).toBe(dlqAt(t).topic === DLQ ? 'kafka-streams-capture' : 'kafka-streams-capture-failing')
    expect(i.source.group).toBeNull()

    // Key and value are the source's raw bytes, except after a forward to a sink, which frees them.
    expect(jsonBytes(i.key)).toEqual(dropped(t) ? null : b64(t.source.key))
    expect(i.payload === null ? null : jsonBytes(i.payload.text ?? {base64: i.payload.base64})).toEqual(dropped(t) ? null : b64(t.source.value))
    expect(i.metadata['dlq.not-original'] !== undefined).toBe(dropped(t))
    if (dropped(t)) expect(i.metadata['dlq.not-original']).toMatch(/^neither key nor value is the source's: Kafka Streams frees/)
    // User headers are the failing record's (the source's, plus what an upstream processor added), no __streams.* among them.
    expect(jsonHeaders(i.headers)).toEqual(grouped(atFailure(t).headers))
    expect(Object.keys(i.headers).some((k) => k.startsWith('__streams.'))).toBe(false)

    // The exception the deserializer or processor threw; its cause only in the stack trace (first line of its message).
    const e = t.error!
    const root = extra(t).rootCause as {class: string; message: string | null}
    expect(i.error).toEqual({
      class: e.class,
      message: e.message,
      cause: e.cause === null ? null : {class: e.cause.class, message: firstLine(e.cause.message)},
      stage: STAGE[extra(t).stage],
    })
    expect(i.reason).toBe(root.message === null ? simpleName(root.class) : `${simpleName(root.class)}: ${firstLine(root.message)}`)

    // Not in the record: attempts (Streams never retries; only a restart after LogAndFail fails a record again)
    // and the failure time. The record time is the failing record's own (the source's unless an upstream
    // processor moved it).
    expect(t.attempts).toBe(extra(t).run === 'payments-2' ? 2 : 1)
    expect(i.retries).toBeNull()
    expect(i.deadLetteredAt).toBeNull()
    expect(i.timestamp).toBe(iso(kafkaRowOf(cap, t).timestamp))
    expect(i.timestamp).toBe(iso(atFailure(t).timestamp))
    expect(i.originalTimestamp).toBe(iso(atFailure(t).timestamp))
    expect(t.failedAt!).toBeGreaterThanOrEqual(t.source.timestamp!)
  })

  it('puts a DLQ record in the partition of its key (the producer default partitioner), not of its source', () => {
    const keyed = orders.filter((t) => kafkaRowOf(cap, t).key !== null)
    expect(keyed.length).toBeGreaterThan(3)
    for (const t of keyed) expect(dlqAt(t).partition).toBe(extra(t).dlqPartitionForKey)
    expect(keyed.some((t) => dlqAt(t).partition !== t.source.partition)).toBe(true)
  })

  it('stats separates the failures, and filters reach stage, message and headers', () => {
    const url = `kafka://${KAFKA_BROKERS}/${DLQ}`
    const stats = dlqJson(['stats', url]).json
    expect(stats.byReason).toHaveLength(new Set(orders.map((t) => JSON.stringify(extra(t).rootCause))).size)
    for (const [stage, name] of Object.entries(STAGE)) {
      const got = dlqJson(['inspect', url, '--filter', `error.stage=${name}`]).json.items
      expect(got.map((x: any) => x.position).sort()).toEqual(orders.filter((t) => extra(t).stage === stage).map((t) => item(t).position).sort())
    }
    const quantity = dlqJson(['inspect', url, '--filter', 'reason~quantity must be positive']).json.items
    expect(quantity.map((x: any) => x.position).sort()).toEqual(orders.filter((t) => /quantity/.test(t.error!.message ?? '')).map((t) => item(t).position).sort())
    const withNull = orders.filter((t) => t.source.headers!.some((h) => h.key === 'nothing' && h.value === null))
    const nulls = dlqJson(['inspect', url, '--filter', 'header.nothing=null']).json.items
    expect(nulls.map((x: any) => x.position)).toEqual(withNull.map((t) => item(t).position))
  })

  it('keeps user headers in their stored order and replays them so, with key and value, to the source partition; the record Streams emptied only with a transform that supplies it', async () => {
    // The JSON view groups repeated names; the decoded record and replay keep the order itself.
    const decoded = await readKafkaRecords(DLQ)
    expect(orders.some((t) => atFailure(t).headers.map((h) => h.key).join() !== grouped(atFailure(t).headers).map(([k]) => k).join())).toBe(true)
    for (const t of orders) expect(userHeaders(decoded.find((d) => d.position === item(t).position)!)).toEqual(exact(atFailure(t).headers))

    const {KafkaFixture} = await import('../kafka-fixtures.js')
    const fx = new KafkaFixture()
    try {
      const target = await fx.topic('kafka-streams-replay', 3)
      const ledger = join(mkdtempSync(join(tmpdir(), 'dlq-streams-capture-')), 'ledger.ndjson')
      const lost = orders.filter(dropped)
      expect(lost).toHaveLength(1)
      const args = ['replay', `kafka://${KAFKA_BROKERS}/${DLQ}`, '--all', '--yes', '--to', target, '--ledger', ledger]
      // The plan skips the record Streams emptied (sending it would send an empty record, not the order) and sends the rest.
      const plan = dlqJson([...args, '--dry-run']).json
      expectSchema('replay-plan', plan)
      expect(plan.items.filter((x: any) => x.action === 'skip').map((x: any) => [x.position, x.reason])).toEqual(lost.map((t) => [item(t).position, 'not_original']))
      expect(plan.items.find((x: any) => x.reason === 'not_original').detail).toMatch(/^neither key nor value is the source's: .*a --transform that returns the payload sends that instead$/)
      expect(plan.summary).toMatchObject({send: orders.length - 1, skip: 1, skipped: {not_original: 1}})
      const r = dlqJson(args)
      expectSchema('replay-result', r.json)
      expect(r.code, JSON.stringify(r.json).slice(0, 1500)).toBe(1)
      expect(r.json.replayed).toBe(orders.length - 1)
      const landed = await readKafkaRecords(target)
      expect(landed).toHaveLength(orders.length - 1)
      const byTrace = (ms: DecodedRecord[], t: Truth) => {
        const trace = t.source.headers!.find((h) => h.key === 'trace-id')!.value
        return ms.filter((x) => x.userHeaders.some((h) => h.key === 'trace-id' && h.value?.equals(b64(trace)!)))
      }
      for (const t of orders) {
        if (dropped(t)) {
          expect(byTrace(landed, t)).toEqual([])
          continue
        }
        const [m] = byTrace(landed, t)
        expect(m.position.startsWith(`${t.source.partition}:`)).toBe(true)
        expect(m.key).toEqual(b64(t.source.key))
        expect(m.payload).toEqual(b64(t.source.value))
        expect(userHeaders(m)).toEqual(exact(atFailure(t).headers))
      }

      // An operator who has the order (from the sink it reached, say) supplies it with a transform: that is what is sent.
      const [t] = lost
      const supply = join(mkdtempSync(join(tmpdir(), 'dlq-streams-capture-')), 'supply.mjs')
      writeFileSync(supply, `export default (r) => (r.notOriginal ? {...r, key: Buffer.from(${JSON.stringify(t.source.key)}, 'base64'), payload: Buffer.from(${JSON.stringify(t.source.value)}, 'base64')} : r)\n`)
      const sent = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${DLQ}`, '--offset', item(t).position, '--yes', '--to', target, '--ledger', ledger, '--transform', supply])
      expect([sent.code, sent.json.replayed], JSON.stringify(sent.json)).toEqual([0, 1])
      const [m] = byTrace(await readKafkaRecords(target), t)
      expect(m.position.startsWith(`${t.source.partition}:`)).toBe(true)
      expect(m.key).toEqual(b64(t.source.key))
      expect(m.payload).toEqual(b64(t.source.value))
      expect(userHeaders(m)).toEqual(exact(atFailure(t).headers))
    } finally {
      await fx.close()
    }
  })
})

describe.runIf(kafka.available)('captured Kafka Streams 4.2.2 dead letters: default LogAndFail handler, restarted', () => {
  const pay = cap.truth.filter((t) => dlqAt(t).topic === PAY_DLQ)
  const payRows = () => ({...cap, kafka: cap.kafka.filter((r) => r.topic === PAY_DLQ)})
  let shown: any[] = []
  beforeAll(async () => {
    await loadKafka(payRows())
    shown = inspectAll(`kafka://${KAFKA_BROKERS}/${PAY_DLQ}`)
  }, 120_000)
  afterAll(async () => dropKafka(payRows()))

  it('dead-letters the record, stops, and dead-letters it again on each restart: records that differ only in position', () => {
    expect(pay.map((t) => [extra(t).case, extra(t).handler, extra(t).runEndState, t.attempts])).toEqual([
      ['pay-bad', 'org.apache.kafka.streams.errors.LogAndFailExceptionHandler', 'ERROR', 1],
      ['pay-bad', 'org.apache.kafka.streams.errors.LogAndFailExceptionHandler', 'ERROR', 2],
    ])
    expect(shown).toHaveLength(2)
    expect(shown[0].position).not.toBe(shown[1].position)
    const [a, b] = shown.map(({position: _, metadata: __, ...rest}) => rest)
    expect(a).toEqual(b)
    expect({topic: a.source.topic, partition: a.source.partition, offset: String(a.source.offset)}).toEqual({topic: pay[0].source.topic, partition: pay[0].source.partition, offset: pay[0].source.offset})
    // nothing tells the second failure from the first: no attempt count, no failure time
    expect(a.retries).toBeNull()
    expect(a.deadLetteredAt).toBeNull()
    expect(pay[1].failedAt!).toBeGreaterThan(pay[0].failedAt!)
  })

  it('replays the message once: the copy a restart dead-lettered again is skipped, naming the first', async () => {
    const {KafkaFixture} = await import('../kafka-fixtures.js')
    const fx = new KafkaFixture()
    try {
      const target = await fx.topic('kafka-streams-payments', 3)
      const ledger = join(mkdtempSync(join(tmpdir(), 'dlq-streams-copies-')), 'ledger.ndjson')
      const args = ['replay', `kafka://${KAFKA_BROKERS}/${PAY_DLQ}`, '--all', '--yes', '--to', target, '--ledger', ledger]
      const r = dlqJson(args)
      expect(r.code, JSON.stringify(r.json).slice(0, 1500)).toBe(0)
      const [first, copy] = [...r.json.items].sort((a: any, b: any) => (a.outcome === 'replayed' ? -1 : 1) - (b.outcome === 'replayed' ? -1 : 1))
      expect([first.outcome, copy.outcome, copy.reason]).toEqual(['replayed', 'skipped', 'already_replayed'])
      expect(copy.error).toContain(`the same source message as position ${first.position}`)
      expect(await readKafkaRecords(target)).toHaveLength(1)
      // Again: the one replayed is in the ledger, and its copy still follows it.
      const again = dlqJson(args)
      expect(again.code).toBe(0)
      expect(again.json.replayed).toBe(0)
      expect(await readKafkaRecords(target)).toHaveLength(1)
    } finally {
      await fx.close()
    }
  })
})

describe('a Kafka Streams record with neither key nor value', () => {
  const at = (frame: string) => `\tat org.apache.kafka.streams.processor.internals.${frame}(X.java:1)`
  const record = (frame: string) =>
    decodeRaw({
      position: '0:0',
      key: null,
      value: null,
      timestamp: 0,
      headers: [
        ['__streams.errors.exception', 'java.lang.IllegalStateException'],
        ['__streams.errors.stacktrace', `java.lang.IllegalStateException\n${at(frame)}`],
        ['__streams.errors.topic', 'orders'],
        ['__streams.errors.partition', '0'],
        ['__streams.errors.offset', '7'],
      ].map(([key, value]) => ({key, value: Buffer.from(value)})),
    })
  it('is not the original message when a processor failed (Streams may have freed the bytes), and is the original when a deserializer failed (before any sink)', () => {
    expect(record('ProcessorNode.process').notOriginal).toMatch(/^neither key nor value is the source's/)
    expect(record('ProcessorNode.process').metadata['dlq.not-original']).toBe(record('ProcessorNode.process').notOriginal)
    for (const f of ['SourceNode.deserializeKey', 'SourceNode.deserializeValue']) {
      expect(record(f).notOriginal).toBeNull()
      expect(record(f).metadata['dlq.not-original']).toBeUndefined()
    }
  })
})

describe('streamsStage', () => {
  const at = (frame: string) => `\tat org.apache.kafka.streams.processor.internals.${frame}(X.java:1)`
  it('takes the Streams frame nearest the throw, and only the top exception\'s frames', () => {
    expect(streamsStage(['java.lang.IllegalStateException: x', '\tat app.P.process(P.java:3)', at('ProcessorNode.process'), at('SourceNode.deserializeKey')].join('\n'))).toBe('processing')
    expect(streamsStage(['org.apache.kafka.common.errors.SerializationException: y', at('SourceNode.deserializeValue'), at('ProcessorNode.process')].join('\r\n'))).toBe('value')
    // a cause's frames say where the cause was thrown, not where Streams caught the failure
    expect(streamsStage(['java.lang.RuntimeException: z', '\tat app.Q.run(Q.java:1)', 'Caused by: java.lang.Error', at('SourceNode.deserializeKey')].join('\n'))).toBeNull()
    expect(streamsStage(null)).toBeNull()
    expect(streamsStage('java.lang.NullPointerException')).toBeNull()
  })
})
