import {describe, expect, it} from 'vitest'
import {decodeRaw} from '../../../src/core/conventions/index.js'
import {i32, i64, raw} from '../../helpers/raw.js'

describe('spring convention', () => {
  it('decodes binary partition/offset/timestamp and prefers the cause class as reason', () => {
    const r = decodeRaw(
      raw([
        ['kafka_dlt-original-topic', 'orders'],
        ['kafka_dlt-original-partition', i32(3)],
        ['kafka_dlt-original-offset', i64(12345)],
        ['kafka_dlt-original-timestamp', i64(1_700_000_000_123)],
        ['kafka_dlt-original-consumer-group', 'workers'],
        ['kafka_dlt-exception-fqcn', 'org.springframework.kafka.listener.ListenerExecutionFailedException'],
        ['kafka_dlt-exception-cause-fqcn', 'com.fasterxml.jackson.core.JsonParseException'],
        ['trace', 'abc'],
      ]),
    )
    expect(r.convention).toBe('spring')
    expect(r.source).toEqual({topic: 'orders', partition: 3, offset: 12345, group: 'workers'})
    expect(r.reason).toBe('com.fasterxml.jackson.core.JsonParseException')
    expect(r.metadata['kafka_dlt-original-timestamp']).toBe(1_700_000_000_123)
    expect(r.userHeaders.map((h) => h.key)).toEqual(['trace'])
    expect(r.deadLetteredAt).toBeNull()
  })

  it('takes the first of repeated original-* headers (root source) and keeps all in metadata', () => {
    const r = decodeRaw(
      raw([
        ['kafka_dlt-original-topic', 'orders'],
        ['kafka_dlt-original-partition', i32(1)],
        ['kafka_dlt-original-offset', i64(10)],
        ['kafka_dlt-original-topic', 'orders-dlt'],
        ['kafka_dlt-original-partition', i32(0)],
        ['kafka_dlt-original-offset', i64(99)],
      ]),
    )
    expect(r.source).toMatchObject({topic: 'orders', partition: 1, offset: 10})
    expect(r.metadata['kafka_dlt-original-topic']).toEqual(['orders', 'orders-dlt'])
    expect(r.metadata['kafka_dlt-original-offset']).toEqual([10, 99])
  })

  it('reads retry_topic-attempts of old one-byte records and falls back to the key exception', () => {
    const r = decodeRaw(
      raw([
        ['kafka_dlt-original-topic', 't'],
        ['retry_topic-attempts', Buffer.from([3])],
        ['kafka_dlt-key-exception-fqcn', 'org.apache.kafka.common.errors.SerializationException'],
      ]),
    )
    expect(r.retries).toBe(3)
    expect(r.reason).toBe('org.apache.kafka.common.errors.SerializationException')
  })
})
