import {encode as msgpackEncode} from '@msgpack/msgpack'
import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openRedisReader} from '../src/backends/redis/index.js'
import {UnavailableError, UsageError} from '../src/core/errors.js'
import {buildFilter, MATCH_ALL} from '../src/core/filter.js'
import type {DlqReader} from '../src/core/reader.js'
import type {DecodedRecord} from '../src/core/record.js'
import {i32, i64} from './helpers/raw.js'
import {needService, uniqueName} from './helpers/services.js'

const svc = await needService('redis')
const HOUR = 3_600_000
const T0 = 1_764_000_000_000

describe.skipIf(!svc.available)('redis reader', () => {
  let redis: Redis
  const keys: string[] = []
  const readers: DlqReader[] = []

  const stream = (prefix: string) => {
    const k = uniqueName(`dlq-test-${prefix}`)
    keys.push(k)
    return k
  }
  const open = async (key: string, query = '') => {
    const r = await openRedisReader(`${svc.address}/0/${encodeURIComponent(key)}${query}`)
    readers.push(r)
    return r
  }
  const all = async (r: DlqReader) => {
    const out: DecodedRecord[] = []
    for await (const rec of r.scan({filter: MATCH_ALL})) out.push(rec)
    return out
  }
  const hyperi = (reason: string, attempts: number, payload: Buffer, extra: Record<string, unknown> = {}) =>
    JSON.stringify({timestamp: T0, service: 'ingest', reason, attempts, payload: payload.toString('base64'), ...extra})

  beforeAll(() => {
    redis = new Redis(svc.address, {lazyConnect: false, maxRetriesPerRequest: 1})
  })
  afterAll(async () => {
    for (const r of readers) await r.close()
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })

  it('--until keeps an entry whose own time is at or before it though Redis added it later (held through an outage)', async () => {
    const key = stream('until-late')
    // Failed at T0, written two hours later.
    const late = await redis.xadd(key, `${T0 + 2 * HOUR}-0`, 'data', hyperi('timeout', 1, Buffer.from('x')))
    await redis.xadd(key, `${T0 + 3 * HOUR}-0`, 'data', JSON.stringify({timestamp: T0 + 3 * HOUR, service: 'ingest', reason: 'later', attempts: 0, payload: 'eA=='}))
    const r = await open(key)
    const filter = buildFilter({until: String(T0 + HOUR)})
    expect((await r.page({limit: 50, filter})).records.map((x) => x.position)).toEqual([late])
    const scanned: string[] = []
    for await (const rec of r.scan({filter})) scanned.push(rec.position)
    expect(scanned).toEqual([late])
  })

  it('reads hyperi-rustlib entries from the data field', async () => {
    const key = stream('hyperi')
    const id = await redis.xadd(key, '*', 'data', hyperi('parse_error', 3, Buffer.from([0xff, 0x00, 0xc3]), {source: {topic: 'events', partition: 2, offset: 41}}))
    const [rec] = await all(await open(key))
    expect(rec.position).toBe(id)
    expect(rec.convention).toBe('hyperi')
    expect(rec.reason).toBe('parse_error')
    expect(rec.retries).toBe(3)
    expect(rec.timestamp).toBe(T0)
    expect(rec.source).toEqual({topic: 'events', partition: 2, offset: 41, group: null})
    expect(rec.payload).toEqual(Buffer.from([0xff, 0x00, 0xc3]))
  })

  it('reads Watermill entries: msgpack metadata becomes headers, poison headers are decoded', async () => {
    const key = stream('watermill')
    const metadata = msgpackEncode({reason_poisoned: 'cannot parse', topic_poisoned: 'orders', handler_poisoned: 'h1', trace: 'abc'})
    const payload = Buffer.from([0x80, 0x81, 0x00, 0x7b])
    await redis.xadd(key, '*', '_watermill_message_uuid', 'uuid-1', 'payload', payload, 'metadata', Buffer.from(metadata))
    await redis.xadd(key, '*', '_watermill_message_uuid', 'uuid-2', 'payload', 'p', 'metadata', Buffer.from([0xc1]))
    const [rec, bad] = await all(await open(key))
    expect(rec.convention).toBe('watermill')
    expect(rec.reason).toBe('cannot parse')
    expect(rec.source.topic).toBe('orders')
    expect(rec.payload).toEqual(payload)
    expect(rec.metadata.handler_poisoned).toBe('h1')
    expect(rec.userHeaders).toEqual([
      {key: '_watermill_message_uuid', value: Buffer.from('uuid-1')},
      {key: 'trace', value: Buffer.from('abc')},
    ])
    expect(rec.unreadable).toBeNull()
    // 0xc1 is never valid msgpack: the entry is shown with what was wrong, payload intact.
    expect(bad.unreadable).toMatch(/Watermill entry: field "metadata" is not msgpack/)
    expect(bad.payload).toEqual(Buffer.from('p'))
  })

  it("reads dlq's own layout losslessly, with system headers decoded by their convention", async () => {
    const key = stream('dlqlayout')
    const headers = [
      ['kafka_dlt-original-topic', 'payments'],
      ['kafka_dlt-original-partition', {base64: i32(4).toString('base64')}],
      ['kafka_dlt-original-offset', {base64: i64(991).toString('base64')}],
      ['kafka_dlt-exception-fqcn', 'java.lang.IllegalStateException'],
      ['trace', 'a'],
      ['trace', 'b'],
      ['empty', null],
      ['bin', {base64: Buffer.from([0xfe, 0xff]).toString('base64')}],
    ]
    await redis.xadd(key, '*', '_dlq', '1', 'key', Buffer.from([0x00, 0xff]), 'value', Buffer.from([0xde, 0xad]), 'headers', JSON.stringify(headers), 'ts', '1700000000000')
    const [rec] = await all(await open(key))
    expect(rec.convention).toBe('spring')
    expect(rec.source).toEqual({topic: 'payments', partition: 4, offset: 991, group: null})
    expect(rec.key).toEqual(Buffer.from([0x00, 0xff]))
    expect(rec.payload).toEqual(Buffer.from([0xde, 0xad]))
    expect(rec.userHeaders).toEqual([
      {key: 'trace', value: Buffer.from('a')},
      {key: 'trace', value: Buffer.from('b')},
      {key: 'empty', value: null},
      {key: 'bin', value: Buffer.from([0xfe, 0xff])},
    ])
    expect(rec.metadata['dlq.original-timestamp']).toBe(1_700_000_000_000)
    expect(rec.unreadable).toBeNull()
  })

  it("takes DLQ facts from the dlq layout's meta field; absent key/value fields are null", async () => {
    const key = stream('dlqmeta')
    const meta = {source: {topic: 'orders', partition: 1, offset: 7, group: 'billing'}, reason: 'timeout', retries: 5, deadLetteredAt: T0, metadata: {service: 'svc'}}
    await redis.xadd(key, '*', '_dlq', '1', 'meta', JSON.stringify(meta))
    await redis.xadd(key, '*', '_dlq', '1', 'headers', 'not json', 'value', '')
    const [rec, bad] = await all(await open(key))
    expect(rec.convention).toBe('dlq')
    expect(rec.source).toEqual(meta.source)
    expect([rec.reason, rec.retries, rec.deadLetteredAt]).toEqual(['timeout', 5, T0])
    expect(rec.metadata.service).toBe('svc')
    expect(rec.key).toBeNull()
    expect(rec.payload).toBeNull()
    expect(bad.unreadable).toMatch(/dlq layout: field "headers" is not a JSON array/)
    expect(bad.payload).toEqual(Buffer.alloc(0))
  })

  it('reads other field sets generically: a payload-like field, a key field, the rest as headers', async () => {
    const key = stream('generic')
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x1b])
    await redis.xadd(key, '*', 'key', 'k-1', 'body', binary, 'tenant', 'eu-1')
    await redis.xadd(key, '*', 'stroma.dlq.source_topic', 'jobs', 'stroma.dlq.retry_count', '4', 'stroma.dlq.reason', 'retries_exhausted', 'message', 'm')
    await redis.xadd(key, '*', 'only', 'x')
    await redis.xadd(key, '*', 'data', '{"not":"hyperi"}', 'h', 'v')
    const [a, b, c, d] = await all(await open(key))
    expect(a.convention).toBe('unknown')
    expect(a.payload).toEqual(binary)
    expect(a.key).toEqual(Buffer.from('k-1'))
    expect(a.userHeaders).toEqual([{key: 'tenant', value: Buffer.from('eu-1')}])
    expect(b.convention).toBe('fibril')
    expect([b.source.topic, b.retries, b.reason]).toEqual(['jobs', 4, 'retries_exhausted'])
    expect(b.payload).toEqual(Buffer.from('m'))
    expect(c.payload).toEqual(Buffer.from('x'))
    expect(c.userHeaders).toEqual([])
    expect(d.payload).toEqual(Buffer.from('{"not":"hyperi"}'))
    expect(d.userHeaders).toEqual([{key: 'h', value: Buffer.from('v')}])
    // Every non-hyperi record carries the time of its entry id.
    expect(a.timestamp).toBe(Number(a.position.split('-')[0]))
  })

  describe('paging', () => {
    let key: string
    let ids: string[]
    beforeAll(async () => {
      key = stream('paging')
      ids = []
      for (let i = 0; i < 7; i++) {
        ids.push(await redis.xadd(key, `${T0 + i * HOUR}-${i}`, 'payload', `p${i}`, 'reason_poisoned', i % 3 === 0 ? 'timeout' : 'other'))
      }
    })

    it('pages with next = the id right after the last examined entry, and atEnd at the end', async () => {
      const r = await open(key)
      const p1 = await r.page({limit: 3, filter: MATCH_ALL})
      expect(p1.records.map((x) => x.position)).toEqual(ids.slice(0, 3))
      expect(p1).toMatchObject({next: `${T0 + 2 * HOUR}-3`, atEnd: false, scanned: 3})
      const p2 = await r.page({from: p1.next, limit: 3, filter: MATCH_ALL})
      expect(p2.records.map((x) => x.position)).toEqual(ids.slice(3, 6))
      expect(p2.atEnd).toBe(false)
      const p3 = await r.page({from: p2.next, limit: 3, filter: MATCH_ALL})
      expect(p3.records.map((x) => x.position)).toEqual(ids.slice(6))
      expect(p3).toMatchObject({atEnd: true, next: `${T0 + 6 * HOUR}-7`, scanned: 1})
      // At the end, the next page is empty and stays where it was, so a growing DLQ continues there.
      const p4 = await r.page({from: p3.next, limit: 3, filter: MATCH_ALL})
      expect(p4).toMatchObject({records: [], atEnd: true, next: p3.next, scanned: 0})
    })

    it('knows a page that ends exactly at the last entry is at the end (one XRANGE of limit+1)', async () => {
      const r = await open(key)
      const p = await r.page({from: ids[4], limit: 3, filter: MATCH_ALL})
      expect(p.records.map((x) => x.position)).toEqual(ids.slice(4))
      expect(p.atEnd).toBe(true)
    })

    it('reads on while a filter rejects entries, and counts what it examined', async () => {
      const r = await open(key)
      const filter = buildFilter({filters: ['reason=timeout']})
      const p = await r.page({limit: 2, filter})
      expect(p.records.map((x) => x.position)).toEqual([ids[0], ids[3]])
      expect(p).toMatchObject({scanned: 4, atEnd: false, next: `${T0 + 3 * HOUR}-4`})
      const rest = await r.page({from: p.next, limit: 2, filter})
      expect(rest.records.map((x) => x.position)).toEqual([ids[6]])
      expect(rest).toMatchObject({scanned: 3, atEnd: true})
    })

    it('maps --since to an id range instead of scanning from the start; --until is cut by the filter', async () => {
      const r = await open(key)
      const filter = buildFilter({since: String(T0 + 2 * HOUR), until: String(T0 + 4 * HOUR)})
      const p = await r.page({limit: 50, filter})
      expect(p.records.map((x) => x.position)).toEqual(ids.slice(2, 5))
      // Nothing before --since was read; from there on, to the end (--until does not bound the read).
      expect(p.scanned).toBe(ids.length - 2)
      expect(p.atEnd).toBe(true)
      const scanned: string[] = []
      for await (const rec of r.scan({filter})) scanned.push(rec.position)
      expect(scanned).toEqual(ids.slice(2, 5))
      // A --from later than --since wins.
      const later = await r.page({from: ids[3], limit: 50, filter})
      expect(later.records.map((x) => x.position)).toEqual(ids.slice(3, 5))
    })

    it('gives bounds from the stream itself', async () => {
      const r = await open(key)
      expect(await r.bounds()).toEqual({first: ids[0], last: ids[6], count: 7})
    })

    it('gets exact ids and leaves absent ones out', async () => {
      const r = await open(key)
      const absent = `${T0 + HOUR}-0`
      const got = await r.get([ids[2], absent, String(T0), ids[2]])
      expect([...got.keys()].sort()).toEqual([ids[0], ids[2]].sort())
      expect(got.get(ids[2])!.payload).toEqual(Buffer.from('p2'))
      expect(got.has(absent)).toBe(false)
    })

    it('rejects malformed positions as usage errors', async () => {
      const r = await open(key)
      expect(r.parsePosition(' 1700000000000 ')).toBe('1700000000000-0')
      expect(r.parsePosition('0017-05')).toBe('17-5')
      for (const bad of ['abc', '1-2-3', '-1', '1-', '18446744073709551616-0', '1:2', '+']) {
        expect(() => r.parsePosition(bad), bad).toThrow(UsageError)
      }
      await expect(r.page({from: 'nope', limit: 1, filter: MATCH_ALL})).rejects.toThrow(/entry id like 1700000000000-0/)
      await expect(r.get(['x'])).rejects.toBeInstanceOf(UsageError)
    })
  })

  describe('delivery counts from XPENDING', () => {
    let key: string
    let ids: string[]
    beforeAll(async () => {
      key = stream('pending')
      ids = [
        await redis.xadd(key, '*', 'payload', 'a'),
        await redis.xadd(key, '*', 'payload', 'b'),
        await redis.xadd(key, '*', 'data', hyperi('timeout', 9, Buffer.from('c'))),
        await redis.xadd(key, '*', 'payload', 'd'),
      ]
      await redis.xgroup('CREATE', key, 'g1', '0')
      await redis.xgroup('CREATE', key, 'g2', '0')
      await redis.xgroup('CREATE', key, 'idle', '$')
      // g1: a, b, c delivered once; then a and c again (pending re-delivery counts up).
      await redis.xreadgroup('GROUP', 'g1', 'c1', 'COUNT', 3, 'STREAMS', key, '>')
      await redis.xclaim(key, 'g1', 'c1', 0, ids[0], ids[2])
      // g2: a delivered once, then re-read twice from its pending list.
      await redis.xreadgroup('GROUP', 'g2', 'c2', 'COUNT', 1, 'STREAMS', key, '>')
      await redis.xreadgroup('GROUP', 'g2', 'c2', 'STREAMS', key, '0')
      await redis.xreadgroup('GROUP', 'g2', 'c2', 'STREAMS', key, '0')
    })

    it('uses the largest delivery count over the groups when the convention gives no retries', async () => {
      // Idle times move on their own; ids, owners and delivery counts must not.
      const deliveries = async () => ((await redis.xpending(key, 'g2', '-', '+', 10)) as unknown[][]).map(([id, owner, , n]) => [id, owner, n])
      const before = await deliveries()
      const r = await open(key)
      const [a, b, c, d] = (await r.page({limit: 10, filter: MATCH_ALL})).records
      expect(a.retries).toBe(3)
      expect(a.metadata['redis.delivery-group']).toBe('g2')
      expect(b.retries).toBe(1)
      // hyperi's own attempts win; the delivery count is still shown.
      expect(c.retries).toBe(9)
      expect(c.metadata['redis.delivery-count']).toBe(2)
      expect(d.retries).toBeNull()
      // Reading claimed and acknowledged nothing.
      expect(await deliveries()).toEqual(before)
      expect(before).toEqual([[ids[0], 'c2', 3]])
      const filtered = await r.page({limit: 10, filter: buildFilter({filters: ['retries>=2']})})
      expect(filtered.records.map((x) => x.position)).toEqual([ids[0], ids[2]])
      const got = await r.get([ids[0]])
      expect(got.get(ids[0])!.retries).toBe(3)
    })

    it('takes one group only with ?group=', async () => {
      const r = await open(key, '?group=g1')
      const [a] = (await r.page({limit: 1, filter: MATCH_ALL})).records
      expect(a.retries).toBe(2)
      expect(a.metadata['redis.delivery-group']).toBe('g1')
      await expect(open(key, '?group=nope')).rejects.toThrow(/has no consumer group "nope" \(groups: g1, g2, idle\)/)
      await expect(open(key, '?group=nope')).rejects.toBeInstanceOf(UnavailableError)
    })
  })

  it('accepts stream keys with ":" and an encoded "/" and keys that are not UTF-8', async () => {
    const key = stream('a/b:c')
    await redis.xadd(key, '*', 'payload', 'slash')
    const r = await openRedisReader(`${svc.address}/0/${key.replace('/', '%2F')}`)
    readers.push(r)
    expect(r.info.display).toBe(`${svc.address}/0/${key.replace('/', '%2F')}`)
    expect((await all(r))[0].payload).toEqual(Buffer.from('slash'))
    // The shown source names the same stream when given back.
    const again = await openRedisReader(r.info.display)
    readers.push(again)
    expect((await all(again))[0].payload).toEqual(Buffer.from('slash'))

    const binKey = Buffer.concat([Buffer.from(uniqueName('dlq-test-bin')), Buffer.from([0xff, 0x2f])])
    await redis.xadd(binKey, '*', 'payload', 'bin')
    try {
      const rb = await openRedisReader(`${svc.address}/0/${binKey.subarray(0, -2).toString()}%FF%2F`)
      readers.push(rb)
      expect(rb.info.display.endsWith('%FF%2F')).toBe(true)
      expect((await all(rb))[0].payload).toEqual(Buffer.from('bin'))
    } finally {
      await redis.del(binKey)
    }
  })

  it('skips hyperi entries by needle only where the stored JSON cannot hide a match', async () => {
    // Named *.dlq, so a non-hyperi `data` entry gets a topic hint from the stream name.
    const key = `${stream('prefilter')}.dlq`
    keys.push(key)
    const hint = key.slice(0, -4)
    const escaped = hyperi('x', 1, Buffer.from('e')).replace('"reason":"x"', '"reason":"time\\u006fut"')
    await redis.xadd(key, '*', 'data', hyperi('timeout', 1, Buffer.from('a')))
    await redis.xadd(key, '*', 'data', hyperi('parse_error', 1, Buffer.from('b')))
    await redis.xadd(key, '*', 'data', escaped)
    await redis.xadd(key, '*', 'data', 'plain bytes')
    const r = await open(key)
    const byReason = await r.page({limit: 10, filter: buildFilter({filters: ['reason=timeout']})})
    expect(byReason.records.map((x) => x.payload!.toString())).toEqual(['a', 'e'])
    expect(byReason.scanned).toBe(4)
    const byHint = await r.page({limit: 10, filter: buildFilter({filters: [`metadata.dlq.source-topic-hint=${hint}`]})})
    expect(byHint.records.map((x) => x.payload!.toString())).toEqual(['plain bytes'])
    // A consumer group's name becomes metadata too: it must be found although no entry holds it.
    await redis.xgroup('CREATE', key, 'grp-needle', '0')
    await redis.xreadgroup('GROUP', 'grp-needle', 'c', 'COUNT', 1, 'STREAMS', key, '>')
    const withGroups = await open(key)
    const byGroup = await withGroups.page({limit: 10, filter: buildFilter({filters: ['metadata.redis.delivery-group=grp-needle']})})
    expect(byGroup.records.map((x) => x.payload!.toString())).toEqual(['a'])
  })

  it('streams a large stream in order with scan', async () => {
    const key = stream('scan')
    const pipe = redis.pipeline()
    for (let i = 0; i < 2500; i++) pipe.xadd(key, '*', 'payload', String(i), 'reason_poisoned', i % 10 === 0 ? 'timeout' : 'x')
    await pipe.exec()
    const r = await open(key)
    const seen: string[] = []
    for await (const rec of r.scan({filter: buildFilter({filters: ['reason=timeout']})})) seen.push(rec.payload!.toString())
    expect(seen).toEqual(Array.from({length: 250}, (_, i) => String(i * 10)))
  })
})
