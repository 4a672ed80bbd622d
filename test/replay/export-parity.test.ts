import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {FileLedger} from '../../src/backends/file/ledger.js'
import {exportRecords} from '../../src/core/export.js'
import {MATCH_ALL} from '../../src/core/filter.js'
import {planReplay, type PlanItem, type TimestampPolicy} from '../../src/core/replay/plan.js'
import {openSink} from '../../src/core/replay/open.js'
import type {DlqSink} from '../../src/core/sink.js'
import {openReader} from '../../src/core/source.js'
import {b64, readCapture} from '../helpers/captured.js'
import {dlqJson, FIXTURES} from '../helpers/cli.js'
import {closeRedisSpace, emptyStream, openRedisSpace} from '../helpers/redis-space.js'
import {needService, uniqueName} from '../helpers/services.js'

const kafka = await needService('kafka')
const redis = await needService('redis')

/**
 * A DLQ exported and read back is `dlq`'s own record, but the same messages: replay must plan
 * each exactly as it plans the record read from the DLQ itself (same target partition and how it
 * was chosen, same stream layout, same bytes, same headers left behind), only the position
 * differs. The originals are real conventions: the fixtures, and the captures of real writers
 * loaded into a Kafka topic and a Redis stream.
 */
describe.runIf(kafka.available && redis.available)('replaying an export plans as replaying the DLQ it came from', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  const tmp = mkdtempSync(join(tmpdir(), 'dlq-export-parity-'))
  process.env.DLQ_CACHE_DIR = join(tmp, 'cache')
  let client: import('ioredis').Redis
  let prefix: string
  let kafkaSink: DlqSink
  let redisSink: DlqSink
  /** The replay targets: a Kafka topic of 5 partitions, an empty Redis stream (its layout is the messages' own). */
  let topic: string
  const stream = 'target'
  /** Every DLQ planned here, by name: its URI or path. */
  const sources = new Map<string, string>()

  beforeAll(async () => {
    ;({client, prefix} = await openRedisSpace(redis.address, 'parity'))
    await emptyStream(client, `${prefix}${stream}`)
    topic = await fx.topic('parity-target', 5)
    kafkaSink = await openSink(KAFKA_URI)
    redisSink = await openSink(`${redis.address}?prefix=${encodeURIComponent(prefix)}`)
    for (const f of ['conventions.ndjson', 'mixed.ndjson', 'hyperi.ndjson', 'corrupt.ndjson', 'hostile.ndjson']) sources.set(f, join(FIXTURES, f))
    // Keyed records whose recorded partition the target does not have: librdkafka writers' keys are hashed with crc32.
    const hashed = join(tmp, 'hashed.ndjson')
    const rec = (key: string, headers: Record<string, string>) => JSON.stringify({key, value: `{"k":"${key}"}`, timestamp: 1795341605000, headers})
    writeFileSync(
      hashed,
      [
        rec('user-8', {source_topic: 'orders', source_partition: '9', source_offset: '1', source_attempts: '2', source_consumer_group: 'g'}),
        rec('acme', {original_partition: '12', original_offset: '3'}),
        rec('order-17', {original_topic: 'orders', original_partition: '7', original_offset: '5'}),
      ].join('\n') + '\n',
    )
    sources.set('hashed keys', hashed)
    // Real writers' Kafka DLQ records, byte for byte, each capture in a topic of its own.
    for (const writer of ['spring-kafka', 'kafka-connect', 'arroyo', 'watermill', 'confluent-sr']) {
      const cap = readCapture(writer)
      const dlqTopic = await fx.topic(`parity-${writer}`, Math.max(...cap.kafka.map((r) => r.partition)) + 1)
      await fx.produce(
        dlqTopic,
        cap.kafka.map((r) => ({partition: r.partition, key: b64(r.key), value: b64(r.value), headers: r.headers.map((h): [string, Buffer | null] => [h.key, b64(h.value)]), timestamp: r.timestamp})),
      )
      sources.set(`${writer} (Kafka)`, `${KAFKA_URI}/${dlqTopic}`)
    }
    // ... and Redis DLQ entries (Watermill's poison stream, hyperi-rustlib's `data` entries).
    for (const writer of ['watermill', 'hyperi-rustlib']) {
      const key = `${prefix}${uniqueName(writer)}`
      for (const e of readCapture(writer).redis) {
        await client.xadd(key, e.id, ...(e.fields.flatMap((f) => [Buffer.from(f.name, 'base64'), Buffer.from(f.value, 'base64')]) as unknown as string[]))
      }
      sources.set(`${writer} (Redis)`, `${redis.address}/0/${encodeURIComponent(key)}`)
    }
  }, 120_000)

  afterAll(async () => {
    await Promise.all([kafkaSink?.close(), redisSink?.close()])
    await fx.close()
    await closeRedisSpace(client, prefix)
  })

  /** The source exported to a file, as `dlq export` writes it. */
  async function exported(name: string, uri: string): Promise<string> {
    const reader = await openReader(uri)
    const lines: string[] = []
    try {
      await exportRecords(reader, {filter: MATCH_ALL}, (line) => void lines.push(line))
    } finally {
      await reader.close()
    }
    const path = join(tmp, `${uniqueName(name.replace(/\W+/g, '-'))}.ndjson`)
    writeFileSync(path, lines.join(''))
    return path
  }

  /** Every message of a source planned for --all --to TARGET, with a ledger of its own (nothing replayed yet). */
  async function plan(uri: string, sink: DlqSink, to: string, timestamp: TimestampPolicy): Promise<PlanItem[]> {
    const reader = await openReader(uri)
    try {
      return (await planReplay({reader, sink, ledger: new FileLedger(join(tmp, `${uniqueName('ledger')}.ndjson`))}, {all: true, filter: MATCH_ALL, to, timestamp})).items
    } finally {
      await reader.close()
    }
  }

  /** All a plan item says but where the message is in its DLQ. */
  const planned = ({position: _p, ledgerKey: _k, ledger: _l, ...rest}: PlanItem) =>
    // A copy's detail names the first copy's position, which is another in the export.
    rest.detail ? {...rest, detail: rest.detail.replace(/the same source message as position \S+ /, 'the same source message as position P ')} : rest

  it('for every message of every convention: same partition and partitioner, same layout, same bytes', async () => {
    const seen = {conventions: new Set<string>(), partitionBy: new Set<string>(), layouts: new Set<string>()}
    for (const [name, uri] of sources) {
      const copy = await exported(name, uri)
      for (const [sink, to, timestamp] of [
        [kafkaSink, topic, 'original'],
        [redisSink, stream, 'dlq'],
      ] as const) {
        const original = await plan(uri, sink, to, timestamp)
        const back = await plan(copy, sink, to, timestamp)
        expect(back.map(planned), `${name} → ${sink.info.kind}`).toEqual(original.map(planned))
        for (const it of original) {
          if (it.partitionBy) seen.partitionBy.add(it.partitionBy)
          if (it.layout) seen.layouts.add(it.layout.name)
        }
      }
      for (const line of readFileSync(copy, 'utf8').trim().split('\n')) seen.conventions.add(JSON.parse(line).convention)
    }
    // The comparison covered what depends on the convention: each key hash, each consumer layout.
    expect([...seen.partitionBy].sort()).toEqual(['crc32', 'fnv1a', 'murmur2', 'recorded', 'store'])
    expect([...seen.layouts].sort()).toEqual(['dlq', 'payload', 'watermill'])
    expect([...seen.conventions].sort()).toEqual(['arroyo', 'connect', 'fibril', 'hyperi', 'karafka', 'smallrye', 'spring', 'spring-cloud-stream', 'streams', 'unknown', 'watermill'])
  }, 120_000)

  it("a Watermill Redis DLQ's export is replayed as Watermill entries, which its subscriber reads", async () => {
    const copy = await exported('wm-redis', sources.get('watermill (Redis)')!)
    await emptyStream(client, `${prefix}wm-back`)
    const r = dlqJson(['replay', copy, '--all', '--to', 'wm-back', '--sink', `${redis.address}?prefix=${encodeURIComponent(prefix)}`, '--yes'])
    expect(r.code, r.stderr).toBe(0)
    const entries = (await client.xrangeBuffer(`${prefix}wm-back`, '-', '+')) as unknown as Array<[Buffer, Buffer[]]>
    expect(entries).toHaveLength(readCapture('watermill').redis.length)
    // watermill-redisstream's layout (conventions.md §8), not dlq's own `_dlq 1 / value / headers`.
    for (const [, flat] of entries) expect(flat.filter((_, i) => i % 2 === 0).map(String).sort()).toEqual(['_watermill_message_uuid', 'metadata', 'payload'])
  })

  it('the QA case: Watermill keys on a 4-partition topic land where sarama put them, from the DLQ or its export', async () => {
    const target = await fx.topic('parity-wm', 4)
    const dlq = join(tmp, 'wm.ndjson')
    const line = (k: string) =>
      JSON.stringify({topic: 'poison', partition: 0, offset: 1, timestamp: 1795341605000, key: k, value: 'v', headers: {reason_poisoned: 'bad', topic_poisoned: target, handler_poisoned: 'h'}})
    writeFileSync(dlq, ['user-1', 'user-2', 'user-3', 'abc'].map(line).join('\n') + '\n')
    const copy = await exported('wm', dlq)
    for (const src of [dlq, copy]) {
      const r = dlqJson(['replay', src, '--all', '--sink', KAFKA_URI, '--dry-run'])
      expect(r.json.items.map((i: any) => [i.target.topic, i.target.partition, i.partitionBy]), src).toEqual([
        [target, 0, 'fnv1a'],
        [target, 3, 'fnv1a'],
        [target, 2, 'fnv1a'],
        [target, 3, 'fnv1a'],
      ])
    }
  })
})
