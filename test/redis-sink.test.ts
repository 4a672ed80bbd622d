import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openRedisReader, openRedisSink} from '../src/backends/redis/index.js'
import {UnavailableError} from '../src/core/errors.js'
import {MATCH_ALL} from '../src/core/filter.js'
import type {OutgoingMessage} from '../src/core/sink.js'
import {needService, uniqueName} from './helpers/services.js'

const svc = await needService('redis')

describe.skipIf(!svc.available)('redis sink', () => {
  let redis: Redis
  const keys: string[] = []
  const prefix = `${uniqueName('dlq-test-replay')}:`

  beforeAll(() => {
    redis = new Redis(svc.address, {maxRetriesPerRequest: 1})
  })
  afterAll(async () => {
    const left = await redis.keys(`${prefix}*`)
    if (left.length + keys.length > 0) await redis.del(...left, ...keys)
    await redis.quit()
  })

  const messages = (topic: string): OutgoingMessage[] => [
    {
      topic,
      partition: 3,
      key: Buffer.from([0x00, 0xff, 0x1b]),
      value: Buffer.from([0xc3, 0x28, 0x00, 0xfe]),
      headers: [
        {key: 'trace', value: Buffer.from('a')},
        {key: 'bin', value: Buffer.from([0xff, 0xfe])},
        {key: 'trace', value: Buffer.from('b')},
        {key: 'nil', value: null},
        {key: 'empty', value: Buffer.alloc(0)},
      ],
      timestamp: 1_700_000_000_123,
    },
    {topic, partition: null, key: null, value: null, headers: [], timestamp: null},
    {topic, partition: null, key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [], timestamp: null},
  ]

  it('XADDs to prefix + topic in dlq layout and reads back the same bytes, key and headers', async () => {
    const sink = await openRedisSink(`${svc.address}/0?prefix=${encodeURIComponent(prefix)}`)
    // The plan names the stream really written (prefix + topic); the sink's methods take that name as it is.
    const topic = sink.targetName!('orders/eu:1')
    expect(topic).toBe(`${prefix}orders/eu:1`)
    try {
      expect(sink.info.display).toBe(`${svc.address}/0`)
      expect(await sink.describeTarget(topic)).toEqual({exists: false, partitions: null, layout: null})
      const batch = messages(topic)
      const sent = await sink.send(batch)
      expect(sent).toHaveLength(3)
      for (const s of sent) expect(s).toMatchObject({topic, partition: null, offset: expect.stringMatching(/^\d+-\d+$/)})
      expect(await sink.describeTarget(topic)).toEqual({exists: true, partitions: null, layout: {name: 'dlq'}})

      const reader = await openRedisReader(`${svc.address}/0/${encodeURIComponent(topic)}`)
      try {
        const got = await reader.get(sent.map((s) => s.offset))
        expect(got.size).toBe(3)
        const [a, b, c] = sent.map((s) => got.get(s.offset)!)
        expect(a.key).toEqual(batch[0].key)
        expect(a.payload).toEqual(batch[0].value)
        expect(a.userHeaders).toEqual(batch[0].headers)
        expect(a.metadata['dlq.original-timestamp']).toBe(1_700_000_000_123)
        expect(a.unreadable).toBeNull()
        expect([b.key, b.payload, b.userHeaders]).toEqual([null, null, []])
        expect([c.key, c.payload]).toEqual([Buffer.alloc(0), Buffer.alloc(0)])
        // Entry ids come back in the order the messages were sent.
        const page = await reader.page({limit: 10, filter: MATCH_ALL})
        expect(page.records.map((r) => r.position)).toEqual(sent.map((s) => s.offset))
      } finally {
        await reader.close()
      }
    } finally {
      await sink.close()
    }
  })

  it('pipelines large batches and returns every id in order', async () => {
    const sink = await openRedisSink(`${svc.address}?prefix=${encodeURIComponent(prefix)}`)
    try {
      const batch: OutgoingMessage[] = Array.from({length: 2500}, (_, i) => ({topic: sink.targetName!('bulk'), partition: null, key: null, value: Buffer.from(String(i)), headers: [], timestamp: null}))
      const sent = await sink.send(batch)
      expect(sent).toHaveLength(2500)
      expect(await redis.xlen(`${prefix}bulk`)).toBe(2500)
      const [[id, fields]] = await redis.xrange(`${prefix}bulk`, sent[1234].offset, sent[1234].offset)
      expect(id).toBe(sent[1234].offset)
      expect(fields).toEqual(['_dlq', '1', 'value', '1234'])
    } finally {
      await sink.close()
    }
  })

  it('a batch mixing streams, layouts and field counts lands in each stream in order, with each id where it belongs', async () => {
    const sink = await openRedisSink(`${svc.address}?prefix=${encodeURIComponent(prefix)}`)
    try {
      // Runs of one stream and field count of every length, broken by a stream or a field count changing.
      const batch: OutgoingMessage[] = Array.from({length: 1700}, (_, i) => {
        const topic = prefix + (i % 7 === 0 || (i > 900 && i < 950) ? 'mix-b' : 'mix-a')
        const key = i % 3 === 0 ? Buffer.from(`k${i}`) : null
        const headers = i % 11 === 0 ? [{key: 'h', value: Buffer.from(`${i}`)}] : []
        const layout = i % 13 === 0 ? {name: 'payload' as const} : undefined
        return {topic, partition: null, key, value: Buffer.from(`v${i}`), headers, timestamp: null, layout}
      })
      const sent = await sink.send(batch)
      expect(sent).toHaveLength(batch.length)
      for (const topic of [`${prefix}mix-a`, `${prefix}mix-b`]) {
        const mine = batch.map((m, i) => ({m, s: sent[i]})).filter((x) => x.m.topic === topic)
        const entries = await redis.xrange(topic, '-', '+')
        expect(entries.map(([id]) => id)).toEqual(mine.map((x) => x.s.offset))
        entries.forEach(([, fields], j) => {
          const value = fields[fields.indexOf(mine[j].m.layout ? 'payload' : 'value') + 1]
          expect(value).toBe(mine[j].m.value!.toString())
        })
      }
    } finally {
      await sink.close()
    }
  })

  it('ignores the stream key of a DLQ URI and refuses a target key that is not a stream (for its messages alone)', async () => {
    const other = uniqueName('dlq-test-notstream')
    keys.push(other)
    await redis.hset(other, 'f', 'v')
    const sink = await openRedisSink(`${svc.address}/0/some-dlq-stream`)
    try {
      const info = await sink.describeTarget(other)
      expect(info.refused).toMatch(/key "dlq-test-notstream-.*" in .* holds a hash, not a stream/)
      const failure = sink.send([{topic: other, partition: null, key: null, value: Buffer.from('x'), headers: [], timestamp: null}])
      await expect(failure).rejects.toBeInstanceOf(UnavailableError)
      await expect(sink.send([{topic: other, partition: null, key: null, value: null, headers: [], timestamp: null}])).rejects.toThrow(/XADD of message 1 of 1 to stream "dlq-test-notstream-.*" failed: the key holds a value that is not a stream/)
    } finally {
      await sink.close()
    }
  })

  it('fails fast with exit code 4 when the server is not there', async () => {
    const err = await openRedisSink('redis://127.0.0.1:1/0').catch((e) => e)
    expect(err).toBeInstanceOf(UnavailableError)
    expect(err.exitCode).toBe(4)
    expect(err.message).toMatch(/connection refused/)
  })
})
