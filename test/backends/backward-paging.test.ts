import {Redis} from 'ioredis'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openFileReader} from '../../src/backends/file/index.js'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openKafkaReader} from '../../src/backends/kafka/index.js'
import {openRedisReader} from '../../src/backends/redis/index.js'
import {buildFilter, MATCH_ALL, type RecordFilter} from '../../src/core/filter.js'
import type {DlqReader} from '../../src/core/reader.js'
import {needService, uniqueName} from '../helpers/services.js'
import {KAFKA_URI, KafkaFixture} from '../kafka-fixtures.js'

/**
 * pageBefore against the real stores: walking a log backward page by page gives exactly the
 * forward scan's records in the same order, each page's `from` reads that page again
 * forward, and the walk ends with atStart at the first record (or the --since bound).
 */
const redisSvc = await needService('redis')
const kafkaSvc = await needService('kafka')
const T0 = 1_764_000_000_000

const entry = (i: number) =>
  JSON.stringify({timestamp: T0 + i * 1000, service: 'ingest', reason: i % 3 === 0 ? 'timeout' : 'parse_error', attempts: 1, payload: Buffer.from(`{"i":${i}}`).toString('base64')})

async function forward(reader: DlqReader, filter: RecordFilter): Promise<string[]> {
  const out: string[] = []
  for await (const r of reader.scan({filter})) out.push(r.position)
  return out
}

/** Walks from `before` back to the start; checks every page's `from` on the way. */
async function backward(reader: DlqReader, filter: RecordFilter, limit: number, before: string | null = null): Promise<{positions: string[]; pages: number}> {
  const out: string[] = []
  let pages = 0
  for (;;) {
    const page = await reader.pageBefore!({before, limit, filter})
    pages++
    expect(page.records.length).toBeLessThanOrEqual(limit)
    if (!page.atStart) expect(page.records).toHaveLength(limit)
    const again = await reader.page({from: page.from, limit: Math.max(1, page.records.length), filter})
    if (page.records.length > 0) expect(again.records.map((r) => r.position)).toEqual(page.records.map((r) => r.position))
    out.unshift(...page.records.map((r) => r.position))
    if (page.atStart) return {positions: out, pages}
    before = page.from
    if (pages > 1000) throw new Error('backward walk does not end')
  }
}

describe('files: pageBefore by record number', () => {
  let dir: string
  let reader: DlqReader
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dlq-backward-'))
    // a blank line keeps its number but is no record
    writeFileSync(join(dir, 'dlq.ndjson'), Array.from({length: 250}, (_, i) => (i === 77 ? '' : entry(i))).join('\n') + '\n')
    reader = await openFileReader(join(dir, 'dlq.ndjson'))
  })
  afterAll(async () => {
    await reader?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('walks the file back to front, in pages that read again forward', async () => {
    const all = await forward(reader, MATCH_ALL)
    expect(all).toHaveLength(249)
    expect((await backward(reader, MATCH_ALL, 100)).positions).toEqual(all)
    const page = await reader.pageBefore!({before: '120', limit: 3, filter: MATCH_ALL})
    expect(page.records.map((r) => r.position)).toEqual(['117', '118', '119'])
  })

  it('widens its steps under a sparse filter', async () => {
    const timeout = buildFilter({filters: ['reason=timeout']})
    expect((await backward(reader, timeout, 7)).positions).toEqual(await forward(reader, timeout))
  })
})

describe.skipIf(!redisSvc.available)('Redis: pageBefore with XREVRANGE', () => {
  let redis: Redis
  let key: string
  let reader: DlqReader
  const ids: string[] = []

  beforeAll(async () => {
    redis = new Redis(redisSvc.address, {maxRetriesPerRequest: 1})
    key = uniqueName('dlq-test-backward')
    const pipe = redis.pipeline()
    for (let i = 0; i < 250; i++) pipe.xadd(key, `${T0 + i * 1000}-${i % 2}`, 'data', entry(i))
    for (const [error, id] of (await pipe.exec())!) {
      if (error) throw error
      ids.push(String(id))
    }
    reader = await openRedisReader(`${redisSvc.address}/0/${key}`)
  })
  afterAll(async () => {
    await reader?.close()
    await redis?.del(key)
    redis?.disconnect()
  })

  it('walks the whole stream back to front, in pages that read again forward', async () => {
    const {positions, pages} = await backward(reader, MATCH_ALL, 100)
    expect(positions).toEqual(ids)
    expect(pages).toBe(3)
  })

  it('starts before a given id, exclusive', async () => {
    const page = await reader.pageBefore!({before: ids[120], limit: 10, filter: MATCH_ALL})
    expect(page.records.map((r) => r.position)).toEqual(ids.slice(110, 120))
    expect(page.from).toBe(ids[110])
    expect(page.atStart).toBe(false)
    const first = await reader.pageBefore!({before: ids[0], limit: 10, filter: MATCH_ALL})
    expect(first).toMatchObject({records: [], from: null, atStart: true})
  })

  it('keeps only matches under a filter and stops at --since', async () => {
    const timeout = buildFilter({filters: ['reason=timeout']})
    expect((await backward(reader, timeout, 7)).positions).toEqual(await forward(reader, timeout))
    const since = buildFilter({since: String(T0 + 200 * 1000)})
    const {positions} = await backward(reader, since, 20)
    expect(positions).toEqual(ids.slice(200))
  })
})

describe.skipIf(!kafkaSvc.available)('Kafka: pageBefore over partition offsets', () => {
  const kafka = new KafkaFixture()
  let topic: string
  const readers: DlqReader[] = []
  const open = async (query = '') => {
    const r = await openKafkaReader(`${KAFKA_URI}/${topic}${query}`)
    readers.push(r)
    return r
  }

  beforeAll(async () => {
    topic = await kafka.topic('backward', 3)
    // Partition 1 stays empty: the walk must step over it.
    const msgs = [
      ...Array.from({length: 130}, (_, i) => ({partition: 0, value: entry(i)})),
      ...Array.from({length: 75}, (_, i) => ({partition: 2, value: entry(1000 + i)})),
    ]
    await kafka.produceBulk(topic, msgs)
  })
  afterAll(async () => {
    for (const r of readers) await r.close()
    await kafka.close()
  })

  it('walks all partitions back to front in log order, each page reading again forward', async () => {
    const reader = await open()
    const all = await forward(reader, MATCH_ALL)
    expect(all).toHaveLength(205)
    const {positions} = await backward(reader, MATCH_ALL, 50)
    expect(positions).toEqual(all)
    const last = await reader.pageBefore!({before: null, limit: 5, filter: MATCH_ALL})
    expect(last.records.map((r) => r.position)).toEqual(['2:70', '2:71', '2:72', '2:73', '2:74'])
    expect(last.from).toBe('2:70')
  })

  it('starts before a position or a cursor, crossing into earlier partitions', async () => {
    const reader = await open()
    const page = await reader.pageBefore!({before: '2:3', limit: 5, filter: MATCH_ALL})
    expect(page.records.map((r) => r.position)).toEqual(['0:127', '0:128', '0:129', '2:0', '2:1', '2:2'].slice(1))
    // A cursor as `next` returns it: partition 0 read to 130, partition 2 up to 10.
    const c = await reader.pageBefore!({before: '0:130,1:0,2:10', limit: 3, filter: MATCH_ALL})
    expect(c.records.map((r) => r.position)).toEqual(['2:7', '2:8', '2:9'])
    const start = await reader.pageBefore!({before: '0:0', limit: 3, filter: MATCH_ALL})
    expect(start).toMatchObject({records: [], atStart: true, from: null})
  })

  it('pages back under a sparse filter and over --partition', async () => {
    const reader = await open()
    const timeout = buildFilter({filters: ['reason=timeout']})
    expect((await backward(reader, timeout, 9)).positions).toEqual(await forward(reader, timeout))
    const none = await reader.pageBefore!({before: null, limit: 10, filter: buildFilter({filters: ['reason=nothing-has-this']})})
    expect(none).toMatchObject({records: [], atStart: true})
    const only0 = await open('?partition=0')
    const {positions} = await backward(only0, MATCH_ALL, 40)
    expect(positions).toEqual(Array.from({length: 130}, (_, i) => `0:${i}`))
  })
})
