import {describe, expect, it} from 'vitest'
import {buildFilter, parseExpression} from '../../src/core/filter.js'
import {UsageError} from '../../src/core/errors.js'
import type {DecodedRecord} from '../../src/core/record.js'

const now = Date.UTC(2026, 10, 23, 12, 0, 0)
const rec = (over: Partial<DecodedRecord> = {}): DecodedRecord => ({
  position: '5',
  timestamp: now - 3_600_000,
  key: Buffer.from('order-17'),
  payload: Buffer.from('{"customer":{"id":42,"tier":"gold"},"items":[{"sku":"A"}]}'),
  payloadTruncated: false,
  payloadSize: null,
  userHeaders: [{key: 'trace', value: Buffer.from('abc')}],
  source: {topic: 'orders', partition: 3, offset: 12345, group: 'workers'},
  reason: 'parse_error',
  error: null,
  retries: 2,
  deadLetteredAt: null,
  originalTimestamp: null,
  convention: 'spring',
  metadata: {'kafka_dlt-exception-fqcn': 'java.lang.RuntimeException', 'kafka_dlt-original-offset': [10, 99]},
  unreadable: null,
  ...over,
})
const match = (filters: string[], r = rec()) => buildFilter({filters}, now).matches(r)

describe('filter language', () => {
  it.each([
    ['reason=parse_error', true],
    ['reason = parse_error', true],
    ['reason="parse_error"', true],
    ['reason!=parse_error', false],
    ['reason~^parse', true],
    ['source.topic=orders', true],
    ['source.partition=3', true],
    ['source.partition>=4', false],
    ['source.offset<20000', true],
    ['retries>1', true],
    ['retries<=1', false],
    ['key=order-17', true],
    ['header.trace=abc', true],
    ['header.missing=null', false],
    ['header.missing=missing', true],
    ['header.trace!=missing', true],
    ['header.trace=missing', false],
    ['payload.customer.nope=missing', true],
    ['payload.customer.id=missing', false],
    ['metadata.constructor=missing', true],
    ['metadata.kafka_dlt-exception-fqcn~Runtime', true],
    ['metadata.kafka_dlt-original-offset=99', true],
    ['payload~"tier":"gold"', true],
    ['payload.customer.id=42', true],
    ['payload.customer.tier!=silver', true],
    ['payload.items.0.sku=A', true],
    ['convention=spring', true],
    ['timestamp>-2h', true],
    ['timestamp>-30m', false],
    ['timestamp<2026-11-23T12:00:00Z', true],
    ['source.group=workers', true],
  ])('%s → %s', (expr, want) => expect(match([expr])).toBe(want))

  it('all expressions must match', () => {
    expect(match(['reason=parse_error', 'retries>5'])).toBe(false)
    expect(match(['reason=parse_error', 'retries>1'])).toBe(true)
  })

  it('--grep, --since and --until', () => {
    expect(buildFilter({grep: 'gold'}, now).matches(rec())).toBe(true)
    expect(buildFilter({grep: 'silver'}, now).matches(rec())).toBe(false)
    expect(buildFilter({since: '-2h'}, now).matches(rec())).toBe(true)
    expect(buildFilter({until: '-2h'}, now).matches(rec())).toBe(false)
    expect(buildFilter({since: '2026-11-23'}, now).matches(rec())).toBe(true)
  })

  it.each([
    ['reason', /no operator/],
    ['=x', /no field/],
    ['reasn=x', /unknown field "reasn"/],
    ['retries>many', /retries is a number/],
    ['reason~(', /bad regular expression/],
    ['timestamp>yesterday', /not a time/],
    // Would compare with "=parse_error" and match nothing: a CI gate would pass silently.
    ['reason==parse_error', /"==" is not an operator: use "="/],
    ['reason=~parse', /"=~" is not an operator: use "~" \(regex match\)/],
    ['reason!==x', /"!==" is not an operator: use "!="/],
  ])('malformed %s is a usage error naming the problem', (expr, msg) => {
    let err: unknown
    try {
      buildFilter({filters: [expr]}, now)
    } catch (error) {
      err = error
    }
    expect(err).toBeInstanceOf(UsageError)
    expect((err as Error).message).toMatch(msg)
  })

  it('a value that starts with = or ~ is written quoted', () => {
    expect(buildFilter({filters: ["reason='=x'"]}, now).matches(rec({reason: '=x'}))).toBe(true)
    expect(buildFilter({filters: ['reason!="~x"']}, now).matches(rec({reason: '~x'}))).toBe(false)
  })

  it('since after until is refused', () => {
    expect(() => buildFilter({since: '-1h', until: '-2h'}, now)).toThrow(/later than/)
  })

  it('makes byte needles only for safe = values', () => {
    expect(buildFilter({filters: ['reason=timeout', 'source.topic=orders']}).needles.map(String)).toEqual(['timeout', 'orders'])
    expect(buildFilter({filters: ['reason~timeout', 'reason=a"b', 'reason=é', 'retries=3', 'reason=a/b']}).needles).toEqual([])
  })

  it('parses the operator after the field even when the value holds operators', () => {
    expect(parseExpression('payload~a=b')).toEqual({field: 'payload', op: '~', value: 'a=b', quoted: false})
    expect(parseExpression('retries>=2')).toEqual({field: 'retries', op: '>=', value: '2', quoted: false})
  })
})

describe('null versus missing, exact offsets, error parts', () => {
  const withNull = rec({userHeaders: [{key: 'trace', value: null}]})
  it('=null matches a header that is there with a null value, =missing one that is not there', () => {
    expect(match(['header.trace=null'], withNull)).toBe(true)
    expect(match(['header.trace=missing'], withNull)).toBe(false)
    expect(match(['header.other=null'], withNull)).toBe(false)
    expect(match(['header.other=missing'], withNull)).toBe(true)
    expect(match(["header.trace='null'"], rec({userHeaders: [{key: 'trace', value: Buffer.from('null')}]}))).toBe(true)
    expect(match(["header.trace='null'"], withNull)).toBe(false)
  })
  it('compares offsets beyond 2^53 exactly', () => {
    const big = rec({source: {topic: 'orders', partition: 0, offset: 9007199254740993n, group: null}})
    expect(match(['source.offset=9007199254740993'], big)).toBe(true)
    expect(match(['source.offset=9007199254740992'], big)).toBe(false)
    expect(match(['source.offset>9007199254740992'], big)).toBe(true)
    expect(match(['source.offset<100'], big)).toBe(false)
  })
  it('filters on the parts of the recorded error', () => {
    const e = rec({error: {class: 'org.x.ListenerExecutionFailedException', message: 'Listener failed', cause: {class: 'java.lang.NumberFormatException', message: 'For input string: "abc"'}, stage: null}})
    expect(match(['error.cause.class~NumberFormat'], e)).toBe(true)
    expect(match(['error.message=Listener failed'], e)).toBe(true)
    expect(match(['error.stage=null'], e)).toBe(true)
  })
})

describe('times and redaction', () => {
  it('reads epoch seconds and milliseconds', async () => {
    const {parseTime} = await import('../../src/core/time.js')
    expect(parseTime('1700000000', 't')).toBe(1_700_000_000_000)
    expect(parseTime('1700000000123', 't')).toBe(1_700_000_000_123)
  })
  it('never prints a password, even one with / or @ in it', async () => {
    const {redactUri} = await import('../../src/core/source.js')
    expect(redactUri('redis://u:p@ss/w@rd@host:6379/0/k?x=1')).toBe('redis://u:***@host:6379/0/k?x=1')
    expect(redactUri('kafka://:secret@h:9092/t')).toBe('kafka://***@h:9092/t')
    expect(redactUri('kafka://h:9092/t')).toBe('kafka://h:9092/t')
  })
})
