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
    // the header is the number of the next attempt: 3 means two were made
    expect(r.retries).toBe(2)
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
        ['retry_topic-attempts', i32(2)],
        ['retry_topic-attempts', i32(3)],
        ['retry_topic-attempts', i32(4)],
        ['trace', 'abc'],
      ]),
    )
    expect(r.convention).toBe('spring')
    expect(r.source).toEqual({topic: 'orders', partition: 2, offset: 41, group: 'order-workers'})
    expect(r.reason).toBe('IllegalArgumentException: quantity must be positive')
    // Spring reads the last value, the next attempt's number (captured: 2, 3, 4 after three attempts)
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

  // Shapes seen in fixtures/captured/spring-kafka (spring-kafka 4.1.2).
  const LEFE = 'org.springframework.kafka.listener.ListenerExecutionFailedException'
  const SIG = "Listener method 'public void a.B.on(org.apache.kafka.clients.consumer.ConsumerRecord<java.util.UUID, a.B$Order>)' threw exception"
  it("takes the listener's message from Spring's wrapper message, and a message-less cause as its class alone", () => {
    const withMessage = decodeRaw(
      raw([
        ['kafka_dlt-original-topic', 't'],
        ['kafka_dlt-exception-fqcn', LEFE],
        ['kafka_dlt-exception-cause-fqcn', 'java.lang.IllegalStateException'],
        ['kafka_dlt-exception-message', `${SIG}; cannot price order o-3`],
        ['kafka_dlt-exception-stacktrace', `${LEFE}: ${SIG}\n\tat x.y\nCaused by: java.lang.IllegalStateException: cannot price order o-3\nCaused by: java.lang.NumberFormatException: For input string: "12x"`],
      ]),
    )
    expect(withMessage.error?.cause).toEqual({class: 'java.lang.IllegalStateException', message: 'cannot price order o-3'})
    expect(withMessage.reason).toBe('IllegalStateException: cannot price order o-3')
    const noMessage = decodeRaw(
      raw([
        ['kafka_dlt-original-topic', 't'],
        ['kafka_dlt-exception-fqcn', LEFE],
        ['kafka_dlt-exception-cause-fqcn', 'java.lang.UnsupportedOperationException'],
        ['kafka_dlt-exception-message', `${SIG}; `],
      ]),
    )
    expect(noMessage.error?.cause).toEqual({class: 'java.lang.UnsupportedOperationException', message: null})
    expect(noMessage.reason).toBe('UnsupportedOperationException')
    const retried = decodeRaw(raw([['kafka_original-topic', 't'], ['kafka_exception-fqcn', LEFE], ['kafka_exception-cause-fqcn', 'java.lang.ClassCastException'], ['kafka_exception-message', 'Listener failed; pay-4: amount is not a Money'], ['retry_topic-attempts', i32(2)]]))
    expect(retried.reason).toBe('ClassCastException: pay-4: amount is not a Money')
    expect(retried.retries).toBe(1)
  })

  it("reads a DeserializationException's parser error from the stack trace (Spring names the exception as its own cause)", () => {
    const DE = 'org.springframework.kafka.support.serializer.DeserializationException'
    const r = decodeRaw(
      raw([
        ['kafka_dlt-exception-fqcn', DE],
        ['kafka_dlt-exception-cause-fqcn', DE],
        ['kafka_dlt-exception-message', 'failed to deserialize'],
        ['kafka_dlt-exception-stacktrace', `${DE}: failed to deserialize\n\tat a.b\nCaused by: org.apache.kafka.common.errors.SerializationException: Can't deserialize data  from topic [t]\n\tat c.d\nCaused by: tools.jackson.core.exc.UnexpectedEndOfInputException: Unexpected end-of-input within/between Object entries\n at [Source: UNKNOWN; byte offset: #18]\n\tat e.f`],
        ['kafka_dlt-original-topic', 't'],
      ]),
    )
    expect(r.error).toEqual({class: DE, message: 'failed to deserialize', cause: {class: 'tools.jackson.core.exc.UnexpectedEndOfInputException', message: 'Unexpected end-of-input within/between Object entries'}, stage: null})
    expect(r.reason).toBe('UnexpectedEndOfInputException: Unexpected end-of-input within/between Object entries')
  })
})
