import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlq as run, dlqJson} from '../helpers/cli.js'
import {needService} from '../helpers/services.js'

const kafka = await needService('kafka')

/**
 * Where and when a replayed record lands on Kafka: the original producer's key hash when no
 * partition is recorded, and the replay's own time unless asked otherwise.
 */
describe.runIf(kafka.available)('replay to Kafka: partitions by the original producer, records stamped now', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())
  const OLD = Date.UTC(2026, 0, 1)
  let dlq: string
  let target: string
  beforeAll(async () => {
    dlq = await fx.topic('targets-dlq', 1)
    target = await fx.topic('targets-orders', 5)
    // Watermill poison records (sarama producer: FNV-1a), no partition recorded; and an Arroyo-like
    // record would be crc32. The keys' sarama partitions on 5 partitions: acme → 0, order-17 → 4.
    await fx.produce(dlq, [
      {key: 'acme', value: '{"n":1}', timestamp: OLD, headers: [['reason_poisoned', 'boom'], ['topic_poisoned', target], ['handler_poisoned', 'h']]},
      {key: 'order-17', value: '{"n":2}', timestamp: OLD, headers: [['reason_poisoned', 'boom'], ['topic_poisoned', target], ['handler_poisoned', 'h']]},
    ])
  })

  it('the plan names the partitioner, and the records land where sarama put the originals', async () => {
    const src = `${KAFKA_URI}/${dlq}`
    const plan = dlqJson(['replay', src, '--offset', '0:0', '--offset', '0:1', '--dry-run'])
    expect(plan.json.items.map((i: any) => [i.target.partition, i.partitionBy])).toEqual([
      [0, 'fnv1a'],
      [4, 'fnv1a'],
    ])
    const started = Date.now()
    const r = dlqJson(['replay', src, '--offset', '0:0', '--offset', '0:1', '--yes'])
    expect(r.code).toBe(0)
    const landed = dlqJson(['inspect', `${KAFKA_URI}/${target}`, '--limit', '10']).json.items
    expect(landed.map((m: any) => [m.position.split(':')[0], m.key]).sort()).toEqual([
      ['0', 'acme'],
      ['4', 'order-17'],
    ])
    // Stamped at the replay, not with the DLQ record's months-old time (retention would delete it).
    for (const m of landed) expect(Date.parse(m.timestamp)).toBeGreaterThanOrEqual(started - 5_000)
  })

  it('--partitioner and --timestamp dlq override the defaults', async () => {
    const src = `${KAFKA_URI}/${dlq}`
    const plan = dlqJson(['replay', src, '--offset', '0:0', '--partitioner', 'murmur2', '--timestamp', 'dlq', '--force', '--dry-run'])
    expect(plan.json.items[0].partitionBy).toBe('murmur2')
    expect(plan.json.summary.timestamp).toBe('dlq')
    const r = dlqJson(['replay', src, '--offset', '0:0', '--timestamp', 'dlq', '--yes', '--force', '--to', target])
    expect(r.code).toBe(0)
    const landed = dlqJson(['inspect', `${KAFKA_URI}/${target}`, '--limit', '10']).json.items
    expect(landed.filter((m: any) => m.timestamp === new Date(OLD).toISOString())).toHaveLength(1)
  })

  it('one message too large for the target is reported alone; its batch-mates are sent, and a rerun stays clean', async () => {
    const small = await fx.topic('targets-small', 1, {'max.message.bytes': '100000'})
    const dir = mkdtempSync(join(tmpdir(), 'dlq-too-large-'))
    const src = join(dir, 'dlq.ndjson')
    const entry = (n: number, bytes: number) =>
      JSON.stringify({timestamp: 1_764_000_000_000 + n, service: 's', reason: 'r', attempts: 0, payload: Buffer.alloc(bytes, 97 + n).toString('base64'), source: {topic: small, partition: 0, offset: n}})
    writeFileSync(src, [entry(0, 10), entry(1, 200_000), entry(2, 10)].join('\n') + '\n')
    const args = ['replay', src, '--all', '--sink', KAFKA_URI, '--yes']
    const r = dlqJson(args)
    expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'replayed', null],
      ['1', 'skipped', 'too_large'],
      ['2', 'replayed', null],
    ])
    expect(r.json.items[1].error).toMatch(/accepts at most 100000 \(max\.message\.bytes\)/)
    expect(r.code).toBe(1)
    const again = dlqJson(args)
    expect(again.json.items.map((i: any) => i.reason)).toEqual(['already_replayed', 'too_large', 'already_replayed'])
    expect(dlqJson(['inspect', `${KAFKA_URI}/${small}`]).json.items).toHaveLength(2)
  })

  it('a recorded target that cannot be a Kafka topic is skipped alone, before the broker is asked; --to is held to the rule', async () => {
    const good = await fx.topic('targets-good', 1)
    const dir = mkdtempSync(join(tmpdir(), 'dlq-bad-name-'))
    const src = join(dir, 'dlq.ndjson')
    const entry = (topic: string, n: number) => JSON.stringify({timestamp: 1_764_000_000_000 + n, service: 's', reason: 'r', attempts: 0, payload: Buffer.from(`m${n}`).toString('base64'), source: {topic, partition: 0, offset: n}})
    writeFileSync(src, [entry(good, 0), entry('orders:events', 1), entry(good, 2)].join('\n') + '\n')
    const r = dlqJson(['replay', src, '--all', '--sink', KAFKA_URI, '--yes'])
    expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'replayed', null],
      ['1', 'skipped', 'target_invalid'],
      ['2', 'replayed', null],
    ])
    expect(r.json.items[1].error).toContain('"orders:events" cannot be a target in kafka://')
    expect(r.json.items[1].error).toContain('a topic name is 1–249 characters')
    expect(r.code).toBe(1)
    expect(dlqJson(['inspect', `${KAFKA_URI}/${good}`]).json.items).toHaveLength(2)
    const to = run(['replay', src, '--offset', '0', '--to', 'x:y', '--sink', KAFKA_URI, '--dry-run'])
    expect([to.code, to.stderr]).toEqual([2, expect.stringContaining('--to "x:y": a topic name is 1–249 characters')])
  })
})
