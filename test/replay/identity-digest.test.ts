import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {contentDigest, sourceKey} from '../../src/core/replay/identity.js'
import type {DecodedRecord} from '../../src/core/record.js'

/** The digest as first written (one hash update per part): ledgers already hold its keys. */
function reference(r: DecodedRecord): string {
  const h = createHash('sha256')
  const feed = (tag: string, b: Buffer | string | null) => {
    if (b === null) h.update(`${tag}-;`)
    else {
      const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b
      h.update(`${tag}${buf.length}:`)
      h.update(buf)
    }
  }
  feed('k', r.key)
  feed('v', r.payload)
  for (const x of r.userHeaders) {
    feed('hk', x.key)
    feed('hv', x.value)
  }
  feed('t', r.timestamp === null ? null : String(r.timestamp))
  feed('c', r.convention)
  feed('r', r.reason)
  feed('s', JSON.stringify(r.source, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
  const stable = Object.entries(r.metadata).filter(([k]) => !k.startsWith('redis.delivery-'))
  feed('m', JSON.stringify(stable, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
  return h.digest('hex').slice(0, 32)
}

const record = (over: Partial<DecodedRecord>): DecodedRecord =>
  ({
    position: '0',
    timestamp: 1_764_000_000_000,
    key: null,
    payload: Buffer.from('{"n":1}'),
    userHeaders: [],
    source: {topic: 'orders', partition: 1, offset: 7, group: null},
    reason: 'timeout',
    convention: 'hyperi',
    metadata: {},
    ...over,
  }) as unknown as DecodedRecord

describe('content digest of the replay ledger', () => {
  it('is byte for byte the digest ledgers already hold, for every kind of record', () => {
    const big = 2n ** 63n - 1n
    const records = [
      record({}),
      record({key: Buffer.from('k1'), payload: null, timestamp: null, reason: null}),
      record({userHeaders: [{key: 'trace', value: Buffer.from('abc')}, {key: 'ümlaut 😀', value: null}, {key: 'trace', value: Buffer.from([0, 255, 1])}]}),
      record({source: {topic: 'ö\u2028', partition: null, offset: big as never, group: 'g'}}),
      record({metadata: {'kafka_dlt-original-offset': big as never, 'redis.delivery-count': 3, service: 'svc', list: ['a', 1, null, {base64: 'AA=='}]} as never}),
      record({payload: Buffer.alloc(200_000, 7), reason: 'x'.repeat(70_000)}),
      record({payload: Buffer.from('')}),
      // Values JSON writes in its own way: escapes, lone surrogates, non-finite numbers, undefined, dates, nesting.
      record({source: {topic: 'a"b\\c\n\u0001', partition: Number.NaN, offset: -0, group: undefined, when: new Date(0), nested: {x: [1n, 'ü']}} as never}),
      record({source: {'k"ey': '\ud800 alone', '😀': '\ud83d\ude00 pair', partition: Number.POSITIVE_INFINITY, offset: 1e21, group: true} as never}),
      record({metadata: {a: undefined, b: () => 1, c: Number.NaN, 'd"\n': 'x\u2028', e: {toJSON: () => 'j'}, f: false, g: 1.5, h: [undefined, 2n]} as never}),
      record({metadata: {'redis.delivery-count': 1}, source: {topic: null, partition: null, offset: null, group: null}} as never),
    ]
    for (const r of records) expect(contentDigest(r)).toBe(reference(r))
    // Consecutive calls do not leak into each other.
    expect(contentDigest(records[0])).toBe(reference(records[0]))
  })
})

describe('source key of the replay ledger (the source message a record holds)', () => {
  const plain = (over: Partial<DecodedRecord>) => record({unreadable: null, payloadTruncated: false, notOriginal: null, ...over} as Partial<DecodedRecord>)
  it('is the same for copies the writer dead-lettered again (other time, reason, convention metadata) and names the message in full', () => {
    const first = plain({userHeaders: [{key: 'trace', value: Buffer.from('a')}]})
    const again = plain({timestamp: 1_764_000_060_000, reason: 'retries exhausted', metadata: {attempt: 2}, userHeaders: [{key: 'trace', value: Buffer.from('a')}]})
    expect(sourceKey(first)).toMatch(/^src:[0-9a-f]{32}$/)
    expect(sourceKey(again)).toBe(sourceKey(first))
    // Another message at the same coordinates (a recreated topic), or the same bytes sent with other headers, is another message.
    for (const other of [
      plain({payload: Buffer.from('{"n":2}'), userHeaders: first.userHeaders}),
      plain({key: Buffer.from('k'), userHeaders: first.userHeaders}),
      plain({userHeaders: [{key: 'trace', value: Buffer.from('b')}]}),
      plain({userHeaders: []}),
      plain({source: {topic: 'orders', partition: 2, offset: 7, group: null}, userHeaders: first.userHeaders}),
      plain({source: {topic: 'orders', partition: 1, offset: 8, group: null}, userHeaders: first.userHeaders}),
    ]) expect(sourceKey(other)).not.toBe(sourceKey(first))
    // No digest equals a content digest's: the two kinds of key share the ledger.
    expect(sourceKey(first)!.slice(4)).not.toBe(contentDigest(first))
  })
  it('is null where the source message is not known, or the record does not hold it whole', () => {
    expect(sourceKey(plain({source: {topic: 'orders', partition: null, offset: 7, group: null}}))).toBeNull()
    expect(sourceKey(plain({source: {topic: null, partition: 1, offset: 7, group: null}}))).toBeNull()
    expect(sourceKey(plain({source: {topic: 'orders', partition: 1, offset: 7, group: null, doubt: 'Arroyo: the partition may be the offset'}}))).toBeNull()
    expect(sourceKey(plain({payloadTruncated: true}))).toBeNull()
    expect(sourceKey(plain({unreadable: 'invalid JSON'}))).toBeNull()
    expect(sourceKey(plain({notOriginal: 'the key, as its value'}))).toBeNull()
  })
})
