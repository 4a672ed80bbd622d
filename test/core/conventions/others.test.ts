import {describe, expect, it} from 'vitest'
import {decodeRaw, HEADER_CONVENTIONS, isSystemHeader} from '../../../src/core/conventions/index.js'
import {i32, i64, raw} from '../../helpers/raw.js'

describe('spring-cloud-stream', () => {
  it('decodes x-original-* with binary numbers', () => {
    const r = decodeRaw(raw([['x-original-topic', 'payments'], ['x-original-partition', i32(2)], ['x-original-offset', i64(77)], ['x-exception-fqcn', 'java.lang.IllegalStateException']]))
    expect(r.convention).toBe('spring-cloud-stream')
    expect(r.source).toEqual({topic: 'payments', partition: 2, offset: 77, group: null})
    expect(r.reason).toBe('IllegalStateException')
    expect(r.error).toEqual({class: 'java.lang.IllegalStateException', message: null, cause: null, stage: null})
  })
  it('is detected by x-exception-fqcn alone', () => {
    expect(decodeRaw(raw([['x-exception-fqcn', 'E']])).convention).toBe('spring-cloud-stream')
  })
})

describe('connect', () => {
  it('decodes decimal text headers and tolerates a null exception message', () => {
    const r = decodeRaw(
      raw([
        ['__connect.errors.topic', 'inventory'],
        ['__connect.errors.partition', '2'],
        ['__connect.errors.offset', '881'],
        ['__connect.errors.exception.class.name', 'org.apache.kafka.connect.errors.DataException'],
        ['__connect.errors.exception.message', null],
      ]),
    )
    expect(r.convention).toBe('connect')
    expect(r.source).toEqual({topic: 'inventory', partition: 2, offset: 881, group: null})
    expect(r.reason).toBe('DataException')
    expect(r.error?.class).toBe('org.apache.kafka.connect.errors.DataException')
    expect(r.metadata['__connect.errors.exception.message']).toBeNull()
  })
})

describe('streams', () => {
  it('decodes __streams.errors.*', () => {
    const r = decodeRaw(raw([['__streams.errors.topic', 's'], ['__streams.errors.partition', '0'], ['__streams.errors.offset', '42'], ['__streams.errors.exception', 'X']]))
    expect(r.convention).toBe('streams')
    expect(r.source).toEqual({topic: 's', partition: 0, offset: 42, group: null})
    expect(r.reason).toBe('X')
  })
})

describe('smallrye', () => {
  it('decodes dead-letter-* and keeps original headers as user headers', () => {
    const r = decodeRaw(raw([['dead-letter-reason', 'price must be positive'], ['dead-letter-topic', 'prices'], ['dead-letter-partition', '0'], ['dead-letter-offset', '314'], ['tenant', 'eu-1']]))
    expect(r.convention).toBe('smallrye')
    expect(r.source).toEqual({topic: 'prices', partition: 0, offset: 314, group: null})
    expect(r.reason).toBe('price must be positive')
    expect(r.userHeaders).toEqual([{key: 'tenant', value: Buffer.from('eu-1')}])
  })
  it('keeps a dead-letter-cause that comes without its class (the README example), and reads a class-name-only reason as no message', () => {
    const r = decodeRaw(raw([['dead-letter-reason', 'price must be positive'], ['dead-letter-cause', 'java.lang.IllegalArgumentException: price must be positive'], ['dead-letter-exception-class-name', 'java.lang.IllegalArgumentException']]))
    expect(r.error!.cause).toEqual({class: null, message: 'java.lang.IllegalArgumentException: price must be positive'})
    expect(r.reason).toBe('java.lang.IllegalArgumentException: price must be positive')
    const bare = decodeRaw(raw([['dead-letter-exception-class-name', 'java.lang.IllegalStateException'], ['dead-letter-reason', 'java.lang.IllegalStateException']]))
    expect(bare.error!.message).toBeNull()
    expect(bare.reason).toBe('IllegalStateException')
  })
  it('a delayed-retry-count that is not a count (negative, hostile) gives no retries, never a negative number', () => {
    const rec = (count: string) => decodeRaw(raw([['delayed-retry-topic', 'orders'], ['delayed-retry-partition', '0'], ['delayed-retry-offset', '5'], ['delayed-retry-count', count], ['delayed-retry-reason', 'x']]))
    expect(rec('1').retries).toBe(2)
    expect(rec('-5').retries).toBeNull()
  })
  it('many repeats of one system header decode in linear time, in order', () => {
    const n = 50_000
    const started = Date.now()
    const r = decodeRaw(raw([['dead-letter-reason', 'x'], ...Array.from({length: n}, (_, i): [string, string] => ['dead-letter-x', String(i)])]))
    const xs = r.metadata['dead-letter-x'] as string[]
    expect(xs).toHaveLength(n)
    expect(xs[0]).toBe('0')
    expect(xs[n - 1]).toBe(String(n - 1))
    // Copying the array per repeat took ~19 s for 50,000 (quadratic); pushing takes milliseconds.
    expect(Date.now() - started).toBeLessThan(3000)
  })
})

describe('fibril', () => {
  it('decodes stroma.dlq.* with no partition and the dead-letter time', () => {
    const r = decodeRaw(
      raw([
        ['stroma.dlq.source_topic', 'jobs'],
        ['stroma.dlq.source_group', 'runners'],
        ['stroma.dlq.source_offset', '9001'],
        ['stroma.dlq.retry_count', '5'],
        ['stroma.dlq.reason', 'retries_exhausted'],
        ['stroma.dlq.dead_lettered_at_ms', '1764000000500'],
        ['fibril.internal', 'x'],
        ['priority', 'high'],
      ]),
    )
    expect(r.convention).toBe('fibril')
    expect(r.source).toEqual({topic: 'jobs', partition: null, offset: 9001, group: 'runners'})
    expect(r.retries).toBe(5)
    expect(r.reason).toBe('retries_exhausted')
    expect(r.deadLetteredAt).toBe(1764000000500)
    expect(r.userHeaders.map((h) => h.key)).toEqual(['priority'])
    expect(r.metadata['fibril.internal']).toBe('x')
  })
})

describe('karafka', () => {
  it('≥ 2.5 source_* headers', () => {
    const r = decodeRaw(raw([['source_topic', 'clicks'], ['source_partition', '4'], ['source_offset', '123456'], ['source_consumer_group', 'g'], ['source_attempts', '3'], ['source_trace_id', 'uuid']]))
    expect(r.convention).toBe('karafka')
    expect(r.source).toEqual({topic: 'clicks', partition: 4, offset: 123456, group: 'g'})
    expect(r.retries).toBe(3)
  })
  it('2.4.x original_* with original_key replacing the routing key', () => {
    const r = decodeRaw(raw([['original_topic', 'clicks'], ['original_partition', '1'], ['original_offset', '777'], ['original_attempts', '2'], ['original_key', 'user-8']], {key: Buffer.from('1')}))
    expect(r.convention).toBe('karafka')
    expect(r.source).toMatchObject({topic: 'clicks', partition: 1, offset: 777})
    expect(r.retries).toBe(2)
    expect(r.key?.toString()).toBe('user-8')
  })
  it('≤ 2.0.16 original-* headers', () => {
    const r = decodeRaw(raw([['original-topic', 'a'], ['original-partition', '0'], ['original-offset', '5']]))
    expect(r.convention).toBe('karafka')
    expect(r.source).toMatchObject({topic: 'a', partition: 0, offset: 5})
  })
})

describe('arroyo', () => {
  it('decodes partition and offset without a topic', () => {
    const r = decodeRaw(raw([['original_partition', '2'], ['original_offset', '31337']]))
    expect(r.convention).toBe('arroyo')
    expect(r.source).toEqual({topic: null, partition: 2, offset: 31337, group: null})
  })
  it('keeps a partition equal to the offset but marks it doubtful (rust-arroyo writes the offset there)', () => {
    const r = decodeRaw(raw([['original_partition', '31337'], ['original_offset', '31337']]))
    expect(r.source.partition).toBe(31337)
    expect(r.source.doubt).toMatch(/rust-arroyo/)
    const sure = decodeRaw(raw([['original_partition', '1'], ['original_offset', '7']]))
    expect(sure.source.doubt).toBeUndefined()
  })
  it('doubts 0@0 too: rust-arroyo writes partition 0 for every offset-0 record', () => {
    const r = decodeRaw(raw([['original_partition', '0'], ['original_offset', '0']]))
    expect(r.source.partition).toBe(0)
    expect(r.source.doubt).toMatch(/rust-arroyo/)
  })
  it('gets a topic hint from Sentry\'s `<topic>-dlq` naming although a convention matched', () => {
    const r = decodeRaw({...raw([['original_partition', '1'], ['original_offset', '7']]), dlqTopic: 'ingest-events-dlq'})
    expect(r.convention).toBe('arroyo')
    expect(r.source.topic).toBeNull()
    expect(r.metadata['dlq.source-topic-hint']).toBe('ingest-events')
  })
})

describe('watermill', () => {
  it('decodes the poison headers', () => {
    const r = decodeRaw(raw([['reason_poisoned', 'bad'], ['topic_poisoned', 'notifications'], ['handler_poisoned', 'h']]))
    expect(r.convention).toBe('watermill')
    expect(r.source.topic).toBe('notifications')
    expect(r.reason).toBe('bad')
  })
  it('has the reason as the error message (Watermill records no error type) and the record time as the failure time', () => {
    const r = decodeRaw(raw([['reason_poisoned', 'charge card: gateway timeout'], ['topic_poisoned', 'orders']], {timestamp: 1_764_000_000_123}))
    expect(r.error).toEqual({class: null, message: 'charge card: gateway timeout', cause: null, stage: null})
    expect(r.reason).toBe('charge card: gateway timeout')
    expect(r.deadLetteredAt).toBe(1_764_000_000_123)
    expect(r.originalTimestamp).toBeNull()
    expect(r.retries).toBeNull()
  })
})

describe('detection order and unknown', () => {
  it('first match wins: spring before karafka headers on the same record', () => {
    expect(decodeRaw(raw([['source_attempts', '1'], ['kafka_dlt-original-topic', 't']])).convention).toBe('spring')
  })
  it('nothing recognised: unknown, no source, only a topic hint', () => {
    const r = decodeRaw(raw([['trace', 'x']], {dlqTopic: 'orders.DLT'}))
    expect(r.convention).toBe('unknown')
    expect(r.source).toEqual({topic: null, partition: null, offset: null, group: null})
    expect(r.metadata['dlq.source-topic-hint']).toBe('orders')
  })
  it.each([
    ['orders-dlt', 'orders'],
    ['orders.dlq', 'orders'],
    ['error.payments.billing', 'payments'],
    ['dead-letter-topic-prices', 'prices'],
    ['_dlq.audit', 'audit'],
    ['dfe.dlq', undefined],
    ['plain', undefined],
  ])('topic hint of %s', (topic, hint) => {
    expect(decodeRaw(raw([], {dlqTopic: topic, value: Buffer.from('x')})).metadata['dlq.source-topic-hint']).toBe(hint)
  })
  it('every convention prefix is system metadata of its own convention', () => {
    const own: Array<[string, string]> = [
      ['spring', 'kafka_dlt-x'],
      ['spring', 'kafka_original-topic'],
      ['spring', 'kafka_exception-fqcn'],
      ['spring', 'retry_topic-attempts'],
      ['spring-cloud-stream', 'x-original-topic'],
      ['spring-cloud-stream', 'x-exception-message'],
      ['connect', '__connect.errors.x'],
      ['streams', '__streams.errors.x'],
      ['smallrye', 'dead-letter-x'],
      ['fibril', 'stroma.x'],
      ['fibril', 'fibril.x'],
      ['karafka', 'source_topic'],
      ['karafka', 'original_key'],
      ['karafka', 'original-topic'],
      ['watermill', 'reason_poisoned'],
    ]
    for (const [name, h] of own) {
      expect(HEADER_CONVENTIONS.some((c) => c.name === name && isSystemHeader(c, h)), h).toBe(true)
    }
    for (const h of ['trace', 'content-type', 'x-request-id', 'sourcetopic']) expect(HEADER_CONVENTIONS.some((c) => isSystemHeader(c, h)), h).toBe(false)
  })
  it('strips only the detected convention\'s metadata: a Watermill user header named source_topic stays', () => {
    const r = decodeRaw(raw([['reason_poisoned', 'bad'], ['topic_poisoned', 'orders'], ['source_topic', 'mine'], ['original_offset', '3']]))
    expect(r.convention).toBe('watermill')
    expect(r.userHeaders.map((h) => h.key)).toEqual(['source_topic', 'original_offset'])
    expect(Object.keys(r.metadata)).toEqual(['reason_poisoned', 'topic_poisoned'])
  })
})
