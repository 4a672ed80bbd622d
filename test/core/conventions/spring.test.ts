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
    expect(r.reason).toMatch(/^JsonParseException/)
    expect(r.error?.cause?.class).toBe('com.fasterxml.jackson.core.JsonParseException')
    expect(r.metadata['kafka_dlt-original-timestamp']).toBe(1_700_000_000_123)
    expect(r.userHeaders.map((h) => h.key)).toEqual(['trace'])
    // The DLT record is produced when the listener gave up: its time is the failure time; the
    // failed record's own time travels in kafka_dlt-original-timestamp.
    expect(r.deadLetteredAt).toBe(1_764_000_000_000)
    expect(r.originalTimestamp).toBe(r.metadata['kafka_dlt-original-timestamp'])
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
    expect(r.reason).toMatch(/^SerializationException/)
    expect(r.error?.class).toBe('org.apache.kafka.common.errors.SerializationException')
    expect(r.error?.stage).toBe('key')
  })

  it('reads the non-blocking retry family (kafka_original-*, kafka_exception-*) and the last attempts header', () => {
    const r = decodeRaw(
      raw([
        ['kafka_original-topic', 'orders'],
        ['kafka_original-partition', i32(2)],
        ['kafka_original-offset', i64(41)],
        ['kafka_original-timestamp', i64(1_763_000_000_000)],
        ['kafka_exception-fqcn', 'org.springframework.kafka.listener.ListenerExecutionFailedException'],
        ['kafka_exception-cause-fqcn', 'java.lang.IllegalArgumentException'],
        ['kafka_exception-message', 'Listener method threw exception'],
        ['kafka_exception-stacktrace', 'org.x.ListenerExecutionFailedException: x\n\tat a.b\nCaused by: java.lang.IllegalArgumentException: quantity must be positive\n\tat c.d'],
        ['kafka_dlt-original-consumer-group', 'order-workers'],
        ['retry_topic-attempts', i32(1)],
        ['retry_topic-attempts', i32(2)],
        ['retry_topic-attempts', i32(3)],
        ['trace', 'abc'],
      ]),
    )
    expect(r.convention).toBe('spring')
    expect(r.source).toEqual({topic: 'orders', partition: 2, offset: 41, group: 'order-workers'})
    expect(r.reason).toBe('IllegalArgumentException: quantity must be positive')
    expect(r.retries).toBe(3)
    expect(r.originalTimestamp).toBe(1_763_000_000_000)
    expect(r.userHeaders.map((h) => h.key)).toEqual(['trace'])
  })
  it('warns about a partition header that is not 4 bytes, and keeps offsets beyond 2^53 exact', () => {
    const r = decodeRaw(raw([['kafka_dlt-original-topic', 'o'], ['kafka_dlt-original-partition', Buffer.from([1, 2])], ['kafka_dlt-original-offset', i64(9007199254740993n)]]))
    expect(r.source.partition).toBe(258)
    expect(r.metadata['dlq.warning']).toMatch(/kafka_dlt-original-partition is 2 bytes, expected 4/)
    expect(r.source.offset).toBe(9007199254740993n)
  })
})
