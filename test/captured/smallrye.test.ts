import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {b64, dlqAt, dropKafka, ensureTopic, firstLine, inspectAll, jsonBytes, jsonHeaders, kafkaRowOf, loadShown, readCapture, simpleName, type Truth} from '../helpers/captured.js'
import {dlq, dlqJson} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {KAFKA_BROKERS, needService} from '../helpers/services.js'

// Real SmallRye Reactive Messaging dead letters (scripts/capture/smallrye): a Quarkus 3.33.2 app on
// quarkus-messaging-kafka (smallrye-reactive-messaging-kafka 4.33.0) whose channels use
// failure-strategy=dead-letter-queue: handlers that throw, a Message nacked with a reason, and deserialization
// failures the connector routes itself (fail-on-deserialization-failure=false); and one channel on
// failure-strategy=delayed-retry-topic (two retry topics, then its DLQ). Every field dlq shows is checked against
// what the app produced and what its handlers threw (truth.ndjson); fixtures/captured/smallrye/FINDINGS.md lists
// what the records do not keep (group; attempts and the source's time on the dead-letter-queue strategy) and so
// must stay null.
const kafka = await needService('kafka')
const cap = readCapture('smallrye')
const RDE = 'org.apache.kafka.common.errors.RecordDeserializationException'

const iso = (ms: number) => new Date(ms).toISOString()
const extra = (t: Truth) => t.extra as Record<string, any>
const deserialization = (t: Truth) => /-deserialization$/.test(extra(t).failure)
const delayed = (t: Truth) => extra(t).failure === 'delayed-retry'
/** Headers as dlq's JSON holds them: keyed by name, a repeated name's values as a list in order. */
const grouped = (hs: Array<{key: string; value: string | null}>) => {
  const names = [...new Set(hs.map((h) => h.key))]
  return names.flatMap((n) => hs.filter((h) => h.key === n).map((h): [string, Buffer | null] => [n, b64(h.value)]))
}
/** What a String channel's deserializer and the DLQ's mirrored StringSerializer make of a key: a UTF-8 round trip. */
const utf8RoundTrip = (b: Buffer | null) => (b === null ? null : Buffer.from(b.toString('utf8'), 'utf8'))
/** Only the key failed to deserialize: SmallRye wrote the key bytes as the value, and the source value is nowhere. */
const valueLost = (t: Truth) => extra(t).failure === 'key-deserialization'
const same = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : a.equals(b))

describe.runIf(kafka.available)('captured SmallRye Reactive Messaging 4.33.0 (Quarkus 3.33.2) dead letters', () => {
  /** Each truth line's record as `dlq inspect` shows it. */
  let item: (t: Truth) => any = () => undefined
  beforeAll(async () => {
    item = await loadShown(cap)
  }, 120_000)
  afterAll(async () => dropKafka(cap))

  it('has a truth line for every captured record, of every kind of failure the capture provokes', () => {
    expect(cap.truth).toHaveLength(cap.kafka.length)
    expect(new Set(cap.truth.map((t) => dlqAt(t).topic))).toEqual(new Set(cap.manifest.dlq))
    expect(new Set(cap.truth.map((t) => extra(t).failure))).toEqual(new Set(['handler-threw', 'nack', 'value-deserialization', 'key-deserialization', 'delayed-retry']))
  })

  it.each(cap.truth.map((t) => [`${dlqAt(t).topic} ${dlqAt(t).partition}:${dlqAt(t).offset} (${extra(t).case})`, t] as const))('%s: every field against the truth', (_, t) => {
    const i = item(t)
    const row = kafkaRowOf(cap, t)
    expect(i, 'dlq shows the record').toBeDefined()
    expect(i.convention).toBe('smallrye')
    // the ROOT source, also for delayed-retry hops made from a retry topic
    expect({topic: i.source.topic, partition: i.source.partition, offset: String(i.source.offset)}).toEqual({topic: t.source.topic, partition: t.source.partition, offset: t.source.offset})
    // The consumer group is known to the app, not written to the DLQ record.
    expect(extra(t).group).toMatch(/^smallrye-/)
    expect(i.source.group).toBeNull()
    expect(i.source.doubt ?? null).toBeNull()

    // The key went through the channel's key deserializer and the DLQ producer's mirrored serializer: a String
    // channel round-trips it through UTF-8 (a non-UTF-8 key comes out with U+FFFD); a key that failed to
    // deserialize is written back from deserialization-failure-key-data, as produced.
    const key = jsonBytes(i.key)
    expect(key).toEqual(b64(row.key))
    if (extra(t).failure === 'key-deserialization') expect(key).toEqual(b64(t.source.key))
    else if (dlqAt(t).topic !== 'dead-letter-topic-smallrye-events') expect(key).toEqual(utf8RoundTrip(b64(t.source.key)))
    expect(same(key, b64(t.source.key))).toBe(extra(t).dlqKeyEqualsSource)

    const payload = i.payload === null ? null : jsonBytes(i.payload.text ?? {base64: i.payload.base64})
    expect(payload).toEqual(b64(row.value))
    if (extra(t).failure === 'key-deserialization') {
      // SmallRye's DLQ serializer falls back to deserialization-failure-data (the KEY bytes) for the value when
      // only the key failed: the source value is not in the record, and dlq says so.
      expect(payload).toEqual(b64(t.source.key))
      expect(payload).not.toEqual(b64(t.source.value))
      expect(i.metadata['dlq.not-original']).toMatch(/SmallRye wrote the key bytes .* as the value; the source value is in no part of this record/)
    } else if (extra(t).dlqValueEqualsSource === false) {
      // The DLQ producer re-serialised the deserialised JsonObject: same JSON, not the same bytes.
      expect(JSON.parse(payload!.toString('utf8'))).toEqual(JSON.parse(b64(t.source.value)!.toString('utf8')))
      expect(payload).not.toEqual(b64(t.source.value))
    } else expect(payload).toEqual(b64(t.source.value))
    if (extra(t).failure !== 'key-deserialization') expect(i.metadata['dlq.not-original']).toBeUndefined()

    // User headers as the source had them (order, repeats, null and empty values); SmallRye's dead-letter-* /
    // delayed-retry-* and the deserialization-failure-* it appends after them are metadata.
    expect(jsonHeaders(i.headers)).toEqual(grouped(t.source.headers!))
    const own = delayed(t) ? /^delayed-retry-/ : /^(dead-letter-|deserialization-failure-)/
    expect(Object.keys(i.metadata).filter((k) => !own.test(k) && k !== 'dlq.not-original')).toEqual([])

    const e = t.error!
    if (deserialization(t)) {
      // The connector wraps the deserializer's failure in a RecordDeserializationException carrying its message;
      // the deserializer's cause is kept as a message only (deserialization-failure-cause), its class nowhere.
      expect(i.error).toEqual({class: RDE, message: e.message, cause: {class: null, message: e.cause!.message}, stage: extra(t).failure === 'key-deserialization' ? 'key' : 'value'})
      expect(i.reason).toBe(firstLine(e.cause!.message))
      expect(i.metadata['deserialization-failure-deserializer']).toBe(extra(t).deserializer)
    } else {
      // What the handler threw or nacked with, unwrapped; a null message is null (SmallRye writes the class name).
      expect(i.error).toEqual({class: e.class, message: e.message, cause: e.cause, stage: null})
      const reason = e.cause?.message
        ? `${simpleName(e.cause.class!)}: ${firstLine(e.cause.message)}`
        : e.cause
          ? simpleName(e.cause.class!) + (e.message ? `: ${firstLine(e.message)}` : '')
          : simpleName(e.class!) + (e.message ? `: ${firstLine(e.message)}` : '')
      expect(i.reason).toBe(reason)
    }

    // The record is produced when the failure strategy runs (its time is the dead-letter time, a few ms after the
    // handler gave up). Only delayed-retry records count attempts (delayed-retry-count + 1) and keep the source's time.
    if (delayed(t)) expect(i.retries).toBe(t.attempts)
    else {
      expect(t.attempts).toBe(1)
      expect(i.retries).toBeNull()
    }
    expect(i.timestamp).toBe(iso(row.timestamp))
    expect(i.deadLetteredAt).toBe(i.timestamp)
    if (t.failedAt !== null) {
      expect(row.timestamp - t.failedAt).toBeGreaterThanOrEqual(0)
      expect(row.timestamp - t.failedAt).toBeLessThan(1000)
    } else expect(deserialization(t)).toBe(true)
    expect(row.timestamp).toBeGreaterThan(t.source.timestamp!)
    expect(i.originalTimestamp).toBe(delayed(t) ? iso(t.source.timestamp!) : null)
  })

  it('stats tells the failures of a channel apart, and reason/header filters find the right records', () => {
    const dlq = `kafka://${KAFKA_BROKERS}/dead-letter-topic-smallrye-orders`
    const orders = cap.truth.filter((t) => dlqAt(t).topic === 'dead-letter-topic-smallrye-orders')
    const stats = dlqJson(['stats', dlq]).json
    expect(stats.total).toBe(orders.length)
    expect(stats.byReason).toHaveLength(orders.length)
    const shipped = orders.filter((t) => t.error!.cause?.message === 'warehouse unreachable')
    expect(shipped).toHaveLength(1)
    expect(dlqJson(['inspect', dlq, '--filter', 'reason~warehouse']).json.items.map((f: any) => f.position)).toEqual([item(shipped[0]).position])
    const withNull = orders.filter((t) => t.source.headers!.some((h) => h.key === 'note' && h.value === null))
    expect(withNull).toHaveLength(1)
    expect(dlqJson(['inspect', dlq, '--filter', 'header.note=null']).json.items.map((f: any) => f.position)).toEqual([item(withNull[0]).position])
    // deserialization-failure-* are metadata, not headers a filter on user headers sees
    const events = `kafka://${KAFKA_BROKERS}/dead-letter-topic-smallrye-events`
    expect(dlqJson(['inspect', events, '--filter', 'header.deserialization-failure-data=missing']).json.items).toHaveLength(cap.truth.filter((t) => dlqAt(t).topic === 'dead-letter-topic-smallrye-events').length)
  })

  it('plans replay of every record that holds its message to its source topic and partition with only the user headers, and skips the one that does not (not_original)', async () => {
    for (const topic of cap.manifest.sources as string[]) {
      const ts = cap.truth.filter((t) => t.source.topic === topic)
      await ensureTopic(topic, Math.max(...ts.map((t) => t.source.partition!)) + 1)
    }
    for (const topic of cap.manifest.dlq as string[]) {
      const ledger = join(mkdtempSync(join(tmpdir(), 'dlq-smallrye-capture-')), 'ledger.ndjson')
      const r = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${topic}`, '--all', '--dry-run', '--yes', '--ledger', ledger])
      const plan = r.json
      expectSchema('replay-plan', plan)
      const truths = cap.truth.filter((t) => dlqAt(t).topic === topic)
      const lost = truths.filter(valueLost)
      expect(plan.summary).toMatchObject({send: truths.length - lost.length, skip: lost.length, skipped: lost.length > 0 ? {not_original: lost.length} : {}})
      for (const t of truths) {
        const p = plan.items.find((x: any) => x.position === item(t).position)
        if (valueLost(t)) {
          // The value SmallRye wrote is the key's bytes: sending it would be another message.
          expect(p).toMatchObject({action: 'skip', reason: 'not_original', target: null})
          expect(p.detail).toMatch(/^the value is not the source's: .*replay sends only the original message; a --transform that returns the payload sends that instead$/)
          continue
        }
        expect(p.action).toBe('send')
        expect(p.target).toEqual({topic: t.source.topic, partition: t.source.partition})
        expect(p.headersKept).toEqual([...new Set(t.source.headers!.map((h) => h.key))])
        expect(p.headersRemoved.every((h: string) => /^(dead-letter-|delayed-retry-|deserialization-failure-)/.test(h))).toBe(true)
      }
    }
  })

  it('replays every record that holds its message to a target byte for byte: the DLQ key and value, and only the source headers; never the key bytes as a value', async () => {
    const {KafkaFixture} = await import('../kafka-fixtures.js')
    const fx = new KafkaFixture()
    try {
      for (const topic of cap.manifest.dlq as string[]) {
        const ledger = join(mkdtempSync(join(tmpdir(), 'dlq-smallrye-capture-')), 'ledger.ndjson')
        const target = await fx.topic('smallrye-replay', 3)
        const r = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${topic}`, '--all', '--yes', '--to', target, '--ledger', ledger])
        const truths = cap.truth.filter((t) => dlqAt(t).topic === topic)
        const lost = truths.filter(valueLost)
        expectSchema('replay-result', r.json)
        // A message not replayed is one still to deal with: exit 1, as for the other skips.
        expect(r.code, JSON.stringify(r.json)).toBe(lost.length > 0 ? 1 : 0)
        expect(r.json.replayed, JSON.stringify(r.json).slice(0, 1500)).toBe(truths.length - lost.length)
        expect(r.json.items.filter((x: any) => x.outcome === 'skipped').map((x: any) => [x.position, x.reason])).toEqual(lost.map((t) => [item(t).position, 'not_original']))
        const landed = inspectAll(`kafka://${KAFKA_BROKERS}/${target}`)
        expect(landed).toHaveLength(truths.length - lost.length)
        for (const t of truths) {
          if (valueLost(t)) {
            expect(landed.some((m) => same(jsonBytes(m.key), b64(t.source.key)))).toBe(false)
            continue
          }
          const row = kafkaRowOf(cap, t)
          const value = (m: any) => (m.payload === null ? null : jsonBytes(m.payload.text ?? {base64: m.payload.base64}))
          const got = landed.filter((m) => same(value(m), b64(row.value)) && same(jsonBytes(m.key), b64(row.key)))
          expect(got).toHaveLength(1)
          expect(got[0].convention).toBe('unknown')
          expect(jsonHeaders(got[0].headers)).toEqual(grouped(t.source.headers!))
        }
      }
    } finally {
      await fx.close()
    }
  })

  it('sends the record whose value SmallRye lost only with a --transform that supplies the value (then exit 0, and a rerun sends nothing); --set or a transform that keeps the payload leaves it skipped; an export keeps the fact', async () => {
    const [t] = cap.truth.filter(valueLost)
    const topic = dlqAt(t).topic
    const dlqUrl = `kafka://${KAFKA_BROKERS}/${topic}`
    const pos = item(t).position
    const dir = mkdtempSync(join(tmpdir(), 'dlq-smallrye-capture-'))
    const ledger = join(dir, 'ledger.ndjson')
    const value = b64(t.source.value)!.toString('utf8')
    // What an operator who has the source value (from the producer's outbox, say) would write.
    const supply = join(dir, 'supply.mjs')
    writeFileSync(supply, `export default (r) => (r.notOriginal ? {...r, text: ${JSON.stringify(value)}} : r)\n`)
    const keep = join(dir, 'keep.mjs')
    writeFileSync(keep, 'export default (r) => ({...r, headers: [...r.headers, {key: "seen", value: "1"}]})\n')
    const {KafkaFixture} = await import('../kafka-fixtures.js')
    const fx = new KafkaFixture()
    try {
      const target = await fx.topic('smallrye-supplied', 3)
      const base = ['replay', dlqUrl, '--offset', pos, '--to', target, '--ledger', ledger, '--yes']
      for (const edit of [['--set', 'payload.id="e-3"'], ['--transform', keep]]) {
        const r = dlqJson([...base, ...edit])
        expect([r.code, r.json.items.map((x: any) => [x.outcome, x.reason])], JSON.stringify(r.json)).toEqual([1, [['skipped', 'not_original']]])
      }
      const sent = dlqJson([...base, '--transform', supply])
      expect([sent.code, sent.json.replayed], JSON.stringify(sent.json)).toEqual([0, 1])
      const landed = inspectAll(`kafka://${KAFKA_BROKERS}/${target}`)
      expect(landed).toHaveLength(1)
      // The supplied value with the key and headers the record holds (the key failed to deserialize: those bytes are the source's).
      expect(jsonBytes(landed[0].payload.text ?? {base64: landed[0].payload.base64})).toEqual(b64(t.source.value))
      expect(jsonBytes(landed[0].key)).toEqual(b64(t.source.key))
      expect(jsonHeaders(landed[0].headers)).toEqual(grouped(t.source.headers!))
      // Replayed once, it is replayed: the same command without the transform has nothing left to do.
      const again = dlqJson(base)
      expect([again.code, again.json.items.map((x: any) => x.reason)]).toEqual([0, ['already_replayed']])
    } finally {
      await fx.close()
    }
    // Exported and read back (convention dlq), the record still holds the key bytes as its value: still not sent.
    const exported = join(dir, 'events.ndjson')
    writeFileSync(exported, dlq(['inspect', dlqUrl, '--output', 'ndjson', '--limit', '5000', '--payload-limit', String(1024 * 1024)]).stdout)
    const back = dlqJson(['replay', exported, '--all', '--dry-run', '--yes', '--sink', `kafka://${KAFKA_BROKERS}`, '--ledger', join(dir, 'export-ledger.ndjson')]).json
    const mine = back.items.filter((x: any) => x.reason === 'not_original')
    expect(mine).toHaveLength(1)
    expect(mine[0].detail).toMatch(/^the value is not the source's/)
  })
})
