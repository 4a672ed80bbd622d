import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {b64, dropKafka, inspectAll, jsonBytes, jsonHeaders, kafkaKey, loadKafka, readCapture, type Truth} from '../helpers/captured.js'
import {dlq, dlqJson} from '../helpers/cli.js'
import {KAFKA_BROKERS, needService} from '../helpers/services.js'

// fixtures/captured/arroyo: Sentry Arroyo 2.48's own KafkaDlqProducer, fed by a StreamProcessor whose
// strategy raised InvalidMessage (scripts/capture/arroyo). Every field dlq shows is checked against what
// the strategy saw; what Arroyo does not write must read as null, never guessed.
const kafka = await needService('kafka')
const cap = readCapture('arroyo')
const dlqTopic = cap.manifest.dlq[0] as string
const source = `kafka://${KAFKA_BROKERS}/${dlqTopic}`
type KafkaDlq = {topic: string; partition: number; offset: number}

describe.runIf(kafka.available)('captured Sentry Arroyo DLQ', () => {
  let items: any[]
  let where: Map<string, string>
  const itemOf = (t: Truth) => {
    const d = t.dlq as KafkaDlq
    const it = items.find((i) => i.position === where.get(kafkaKey(d.topic, d.partition, d.offset)))
    expect(it, `dlq item for ${JSON.stringify(t.dlq)}`).toBeDefined()
    return it
  }
  const rowOf = (t: Truth) => {
    const d = t.dlq as KafkaDlq
    return cap.kafka.find((r) => r.topic === d.topic && r.partition === d.partition && r.offset === d.offset)!
  }

  beforeAll(async () => {
    where = await loadKafka(cap)
    items = inspectAll(source)
  })
  afterAll(async () => dropKafka(cap))

  it('reads every captured record as arroyo, one per truth line', () => {
    expect(cap.truth).toHaveLength(8)
    expect(items).toHaveLength(cap.truth.length)
    for (const t of cap.truth) expect(itemOf(t).convention).toBe('arroyo')
  })

  it('gives the source partition Python Arroyo wrote, and the exact offset, for every record', () => {
    for (const t of cap.truth) {
      const it = itemOf(t)
      expect(it.source.partition, String(t.extra?.case)).toBe(t.source.partition)
      expect(String(it.source.offset), String(t.extra?.case)).toBe(t.source.offset)
    }
  })

  it('marks partition == offset as doubtful (rust-arroyo would write the offset there), and nothing else', () => {
    const equal = cap.truth.filter((t) => t.extra?.partitionEqualsOffset)
    expect(equal.map((t) => `${t.source.partition}@${t.source.offset}`).sort()).toEqual(['0@0', '1@1', '2@2'])
    for (const t of cap.truth) {
      const doubt = itemOf(t).source.doubt
      if (t.extra?.partitionEqualsOffset) expect(doubt, String(t.extra?.case)).toMatch(/rust-arroyo/)
      else expect(doubt ?? null, String(t.extra?.case)).toBeNull()
    }
  })

  it('selects by source.partition with the doubtful partitions included, as recorded', () => {
    for (const p of [0, 1, 2]) {
      const r = dlqJson(['inspect', source, '--filter', `source.partition=${p}`, '--json', '--limit', '100'])
      expect(r.code).toBe(0)
      const want = cap.truth.filter((t) => t.source.partition === p).map((t) => where.get(kafkaKey((t.dlq as KafkaDlq).topic, (t.dlq as KafkaDlq).partition, (t.dlq as KafkaDlq).offset)))
      expect(r.json.items.map((i: any) => i.position).sort()).toEqual(want.sort())
    }
  })

  it('has no source topic (Arroyo writes none) and hints it from Sentry\'s <topic>-dlq naming', () => {
    for (const t of cap.truth) {
      const it = itemOf(t)
      expect(it.source.topic).toBeNull()
      expect(it.metadata['dlq.source-topic-hint']).toBe(t.source.topic)
      expect(it.source.group).toBeNull() // the consumer group (truth extra.group) is not written
    }
  })

  it('keeps key bytes: binary, empty and null apart', () => {
    for (const t of cap.truth) expect(jsonBytes(itemOf(t).key), String(t.extra?.case)).toEqual(b64(t.source.key))
    const keys = cap.truth.map((t) => t.source.key)
    expect(keys).toContain(null)
    expect(keys).toContain('')
  })

  it('keeps payload bytes; a tombstone reads as the empty value Arroyo dead-lettered (its null is lost before the DLQ)', () => {
    for (const t of cap.truth) {
      const p = itemOf(t).payload
      const bytes = p.base64 !== undefined ? Buffer.from(p.base64, 'base64') : Buffer.from(p.text, 'utf8')
      expect(bytes, String(t.extra?.case)).toEqual(b64(t.source.value))
      expect(p.size).toBe(b64(t.source.value)!.length)
    }
    const tombstones = cap.truth.filter((t) => t.extra?.sourceValueWasNull)
    expect(tombstones).toHaveLength(2)
    for (const t of tombstones) expect(itemOf(t).payload.size).toBe(0)
  })

  it('shows exactly the source headers as user headers (order, repeats, null and empty values), Arroyo\'s own only as metadata', () => {
    for (const t of cap.truth) {
      const it = itemOf(t)
      expect(jsonHeaders(it.headers), String(t.extra?.case)).toEqual(t.source.headers!.map((h) => [h.key, b64(h.value)]))
      expect(Object.keys(it.headers)).not.toContain('original_partition')
      expect(Object.keys(it.headers)).not.toContain('original_offset')
      expect(String(it.metadata.original_partition)).toBe(String(t.source.partition))
      expect(String(it.metadata.original_offset)).toBe(t.source.offset)
    }
  })

  it('tells a null header from a missing one', () => {
    const isNull = dlqJson(['inspect', source, '--filter', 'header.null-header=null', '--json'])
    const missing = dlqJson(['inspect', source, '--filter', 'header.null-header=missing', '--json'])
    const withNull = cap.truth.filter((t) => t.source.headers!.some((h) => h.key === 'null-header' && h.value === null))
    expect(withNull).toHaveLength(1)
    expect(isNull.json.items).toHaveLength(1)
    expect(missing.json.items).toHaveLength(cap.truth.length - 1)
  })

  it('has no reason, error or retries: Arroyo drops InvalidMessage.reason and counts nothing', () => {
    for (const t of cap.truth) {
      const it = itemOf(t)
      expect(t.error?.message).toBeTruthy() // the strategy had a reason; it is not in the record
      expect(it.reason).toBeNull()
      expect(it.error).toBeNull()
      expect(t.attempts).toBe(1)
      expect(it.retries).toBeNull()
    }
  })

  it('takes the record time as the dead-letter time; the source record time is not recorded', () => {
    for (const t of cap.truth) {
      const it = itemOf(t)
      const recordTime = rowOf(t).timestamp
      expect(Date.parse(it.timestamp)).toBe(recordTime)
      expect(Date.parse(it.deadLetteredAt)).toBe(recordTime)
      // The DLQ producer stamps the record just after the strategy raised.
      expect(recordTime - t.failedAt!).toBeGreaterThanOrEqual(-1)
      expect(recordTime - t.failedAt!).toBeLessThan(5000)
      expect(t.source.timestamp).not.toBeNull()
      expect(it.originalTimestamp).toBeNull()
    }
  })

  it('counts the capture in stats: one convention, no reason or topic recorded', () => {
    const r = dlqJson(['stats', source, '--json'])
    expect(r.code).toBe(0)
    expect(r.json.total).toBe(cap.truth.length)
    expect(r.json.byConvention).toEqual([{value: 'arroyo', count: cap.truth.length}])
  })

  it('shows the doubt where people look: the table, stats and the replay plan', async () => {
    const equal = cap.truth.filter((t) => t.extra?.partitionEqualsOffset)
    const hint = dlqTopic.replace(/-dlq$/, '')
    const table = dlq(['inspect', source, '--output', 'wide', '--limit', '50'], {env: {COLUMNS: '250'}}).stdout
    for (const t of equal) expect(table).toContain(`${hint}?/${t.source.partition}?@${t.source.offset}`)
    const sure = cap.truth.find((t) => !t.extra?.partitionEqualsOffset)!
    expect(table).toContain(`${hint}?/${sure.source.partition}@${sure.source.offset}`)
    const stats = dlq(['stats', source]).stdout
    expect(stats).toMatch(new RegExp(`Doubtful: +${equal.length} `))
    expect(dlqJson(['stats', source]).json.doubtful).toBe(equal.length)
    const positions = equal.map((t) => itemOf(t).position)
    const {KafkaFixture} = await import('../kafka-fixtures.js')
    const fx = new KafkaFixture()
    try {
      const target = await fx.topic('arroyo-replay', 3)
      const plan = dlq(['replay', source, ...positions.flatMap((p) => ['--offset', p]), '--to', target, '--dry-run'])
      expect(plan.stdout).toMatch(/doubtful: the recorded partition may be the offset/)
      expect(dlqJson(['replay', source, ...positions.flatMap((p) => ['--offset', p]), '--to', target, '--dry-run']).json.items.every((i: any) => /rust-arroyo/.test(i.doubt))).toBe(true)
    } finally {
      await fx.close()
    }
  })
})
