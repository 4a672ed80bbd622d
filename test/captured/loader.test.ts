import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dropKafka, inspectAll, jsonBytes, jsonHeaders, kafkaKey, loadKafka, loadRedis, type Capture} from '../helpers/captured.js'
import {needService, REDIS_URL, KAFKA_BROKERS, uniqueName} from '../helpers/services.js'

// The loader every capture test stands on: what it puts into the stores must be the capture, byte for byte.
const kafka = await needService('kafka')
const redis = await needService('redis')
const enc = (s: string | Buffer) => Buffer.from(s).toString('base64')

const topic = uniqueName('loader-dlt')
const stream = uniqueName('loader-stream')
const cap: Capture = {
  writer: 'loader-test',
  dir: '',
  manifest: {},
  files: null,
  truth: [],
  kafka: [
    {topic, partition: 1, offset: 7, timestamp: 1_764_000_000_000, timestampType: 'CreateTime', key: enc(''), value: enc('{"a":1}'), headers: [{key: 'h', value: null}, {key: 'r', value: enc('1')}, {key: 'r', value: enc('2')}]},
    {topic, partition: 0, offset: 3, timestamp: 1_764_000_000_001, timestampType: 'CreateTime', key: null, value: enc(Buffer.from([0, 255, 1])), headers: []},
  ],
  redis: [{stream, id: '1764000000000-5', fields: [{name: enc('payload'), value: enc(Buffer.from([0xff, 0x00]))}, {name: enc('a'), value: enc('x')}]}],
}

describe.runIf(kafka.available)('capture loader: Kafka', () => {
  let where: Map<string, string>
  beforeAll(async () => {
    where = await loadKafka(cap)
  })
  afterAll(async () => dropKafka(cap))
  it('puts each captured record, with null, empty and repeated fields, where dlq reads it back', () => {
    const items = inspectAll(`kafka://${KAFKA_BROKERS}/${topic}`)
    expect(items).toHaveLength(2)
    const first = items.find((i) => i.position === where.get(kafkaKey(topic, 1, 7)))
    expect(first.key).toBe('')
    expect(jsonBytes(first.payload.text ?? first.payload)).toEqual(Buffer.from('{"a":1}'))
    expect(jsonHeaders(first.headers)).toEqual([
      ['h', null],
      ['r', Buffer.from('1')],
      ['r', Buffer.from('2')],
    ])
    expect(first.timestamp).toBe('2025-11-24T16:00:00.000Z')
    const second = items.find((i) => i.position === where.get(kafkaKey(topic, 0, 3)))
    expect(second.key).toBeNull()
    expect(Buffer.from(second.payload.base64, 'base64')).toEqual(Buffer.from([0, 255, 1]))
  })
})

describe.runIf(redis.available)('capture loader: Redis', () => {
  it('keeps entry ids and binary fields', async () => {
    await loadRedis(cap)
    const items = inspectAll(`${REDIS_URL}/${stream}`)
    expect(items.map((i) => i.position)).toEqual(['1764000000000-5'])
    expect(Buffer.from(items[0].payload.base64, 'base64')).toEqual(Buffer.from([0xff, 0x00]))
    expect(jsonHeaders(items[0].headers)).toEqual([['a', Buffer.from('x')]])
  })
})
