import diagnostics from 'node:diagnostics_channel'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {KafkaClient} from '../src/backends/kafka/client.js'
import {openKafkaReader} from '../src/backends/kafka/index.js'
import {parseKafkaUri} from '../src/backends/kafka/uri.js'
import {zstdAvailable} from '../src/backends/kafka/codecs.js'
import {decodeRaw} from '../src/core/conventions/index.js'
import {UnavailableError, UsageError} from '../src/core/errors.js'
import {buildFilter, MATCH_ALL} from '../src/core/filter.js'
import type {DlqReader} from '../src/core/reader.js'
import type {DecodedRecord} from '../src/core/record.js'
import {i32, i64} from './helpers/raw.js'
import {needService} from './helpers/services.js'
import {KAFKA_URI, KafkaFixture, type HeaderPairs, type TestMessage} from './kafka-fixtures.js'

const svc = await needService('kafka')
const T0 = 1_764_000_000_000

/** One DLQ record of every Kafka convention in conventions.md, as its writer would produce it. */
const CONVENTIONS: Array<{name: string; convention: string; key?: string; value: string; headers: HeaderPairs; source: object; reason?: string | null}> = [
  {
    name: 'spring',
    convention: 'spring',
    value: '{"order":17}',
    headers: [
      ['kafka_dlt-original-topic', 'orders'],
      ['kafka_dlt-original-partition', i32(3)],
      ['kafka_dlt-original-offset', i64(12345)],
      ['kafka_dlt-original-timestamp', i64(T0 - 5000)],
      ['kafka_dlt-original-timestamp-type', 'CreateTime'],
      ['kafka_dlt-original-consumer-group', 'workers'],
      ['kafka_dlt-exception-fqcn', 'org.springframework.kafka.listener.ListenerExecutionFailedException'],
      ['kafka_dlt-exception-cause-fqcn', 'com.fasterxml.jackson.core.JsonParseException'],
      ['kafka_dlt-exception-message', 'Unexpected character'],
      ['trace', 'abc'],
    ],
    source: {topic: 'orders', partition: 3, offset: 12345, group: 'workers'},
    reason: 'JsonParseException: Unexpected character',
  },
  {
    name: 'spring-twice',
    convention: 'spring',
    value: 'x',
    // Dead-lettered twice: the first original-* set is the root source.
    headers: [
      ['kafka_dlt-original-topic', 'orders'],
      ['kafka_dlt-original-partition', i32(1)],
      ['kafka_dlt-original-offset', i64(10)],
      ['kafka_dlt-original-topic', 'orders-dlt'],
      ['kafka_dlt-original-partition', i32(0)],
      ['kafka_dlt-original-offset', i64(99)],
    ],
    source: {topic: 'orders', partition: 1, offset: 10},
  },
  {
    name: 'scs',
    convention: 'spring-cloud-stream',
    value: 'p',
    headers: [
      ['x-original-topic', 'payments'],
      ['x-original-partition', i32(2)],
      ['x-original-offset', i64(77)],
      ['x-exception-fqcn', 'java.lang.IllegalStateException'],
    ],
    source: {topic: 'payments', partition: 2, offset: 77},
  },
  {
    name: 'connect',
    convention: 'connect',
    value: 'c',
    headers: [
      ['__connect.errors.topic', 'inventory'],
      ['__connect.errors.partition', '2'],
      ['__connect.errors.offset', '881'],
      ['__connect.errors.exception.class.name', 'org.apache.kafka.connect.errors.DataException'],
      ['__connect.errors.exception.message', null],
    ],
    source: {topic: 'inventory', partition: 2, offset: 881},
  },
  {
    name: 'streams',
    convention: 'streams',
    value: 's',
    headers: [
      ['__streams.errors.topic', 'clicks'],
      ['__streams.errors.partition', '0'],
      ['__streams.errors.offset', '42'],
      ['__streams.errors.exception', 'org.apache.kafka.common.errors.SerializationException'],
    ],
    source: {topic: 'clicks', partition: 0, offset: 42},
  },
  {
    name: 'smallrye',
    convention: 'smallrye',
    value: 'm',
    headers: [
      ['dead-letter-reason', 'price must be positive'],
      ['dead-letter-topic', 'prices'],
      ['dead-letter-partition', '0'],
      ['dead-letter-offset', '314'],
      ['tenant', 'eu-1'],
    ],
    source: {topic: 'prices', partition: 0, offset: 314},
    reason: 'price must be positive',
  },
  {
    name: 'fibril',
    convention: 'fibril',
    value: 'f',
    headers: [
      ['stroma.dlq.source_topic', 'jobs'],
      ['stroma.dlq.source_group', 'runners'],
      ['stroma.dlq.source_offset', '9001'],
      ['stroma.dlq.retry_count', '5'],
      ['stroma.dlq.reason', 'retries_exhausted'],
      ['stroma.dlq.dead_lettered_at_ms', String(T0 + 500)],
      ['priority', 'high'],
    ],
    source: {topic: 'jobs', partition: null, offset: 9001, group: 'runners'},
    reason: 'retries_exhausted',
  },
  {
    name: 'karafka25',
    convention: 'karafka',
    value: 'k',
    headers: [
      ['source_topic', 'clicks'],
      ['source_partition', '4'],
      ['source_offset', '123456'],
      ['source_consumer_group', 'g'],
      ['source_attempts', '3'],
      ['source_trace_id', '6f1c3a2e-8d7b-4c1e-9a55-0b2f6c1d9e10'],
    ],
    source: {topic: 'clicks', partition: 4, offset: 123456, group: 'g'},
  },
  {
    name: 'karafka-legacy',
    convention: 'karafka',
    value: 'k',
    headers: [
      ['original_topic', 'clicks'],
      ['original_partition', '1'],
      ['original_offset', '777'],
      ['original_attempts', '2'],
      ['original_key', 'user-8'],
    ],
    source: {topic: 'clicks', partition: 1, offset: 777},
  },
  {name: 'arroyo', convention: 'arroyo', value: 'a', headers: [['original_partition', '2'], ['original_offset', '31337']], source: {topic: null, partition: 2, offset: 31337}},
  {
    name: 'watermill',
    convention: 'watermill',
    value: 'w',
    headers: [
      ['reason_poisoned', 'bad'],
      ['topic_poisoned', 'notifications'],
      ['handler_poisoned', 'h'],
    ],
    source: {topic: 'notifications'},
    reason: 'bad',
  },
  {
    name: 'hyperi',
    convention: 'hyperi',
    value: JSON.stringify({timestamp: T0, service: 'ingest', reason: 'parse_error', attempts: 2, payload: Buffer.from('{"a":1}').toString('base64'), source: {topic: 'events', partition: 1, offset: 5}}),
    headers: [],
    source: {topic: 'events', partition: 1, offset: 5},
    reason: 'parse_error',
  },
]

/** Everything a record means, without where it sits (position and store timestamp differ by store). */
function meaning(r: DecodedRecord) {
  // identity is the store's (a Kafka topic id), not the decoder's.
  const {position: _p, timestamp: _t, identity: _i, ...rest} = r
  return rest
}

async function pageAll(reader: DlqReader, limit: number, from: string | null = null, filter = MATCH_ALL) {
  const pages = []
  let cursor = from
  for (let i = 0; i < 100; i++) {
    const page = await reader.page({from: cursor, limit, filter})
    pages.push(page)
    cursor = page.next
    if (page.atEnd) break
  }
  return pages
}

/**
 * The requests `f` sends, by API name, seen on the client library's own diagnostics channels:
 * every connection created while `f` runs is counted as its own (nothing else in this file
 * connects meanwhile), and every request sent on those. `seen` fills as they go.
 */
async function requestsOf(f: (seen: string[]) => Promise<void>): Promise<{sent: string[]; connections: number; fetchedBytes: number}> {
  const mine = new Set<unknown>()
  const sent: string[] = []
  let fetchedBytes = 0
  const names: Record<number, string> = {1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 18: 'ApiVersions'}
  const onInstance = (m: unknown) => {
    const {type, instance} = m as {type: string; instance: unknown}
    if (type === 'connection') mine.add(instance)
  }
  const onRequest = (m: unknown) => {
    const {connection, apiKey} = m as {connection: unknown; apiKey: number}
    if (mine.has(connection)) sent.push(names[apiKey] ?? String(apiKey))
  }
  // The record bytes of each Fetch answer (as the reader's own response parser returns them).
  const onAnswer = (m: unknown) => {
    const {connection, apiKey, result} = m as {connection: unknown; apiKey: number; result?: {partitions?: Map<number, {records: Buffer | null}>}}
    if (mine.has(connection) && apiKey === 1) for (const p of result?.partitions?.values() ?? []) fetchedBytes += p.records?.length ?? 0
  }
  const requests = diagnostics.tracingChannel('plt:kafka:connections:api')
  diagnostics.subscribe('plt:kafka:instances', onInstance)
  requests.start.subscribe(onRequest)
  requests.asyncStart.subscribe(onAnswer)
  try {
    await f(sent)
  } finally {
    diagnostics.unsubscribe('plt:kafka:instances', onInstance)
    requests.start.unsubscribe(onRequest)
    requests.asyncStart.unsubscribe(onAnswer)
  }
  return {sent, connections: mine.size, fetchedBytes}
}

describe.skipIf(!svc.available)('kafka reader (real broker)', () => {
  const kafka = new KafkaFixture()
  const readers: DlqReader[] = []
  const open = async (topic: string, query = '') => {
    const r = await openKafkaReader(`${KAFKA_URI}/${topic}${query}`)
    readers.push(r)
    return r
  }

  afterAll(async () => {
    for (const r of readers) await r.close().catch(() => {})
    await kafka.close()
  })

  describe('conventions', () => {
    let topic: string
    beforeAll(async () => {
      topic = await kafka.topic('conv')
      await kafka.produce(
        topic,
        CONVENTIONS.map((c, i) => ({partition: i % 3, key: c.key ?? c.name, value: c.value, headers: c.headers, timestamp: T0 + 100 + i})),
      )
    })

    it('reads every convention from headers as raw bytes, exactly as the in-memory decoder does', async () => {
      const reader = await open(topic)
      const page = await reader.page({from: null, limit: 100, filter: MATCH_ALL})
      expect(page.records).toHaveLength(CONVENTIONS.length)
      expect(page.atEnd).toBe(true)
      // Store timestamps are unique per test record (hyperi's comes from its JSON instead).
      const byTime = new Map(page.records.map((r) => [r.timestamp, r]))
      CONVENTIONS.forEach((c, i) => {
        const rec = c.convention === 'hyperi' ? page.records.find((r) => r.convention === 'hyperi') : byTime.get(T0 + 100 + i)
        expect(rec, c.name).toBeDefined()
        expect(rec!.convention, c.name).toBe(c.convention)
        expect(rec!.source, c.name).toMatchObject(c.source)
        if (c.reason !== undefined) expect(rec!.reason, c.name).toBe(c.reason)
        expect(rec!.position).toMatch(new RegExp(`^${i % 3}:\\d+$`))
        if (c.convention !== 'hyperi') expect(rec!.timestamp).toBe(T0 + 100 + i)
        const local = decodeRaw({
          position: rec!.position,
          key: Buffer.from(c.key ?? c.name),
          value: Buffer.from(c.value),
          headers: c.headers.map(([key, v]) => ({key, value: v === null ? null : Buffer.from(v)})),
          timestamp: T0 + 100 + i,
          dlqTopic: topic,
        })
        expect(meaning(rec!), c.name).toEqual(meaning(local))
      })
    })

    it('keeps a repeated Spring original-* set in order and binary numbers decoded', async () => {
      const reader = await open(topic)
      const page = await reader.page({from: null, limit: 100, filter: buildFilter({filters: ['key=spring-twice']})})
      expect(page.records).toHaveLength(1)
      expect(page.records[0].metadata['kafka_dlt-original-topic']).toEqual(['orders', 'orders-dlt'])
      expect(page.records[0].metadata['kafka_dlt-original-offset']).toEqual([10, 99])
    })

    it('a null header value stays null and Karafka 2.4 takes its key from original_key', async () => {
      const reader = await open(topic)
      const page = await reader.page({from: null, limit: 100, filter: MATCH_ALL})
      const connect = page.records.find((r) => r.convention === 'connect')!
      expect(connect.metadata['__connect.errors.exception.message']).toBeNull()
      const legacy = page.records.find((r) => r.source.offset === 777)!
      expect(legacy.key?.toString()).toBe('user-8')
    })
  })

  describe('positions and paging', () => {
    let topic: string
    const msg = (partition: number, i: number): TestMessage => ({partition, key: `p${partition}-${i}`, value: `v${i}`, timestamp: T0 + i * 1000})
    beforeAll(async () => {
      topic = await kafka.topic('paging')
      // Uneven on purpose: 7 in partition 0, none in 1, 5 in 2.
      await kafka.produceBulk(topic, [...Array.from({length: 7}, (_, i) => msg(0, i)), ...Array.from({length: 5}, (_, i) => msg(2, i))])
    })

    it('pages partitions in ascending order and the cursor resumes exactly, without gaps or repeats', async () => {
      const reader = await open(topic)
      const pages = await pageAll(reader, 3)
      const positions = pages.flatMap((p) => p.records.map((r) => r.position))
      expect(positions).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4', '0:5', '0:6', '2:0', '2:1', '2:2', '2:3', '2:4'])
      for (const p of pages) expect(p.records.length).toBeLessThanOrEqual(3)
      expect(pages[0].next).toBe('0:3,1:0,2:0')
      expect(pages.at(-1)!.next).toBe('0:7,1:0,2:5')
      expect(pages.at(-1)!.atEnd).toBe(true)
    })

    it('a cursor taken at the end continues with what was appended to any partition since', async () => {
      const topic = await kafka.topic('growth')
      await kafka.produceBulk(topic, [msg(0, 1), msg(2, 2)])
      const reader = await open(topic)
      const end = (await pageAll(reader, 50)).at(-1)!.next!
      const extra = await kafka.produce(topic, [msg(0, 100), msg(1, 101)])
      const page = await reader.page({from: end, limit: 10, filter: MATCH_ALL})
      expect(page.records.map((r) => r.position)).toEqual(extra)
      expect(page.atEnd).toBe(true)
    })

    it('--from P:O starts there and goes on with the later partitions from their start', async () => {
      const reader = await open(topic)
      const page = await reader.page({from: reader.parsePosition('0:5'), limit: 4, filter: MATCH_ALL})
      // Partition 1 is empty: after 0:6 comes 2:0.
      expect(page.records.map((r) => r.position)).toEqual(['0:5', '0:6', '2:0', '2:1'])
      expect(page.next).toBe('0:7,1:0,2:2')
      const later = await reader.page({from: '2:3', limit: 50, filter: MATCH_ALL})
      expect(later.records.map((r) => r.position)).toEqual(['2:3', '2:4'])
    })

    it('a page at a deep offset reads only that neighbourhood (scanned counts examined records)', async () => {
      const reader = await open(topic)
      const page = await reader.page({from: '0:4', limit: 2, filter: MATCH_ALL})
      expect(page.records.map((r) => r.position)).toEqual(['0:4', '0:5'])
      expect(page.scanned).toBe(2)
      expect(page.next).toBe('0:6,1:0,2:0')
    })

    it('a page costs one ApiVersions, one Metadata, the two pipelined ListOffsets and one Fetch, over one connection', async () => {
      const {sent, connections} = await requestsOf(async () => {
        const reader = await open(topic)
        const page = await reader.page({from: '0:4', limit: 2, filter: MATCH_ALL})
        expect(page.records.map((r) => r.position)).toEqual(['0:4', '0:5'])
      })
      expect(connections).toBe(1)
      expect(sent).toEqual(['ApiVersions', 'Metadata', 'ListOffsets', 'ListOffsets', 'Fetch'])
    })

    it('the metadata of the topic read is asked for with ApiVersions, before the client is open', async () => {
      const {sent} = await requestsOf(async (seen) => {
        const client = await KafkaClient.open(parseKafkaUri(`${KAFKA_URI}/${topic}`, {needTopic: true}), {topic})
        try {
          expect(seen).toEqual(['ApiVersions', 'Metadata'])
          expect((await client.layout(topic))?.partitions).toBe(3)
        } finally {
          await client.close()
        }
      })
      expect(sent).toEqual(['ApiVersions', 'Metadata'])
    })

    it('a client opened without a topic asks for ApiVersions once (the library asked again before its first Metadata)', async () => {
      const {sent} = await requestsOf(async () => {
        const client = await KafkaClient.open(parseKafkaUri(`${KAFKA_URI}/${topic}`, {needTopic: true}))
        try {
          expect((await client.layout(topic))?.partitions).toBe(3)
        } finally {
          await client.close()
        }
      })
      expect(sent).toEqual(['ApiVersions', 'Metadata'])
    })

    // The test broker advertises 127.0.0.1: a bootstrap written as localhost reaches the same listener.
    it.skipIf(!KAFKA_URI.includes('127.0.0.1'))('a leader advertised by IP that the bootstrap connection already reaches is read over that connection', async () => {
      const {sent, connections} = await requestsOf(async () => {
        const reader = await openKafkaReader(`${KAFKA_URI.replace('127.0.0.1', 'localhost')}/${topic}`)
        try {
          const page = await reader.page({from: '0:4', limit: 2, filter: MATCH_ALL})
          expect(page.records.map((r) => r.position)).toEqual(['0:4', '0:5'])
        } finally {
          await reader.close()
        }
      })
      expect(connections).toBe(1)
      expect(sent).toEqual(['ApiVersions', 'Metadata', 'ListOffsets', 'ListOffsets', 'Fetch'])
    })

    it('a small page asks for little: the first fetch is sized by the records wanted, later ones are full size', async () => {
      // 4000 records of ~300 bytes in batches of 500 (~150 KB each) in one partition.
      const big = await kafka.topic('page-bytes', 1)
      await kafka.produceBulk(big, Array.from({length: 4000}, (_, i) => ({partition: 0, value: `${i}:${'x'.repeat(300)}`})))
      const small = await requestsOf(async () => {
        const reader = await open(big)
        const page = await reader.page({from: '0:100', limit: 10, filter: MATCH_ALL})
        expect(page.records.map((r) => r.position)).toEqual(Array.from({length: 10}, (_, i) => `0:${100 + i}`))
      })
      // The broker sends the whole batch the page starts in, and no more.
      expect(small.sent.filter((n) => n === 'Fetch')).toHaveLength(1)
      expect(small.fetchedBytes).toBeGreaterThan(100_000)
      expect(small.fetchedBytes).toBeLessThan(300_000)
      // A page that needs more than the first fetch reads on with fetches of a scan's size.
      const large = await requestsOf(async () => {
        const reader = await open(big)
        const page = await reader.page({from: '0:0', limit: 3000, filter: MATCH_ALL})
        expect(page.records).toHaveLength(3000)
      })
      expect(large.fetchedBytes).toBeGreaterThan(900_000)
    })

    it('filters count examined records and stop at the limit of matches', async () => {
      const reader = await open(topic)
      const page = await reader.page({from: null, limit: 2, filter: buildFilter({filters: ['key~^p2-']})})
      expect(page.records.map((r) => r.key?.toString())).toEqual(['p2-0', 'p2-1'])
      expect(page.scanned).toBeGreaterThanOrEqual(9)
    })

    it('parsePosition: canonical P:O, plain offsets only for one partition, never another partition', async () => {
      const reader = await open(topic)
      expect(reader.parsePosition(' 2:04 ')).toBe('2:4')
      expect(reader.parsePosition('2:1,0:3')).toBe('0:3,2:1')
      expect(() => reader.parsePosition('3')).toThrow(UsageError)
      expect(() => reader.parsePosition('3:0')).toThrow(/partition 3 is not one this source reads/)
      expect(() => reader.parsePosition('0:1,0:2')).toThrow(/named twice/)
      expect(() => reader.parsePosition('x:1')).toThrow(UsageError)
      expect(() => reader.parsePosition('0:99999999999999999')).toThrow(UsageError)
    })

    it('?partition= restricts reading; a plain offset then means that partition', async () => {
      const reader = await open(topic, '?partition=2')
      expect(reader.info.display).toContain('?partition=2')
      expect(reader.parsePosition('3')).toBe('2:3')
      expect(() => reader.parsePosition('0:1')).toThrow(UsageError)
      const pages = await pageAll(reader, 2)
      expect(pages.flatMap((p) => p.records.map((r) => r.position))).toEqual(['2:0', '2:1', '2:2', '2:3', '2:4'])
      expect(pages.at(-1)!.next).toBe('2:5')
      const several = await open(topic, '?partition=2,0')
      const all = await several.page({from: null, limit: 100, filter: MATCH_ALL})
      expect(new Set(all.records.map((r) => r.position.split(':')[0]))).toEqual(new Set(['0', '2']))
      await expect(openKafkaReader(`${KAFKA_URI}/${topic}?partition=7`)).rejects.toThrow(UnavailableError)
    })

    it('bounds name the first and last positions', async () => {
      const reader = await open(topic, '?partition=2')
      expect(await reader.bounds()).toEqual({first: '2:0', last: '2:4', count: null})
    })

    it('scan streams every record of every partition once', async () => {
      const reader = await open(topic)
      const seen: string[] = []
      for await (const r of reader.scan({filter: MATCH_ALL})) seen.push(r.position)
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen.slice(0, 7)).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4', '0:5', '0:6'])
      expect(seen).toContain('2:4')
    })
  })

  describe('since/until use the broker offset-for-timestamp lookup', () => {
    it("starts each partition at --since's offset without examining what is before it; --until is cut by the filter", async () => {
      const topic = await kafka.topic('time')
      const msgs: TestMessage[] = []
      for (const p of [0, 1, 2]) for (let i = 0; i < 10; i++) msgs.push({partition: p, key: `${p}-${i}`, value: 'x', timestamp: T0 + i * 60_000})
      await kafka.produceBulk(topic, msgs)
      const reader = await open(topic)
      const filter = buildFilter({since: new Date(T0 + 3 * 60_000).toISOString(), until: new Date(T0 + 5 * 60_000).toISOString()})
      const page = await reader.page({from: null, limit: 100, filter})
      expect(page.records.map((r) => r.position)).toEqual(['0:3', '0:4', '0:5', '1:3', '1:4', '1:5', '2:3', '2:4', '2:5'])
      // Nothing before --since was examined (the start came from the broker, not from a scan); from
      // there each partition is read to its end, since a record stamped after --until may be
      // older than it by its own time (see the next test).
      expect(page.scanned).toBe(21)
      expect(page.atEnd).toBe(true)
      const scanned: string[] = []
      for await (const r of reader.scan({filter})) scanned.push(r.position)
      expect(scanned).toEqual(page.records.map((r) => r.position))
      const none = await reader.page({from: null, limit: 10, filter: buildFilter({since: new Date(T0 + 3_600_000).toISOString()})})
      expect(none.records).toEqual([])
      expect(none.scanned).toBe(0)
    })

    it('--until keeps a record whose own time is at or before it though the broker stamped it later (held through an outage)', async () => {
      const topic = await kafka.topic('until-late', 1)
      const entry = (t: number) => JSON.stringify({timestamp: t, service: 'ingest', reason: 'timeout', attempts: 1, payload: 'eA=='})
      // Failed at T0, produced two hours later; then one that failed after --until.
      await kafka.produceBulk(topic, [
        {partition: 0, value: entry(T0), timestamp: T0 + 7_200_000},
        {partition: 0, value: entry(T0 + 10_800_000), timestamp: T0 + 10_800_000},
      ])
      const reader = await open(topic)
      const filter = buildFilter({until: new Date(T0 + 3_600_000).toISOString()})
      const page = await reader.page({from: null, limit: 10, filter})
      expect(page.records.map((r) => [r.position, r.convention, r.timestamp])).toEqual([['0:0', 'hyperi', T0]])
      const scanned: string[] = []
      for await (const r of reader.scan({filter})) scanned.push(r.position)
      expect(scanned).toEqual(['0:0'])
    })
  })

  describe('get() for replay', () => {
    it('finds exact offsets and reports missing ones as absent', async () => {
      const topic = await kafka.topic('get')
      const positions = await kafka.produce(topic, Array.from({length: 6}, (_, i) => ({partition: 1, key: `k${i}`, value: `v${i}`})))
      expect(positions).toEqual(['1:0', '1:1', '1:2', '1:3', '1:4', '1:5'])
      // Retention: records below offset 2 are deleted; the log start moves to 2.
      await kafka.admin.deleteRecords({topics: [{name: topic, partitions: [{partition: 1, offset: 2n}]}]})
      const reader = await open(topic)
      const found = await reader.get(['1:1', '1:3', '1:05', '1:6', '0:0', '1:999'])
      expect([...found.keys()].sort()).toEqual(['1:3', '1:5'])
      expect(found.get('1:3')!.key?.toString()).toBe('k3')
      expect(found.get('1:5')!.payload?.toString()).toBe('v5')
      await expect(reader.get(['0:1,1:2'])).rejects.toThrow(UsageError)
      const first = await reader.page({from: null, limit: 1, filter: MATCH_ALL})
      expect(first.records[0].position).toBe('1:2')
    })
  })

  describe('transactions', () => {
    it('hides aborted records and control records; their offsets are not messages', async () => {
      const topic = await kafka.topic('txn')
      const producer = kafka.producer({transactionalId: `dlq-test-${topic}`})
      const committed1 = await kafka.produce(topic, [{partition: 0, key: 'before', value: 'plain'}], producer)
      const aborted = await producer.beginTransaction()
      for (let i = 0; i < 3; i++) await aborted.send({messages: [{topic, partition: 0, key: Buffer.from(`aborted-${i}`), value: Buffer.from('no')}]})
      await aborted.abort()
      const ok = await producer.beginTransaction()
      for (let i = 0; i < 2; i++) await ok.send({messages: [{topic, partition: 0, key: Buffer.from(`committed-${i}`), value: Buffer.from('yes')}]})
      await ok.commit()
      const reader = await open(topic)
      // The commit marker is written after commit() returns: read_committed sees the transaction
      // once the last stable offset has moved past it (moments later on a loaded machine).
      let page = await reader.page({from: null, limit: 100, filter: MATCH_ALL})
      for (let i = 0; i < 50 && page.records.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 100))
        page = await reader.page({from: null, limit: 100, filter: MATCH_ALL})
      }
      expect(page.records.map((r) => r.key?.toString())).toEqual(['before', 'committed-0', 'committed-1'])
      expect(page.atEnd).toBe(true)
      // Offsets: 0 plain, 1-3 aborted, 4 abort marker, 5-6 committed, 7 commit marker.
      expect(committed1).toEqual(['0:0'])
      expect(page.records.map((r) => r.position)).toEqual(['0:0', '0:5', '0:6'])
      const got = await reader.get(['0:1', '0:3', '0:4', '0:5', '0:7'])
      expect([...got.keys()]).toEqual(['0:5'])
      // Paging through the aborted range one at a time still lands on the committed records.
      const pages = await pageAll(reader, 1)
      expect(pages.flatMap((p) => p.records.map((r) => r.position))).toEqual(['0:0', '0:5', '0:6'])
      expect(pages.at(-1)!.next).toBe('0:8,1:0,2:0')
      const scanned: string[] = []
      for await (const r of reader.scan({filter: MATCH_ALL})) scanned.push(r.position)
      expect(scanned).toEqual(['0:0', '0:5', '0:6'])
    })

    it('does not read past an open transaction (the last stable offset)', async () => {
      const topic = await kafka.topic('txn-open')
      const producer = kafka.producer({transactionalId: `dlq-test-${topic}`})
      await kafka.produce(topic, [{partition: 0, key: 'visible', value: 'x'}], producer)
      const open_ = await producer.beginTransaction()
      await open_.send({messages: [{topic, partition: 0, key: Buffer.from('pending'), value: Buffer.from('x')}]})
      try {
        const reader = await open(topic)
        const page = await reader.page({from: null, limit: 10, filter: MATCH_ALL})
        expect(page.records.map((r) => r.key?.toString())).toEqual(['visible'])
        expect(page.next).toBe('0:1,1:0,2:0')
      } finally {
        await open_.abort()
      }
    })
  })

  describe('compressed batches', () => {
    const payloads = Array.from({length: 300}, (_, i) => `{"n":${i},"text":"${'lorem ipsum '.repeat(1 + (i % 40))}"}`)
    const check = async (topic: string) => {
      const reader = await open(topic)
      const seen: string[] = []
      for await (const r of reader.scan({filter: MATCH_ALL})) seen.push(r.payload!.toString())
      expect(seen).toEqual(payloads)
      const page = await reader.page({from: '0:150', limit: 3, filter: MATCH_ALL})
      expect(page.records.map((r) => r.payload!.toString())).toEqual(payloads.slice(150, 153))
      expect(page.records[0].userHeaders).toEqual([{key: 'h', value: Buffer.from('150')}])
    }
    const msgs = payloads.map((value, i): TestMessage => ({partition: 0, key: `k${i}`, value, headers: [['h', String(i)]]}))

    // The broker recompresses with Java's codecs (xerial-framed snappy, LZ4 frames, zstd).
    it.each(['gzip', 'snappy', 'lz4'] as const)('broker-side %s (Java codec)', async (codec) => {
      const topic = await kafka.topic(`broker-${codec}`, 1, {'compression.type': codec})
      await kafka.produceBulk(topic, msgs)
      await check(topic)
    })

    it.each(['gzip', 'snappy', 'lz4'] as const)('producer-side %s (@platformatic/kafka codec)', async (codec) => {
      const topic = await kafka.topic(`client-${codec}`, 1)
      await kafka.produceBulk(topic, msgs, kafka.producer({compression: codec}))
      await check(topic)
    })

    it('broker-side zstd: decoded when Node or fzstd has zstd, else a clear error', async () => {
      const topic = await kafka.topic('broker-zstd', 1, {'compression.type': 'zstd'})
      await kafka.produceBulk(topic, msgs)
      const reader = await open(topic)
      if (zstdAvailable()) {
        await check(topic)
      } else {
        await expect(reader.page({from: null, limit: 1, filter: MATCH_ALL})).rejects.toThrow(/zstd.*Node\.js 22\.15.*fzstd/)
      }
    })
  })

  describe('offsets of a topic just created (a replay target an operator made a moment ago)', () => {
    // The metadata names a partition's leader a moment before that leader answers for it: on
    // Kafka 4.1 about one new topic in ten answers ListOffsets with NOT_LEADER_OR_FOLLOWER.
    it('are read on every one of 30 topics, asked for as soon as the metadata names their leaders', async () => {
      const failures: string[] = []
      for (let i = 0; i < 30; i++) {
        const topic = await kafka.topic('fresh-offsets', 3)
        const client = await KafkaClient.open(parseKafkaUri(`${KAFKA_URI}/${topic}`, {needTopic: true}), {topic})
        try {
          const layout = (await client.layout(topic))!
          const [lo, hi] = await Promise.all([client.earliest(topic, layout, [0, 1, 2]), client.latest(topic, layout, [0, 1, 2])])
          expect([Object.fromEntries(lo), Object.fromEntries(hi)]).toEqual([{0: 0, 1: 0, 2: 0}, {0: 0, 1: 0, 2: 0}])
        } catch (error) {
          failures.push(`${topic}: ${(error as Error).message}`)
        } finally {
          await client.close()
        }
      }
      expect(failures).toEqual([])
    })

    it('a fetch answered "not the leader" three times in a row (a leader moving) is sent again after the metadata is read again (and again while it names no leader): a small log and a page are read whole', async () => {
      const {readPartition} = await import('../src/backends/kafka/log.js')
      const topic = await kafka.topic('leader-moving', 1)
      await kafka.produce(topic, [{partition: 0, value: 'a'}, {partition: 0, value: 'b'}])
      // The broker is real; its first three answers are made NOT_LEADER_OR_FOLLOWER (6), as a broker gives while leadership moves,
      // and the first metadata read after the first names no leader (an election under way).
      const moving = (client: KafkaClient) => {
        const real = client.fetch.bind(client)
        const seen = {refused: 0, metadata: 0}
        client.fetch = async (...a: Parameters<KafkaClient['fetch']>) => {
          const fp = await real(...a)
          return seen.refused < 3 ? (seen.refused++, {...fp, errorCode: 6, records: null}) : fp
        }
        const layout = client.layout.bind(client)
        client.layout = async (t: string, refresh?: boolean) => {
          const got = await layout(t, refresh)
          return refresh && ++seen.metadata === 1 && got ? {...got, leaders: got.leaders.map(() => -1)} : got
        }
        return seen
      }
      const client = await KafkaClient.open(parseKafkaUri(`${KAFKA_URI}/${topic}`, {needTopic: true}), {topic})
      try {
        const seen = moving(client)
        const got: string[] = []
        for await (const m of readPartition(client, topic, (await client.layout(topic))!, 0, 0, 2)) got.push(m.value!.toString())
        expect(got).toEqual(['a', 'b'])
        expect(seen).toEqual({refused: 3, metadata: 4})
      } finally {
        await client.close()
      }
      const reader = await open(topic)
      const seen = moving((reader as unknown as {client: KafkaClient}).client)
      const page = await reader.page({from: null, limit: 10, filter: MATCH_ALL})
      expect(page.records.map((r) => r.payload!.toString())).toEqual(['a', 'b'])
      expect(seen.refused).toBe(3)
    })

    it('a layout that names no leader yet is read again, not failed with "no leader"', async () => {
      const topic = await kafka.topic('no-leader-yet', 3)
      await kafka.produceBulk(topic, [0, 1, 2, 2].map((partition, i): TestMessage => ({partition, key: `k${i}`, value: `v${i}`, headers: []})))
      const client = await KafkaClient.open(parseKafkaUri(`${KAFKA_URI}/${topic}`, {needTopic: true}), {topic})
      try {
        const layout = (await client.layout(topic))!
        const ends = await client.latest(topic, {...layout, leaders: layout.leaders.map(() => -1)}, [0, 1, 2])
        expect(Object.fromEntries(ends)).toEqual({0: 1, 1: 1, 2: 2})
      } finally {
        await client.close()
      }
    })
  })
})
