import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {DecodedRecord} from '../../src/core/record.js'
import {b64, dlqAt, dropKafka, firstLine, jsonBytes, jsonHeaders, kafkaRowOf, loadShown, readCapture, readKafkaRecords, simpleName, type Truth} from '../helpers/captured.js'
import {dlqJson} from '../helpers/cli.js'
import {KAFKA_BROKERS, needService} from '../helpers/services.js'

// Real Kafka Connect 4.1.2 dead letters (scripts/capture/kafka-connect): a FileStreamSink with JsonConverter
// (schemas.enable=true), a JSON key converter and two transforms, errors.tolerance=all, DLQ with context headers.
// Every field dlq shows is checked against the source records the capture produced and the failure Connect's
// own classes raise for them (checked against Connect's error log when the capture was made); what the DLQ record
// does not keep (failure time, attempts) must stay null — fixtures/captured/kafka-connect/FINDINGS.md.
const kafka = await needService('kafka')
const cap = readCapture('kafka-connect')
const DLQ = 'connect-orders-dlq'

const iso = (ms: number) => new Date(ms).toISOString()
const extra = (t: Truth) => t.extra as Record<string, any>
/**
 * Headers as dlq's JSON can hold them: an object keyed by name, a repeated name's values as a list in order.
 * Repeats that are not adjacent (tag, nothing, tag) come out grouped under the first occurrence.
 */
const grouped = (hs: Array<{key: string; value: string | null}>) => {
  const names = [...new Set(hs.map((h) => h.key))]
  return names.flatMap((n) => hs.filter((h) => h.key === n).map((h): [string, Buffer | null] => [n, b64(h.value)]))
}
const exact = (hs: Array<{key: string; value: string | null}>) => hs.map((h): [string, Buffer | null] => [h.key, b64(h.value)])
const userHeaders = (r: DecodedRecord) => r.userHeaders.map((h): [string, Buffer | null] => [h.key, h.value])

describe.runIf(kafka.available)('captured Kafka Connect 4.1.2 dead letters', () => {
  /** Each truth line's record as `dlq inspect` shows it. */
  let item: (t: Truth) => any = () => undefined
  beforeAll(async () => {
    item = await loadShown(cap, [DLQ])
  }, 120_000)
  afterAll(async () => dropKafka(cap))

  it('has a truth line for every captured record, failing in every stage the capture provokes', () => {
    expect(cap.manifest.dlq).toEqual([DLQ])
    expect(cap.truth).toHaveLength(cap.kafka.length)
    expect(new Set(cap.truth.map((t) => extra(t).stage))).toEqual(new Set(['KEY_CONVERTER', 'VALUE_CONVERTER', 'TRANSFORMATION']))
  })

  it.each(cap.truth.map((t) => [`${dlqAt(t).partition}:${dlqAt(t).offset} (${extra(t).case})`, t] as const))('%s: every field against the truth', (_, t) => {
    const i = item(t)
    expect(i, 'dlq shows the record').toBeDefined()
    expect(i.convention).toBe('connect')
    expect({topic: i.source.topic, partition: i.source.partition, offset: String(i.source.offset)}).toEqual({topic: t.source.topic, partition: t.source.partition, offset: t.source.offset})
    // a sink connector consumes as the group connect-<connector name>
    expect(i.source.group).toBe(extra(t).group)
    expect(i.source.group).toBe(`connect-${extra(t).connector}`)
    expect(jsonBytes(i.key)).toEqual(b64(t.source.key))
    expect(jsonBytes(i.payload.text ?? {base64: i.payload.base64})).toEqual(b64(t.source.value))
    expect(jsonHeaders(i.headers)).toEqual(grouped(t.source.headers!))

    // The recorded exception is the top one; for unparseable bytes its message is generic and the parser
    // error is the stack trace's last "Caused by:" (the first line of its message).
    const e = t.error!
    const root = extra(t).rootCause as {class: string; message: string | null}
    expect(i.error).toEqual({class: e.class, message: e.message, cause: e.cause === null ? null : {class: root.class, message: firstLine(root.message)}, stage: extra(t).stage})
    expect(i.reason).toBe(root.message === null ? simpleName(root.class) : `${simpleName(root.class)}: ${firstLine(root.message)}`)
    expect(i.metadata['__connect.errors.class.name']).toBe(extra(t).stageClass)
    expect(i.metadata['__connect.errors.task.id']).toBe(extra(t).task)

    // Not in the record: Connect copies the source record's time and keeps no attempt count.
    expect(i.retries).toBeNull()
    expect(i.deadLetteredAt).toBeNull()
    expect(i.timestamp).toBe(iso(kafkaRowOf(cap, t).timestamp))
    expect(i.originalTimestamp).toBe(iso(t.source.timestamp!))
    expect(t.failedAt!).toBeGreaterThan(t.source.timestamp!)
  })

  it('stats separates failures that share one exception class, and filters reach stage and message', () => {
    const url = `kafka://${KAFKA_BROKERS}/${DLQ}`
    const stats = dlqJson(['stats', url]).json
    const distinct = new Set(cap.truth.map((t) => JSON.stringify(extra(t).rootCause)))
    expect(new Set(cap.truth.map((t) => t.error!.class)).size).toBeLessThan(distinct.size)
    expect(stats.byReason).toHaveLength(distinct.size)
    const keyStage = dlqJson(['inspect', url, '--filter', 'error.stage=KEY_CONVERTER']).json.items
    expect(keyStage.map((x: any) => x.position)).toEqual(cap.truth.filter((t) => extra(t).stage === 'KEY_CONVERTER').map((t) => item(t).position))
    const envelope = dlqJson(['inspect', url, '--filter', 'reason~schemas.enable']).json.items
    expect(envelope.map((x: any) => x.position)).toEqual(cap.truth.filter((t) => /schemas\.enable/.test(t.error!.message ?? '')).map((t) => item(t).position))
    const withNull = cap.truth.filter((t) => t.source.headers!.some((h) => h.key === 'nothing' && h.value === null))
    const nulls = dlqJson(['inspect', url, '--filter', 'header.nothing=null']).json.items
    expect(nulls.map((x: any) => x.position)).toEqual(withNull.map((t) => item(t).position))
  })

  it('keeps user headers in their stored order (repeats not adjacent) and replays them so, with key and value', async () => {
    // The JSON view groups repeated names; the decoded record and replay keep the order itself.
    const decoded = await readKafkaRecords(DLQ)
    expect(cap.truth.some((t) => t.source.headers!.map((h) => h.key).join() !== grouped(t.source.headers!).map(([k]) => k).join())).toBe(true)
    for (const t of cap.truth) expect(userHeaders(decoded.find((d) => d.position === item(t).position)!)).toEqual(exact(t.source.headers!))

    const {KafkaFixture} = await import('../kafka-fixtures.js')
    const fx = new KafkaFixture()
    try {
      const target = await fx.topic('connect-replay', 2)
      const ledger = join(mkdtempSync(join(tmpdir(), 'dlq-connect-capture-')), 'ledger.ndjson')
      const r = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${DLQ}`, '--all', '--yes', '--to', target, '--ledger', ledger])
      expect(r.code, JSON.stringify(r.json).slice(0, 1500)).toBe(0)
      expect(r.json.replayed).toBe(cap.truth.length)
      const landed = await readKafkaRecords(target)
      expect(landed).toHaveLength(cap.truth.length)
      for (const t of cap.truth) {
        const [m] = landed.filter((x) => x.payload!.equals(b64(t.source.value)!))
        expect(m.position.startsWith(`${t.source.partition}:`)).toBe(true)
        expect(m.key).toEqual(b64(t.source.key))
        expect(userHeaders(m)).toEqual(exact(t.source.headers!))
      }
    } finally {
      await fx.close()
    }
  })
})
