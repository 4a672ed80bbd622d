import {describe, expect, it} from 'vitest'
import {decodeDlqMessage, previewBytes, replayConvention, toMessage} from '../../src/core/message.js'
import type {DecodedRecord} from '../../src/core/record.js'

const rec: DecodedRecord = {
  position: '2:41',
  timestamp: 1_764_000_000_000,
  key: Buffer.from([0xff, 0x01]),
  payload: Buffer.from('héllo wörld'),
  payloadTruncated: false,
  payloadSize: 13,
  userHeaders: [
    {key: 'a', value: Buffer.from('1')},
    {key: 'a', value: null},
    {key: 'bin', value: Buffer.from([0x00, 0xfe])},
  ],
  source: {topic: 'orders', partition: 3, offset: 7, group: null},
  reason: 'boom',
  retries: 1,
  deadLetteredAt: null,
  convention: 'spring',
  metadata: {'kafka_dlt-original-offset': 7},
  unreadable: null,
}

describe('normalised record', () => {
  it('cuts a preview without splitting a UTF-8 character', () => {
    expect(previewBytes(Buffer.from('héllo'), 2).toString()).toBe('h')
    const m = toMessage(rec, {payloadLimit: 2})
    expect(m.payload).toEqual({size: 13, text: 'h', truncated: true})
  })
  it('binary key and headers become base64, repeated headers an array', () => {
    const m = toMessage(rec, {payloadLimit: 4096})
    expect(m.key).toEqual({base64: '/wE='})
    expect(m.headers).toEqual({a: ['1', null], bin: {base64: 'AP4='}})
    expect(m.timestamp).toBe('2025-11-24T16:00:00.000Z')
  })
  it('--no-payload keeps only the size', () => {
    expect(toMessage(rec, {payloadLimit: 4096, noPayload: true}).payload).toEqual({size: 13, truncated: true})
  })
  it('reads its own NDJSON back without loss', () => {
    const json = JSON.parse(JSON.stringify(toMessage(rec, {payloadLimit: 4096})))
    const back = decodeDlqMessage('0', json)
    expect(back.convention).toBe('dlq')
    expect(back.key).toEqual(rec.key)
    expect(back.payload).toEqual(rec.payload)
    expect(back.payloadTruncated).toBe(false)
    expect(back.userHeaders).toEqual(rec.userHeaders)
    expect(back.source).toEqual(rec.source)
    expect([back.reason, back.retries, back.timestamp]).toEqual([rec.reason, rec.retries, rec.timestamp])
    expect(back.metadata).toMatchObject({'kafka_dlt-original-offset': 7, 'dlq.original-position': '2:41', 'dlq.original-convention': 'spring'})
    expect(back.unreadable).toBeNull()
    // a second round trip keeps the first origin
    const again = decodeDlqMessage('3', JSON.parse(JSON.stringify(toMessage(back, {payloadLimit: 4096}))))
    expect(again.metadata['dlq.original-position']).toBe('2:41')
  })
  it('an unreadable record read back stays unreadable, with what was wrong', () => {
    // Its payload is the corrupt line (or the entry that could not be read): never a message to replay.
    const bad: DecodedRecord = {...rec, convention: 'unknown', source: {topic: null, partition: null, offset: null, group: null}, payload: Buffer.from('[1,2,3]'), unreadable: 'line is JSON but not an object'}
    const back = decodeDlqMessage('0', JSON.parse(JSON.stringify(toMessage(bad, {payloadLimit: 4096}))))
    expect(back.unreadable).toBe('line is JSON but not an object')
    expect(back.payload).toEqual(bad.payload)
    // ... and stays so through another round trip.
    expect(decodeDlqMessage('1', JSON.parse(JSON.stringify(toMessage(back, {payloadLimit: 4096})))).unreadable).toBe('line is JSON but not an object')
  })
  it('a record whose "unreadable" is not text is unreadable, and a broken field adds to what was wrong', () => {
    const json = JSON.parse(JSON.stringify(toMessage(rec, {payloadLimit: 4096})))
    expect(decodeDlqMessage('0', {...json, unreadable: true}).unreadable).toBe('dlq record: field "unreadable" is not a string')
    expect(decodeDlqMessage('0', {...json, unreadable: null}).unreadable).toBeNull()
    expect(decodeDlqMessage('0', {...json, unreadable: 'invalid JSON', key: 7}).unreadable).toBe('invalid JSON; dlq record: field "key" is neither text nor {"base64": …}')
  })
  it('a truncated export stays marked truncated', () => {
    const json = JSON.parse(JSON.stringify(toMessage(rec, {payloadLimit: 3})))
    expect(decodeDlqMessage('0', json).payloadTruncated).toBe(true)
  })
})

describe('exact integers in JSON', () => {
  it('writes offsets beyond 2^53 as exact JSON numbers and reads them back exactly', async () => {
    const {safeJson} = await import('../../src/output/escape.js')
    const {parseLine} = await import('../../src/backends/file/parse-line.js')
    const line = Buffer.from(
      JSON.stringify({timestamp: 1764000000000, service: 's', reason: 'r', attempts: 0, payload: 'YQ==', source: {topic: 't', partition: 0, offset: 1}}).replace('"offset":1', '"offset":9007199254740993'),
    )
    const rec = parseLine(line, '0', false)!
    expect(rec.source.offset).toBe(9007199254740993n)
    const text = safeJson({offset: rec.source.offset, max: 9223372036854775807n, tricky: '\u0000dlq-bigint-x:1'})
    expect(text).toBe('{"offset":9007199254740993,"max":9223372036854775807,"tricky":"\\u0000dlq-bigint-x:1"}')
  })
})

describe('interleaved repeated headers survive an export', () => {
  it('writes headerOrder only when the headers object cannot keep the order, and reads it back exactly', async () => {
    const {toMessage, decodeDlqMessage} = await import('../../src/core/message.js')
    const {blankRecord} = await import('../../src/core/record.js')
    const rec = {...blankRecord('0'), payload: Buffer.from('x'), userHeaders: [
      {key: 'tag', value: Buffer.from('1')},
      {key: 'nothing', value: null},
      {key: 'tag', value: Buffer.from([0xff])},
    ]}
    const msg = toMessage(rec, {payloadLimit: 4096})
    expect(msg.headerOrder).toEqual([['tag', '1'], ['nothing', null], ['tag', {base64: '/w=='}]])
    const back = decodeDlqMessage('0', JSON.parse(JSON.stringify(msg)))
    expect(back.userHeaders).toEqual(rec.userHeaders)
    const plain = toMessage({...rec, userHeaders: [rec.userHeaders[0], rec.userHeaders[2], rec.userHeaders[1]]}, {payloadLimit: 4096})
    expect(plain.headerOrder).toBeUndefined()
  })
})

describe('the convention an export read back is replayed by', () => {
  it('is the convention it was read with, where that is one dlq knows', () => {
    const back = decodeDlqMessage('0', JSON.parse(JSON.stringify(toMessage({...rec, convention: 'watermill'}, {payloadLimit: 4096}))))
    expect(back.convention).toBe('dlq')
    expect(replayConvention(back)).toBe('watermill')
    const dlqOwn = {...rec, convention: 'dlq' as const}
    for (const noted of ['dlq', 'unknown', 'bogus', '__proto__', 'toString', 7, null, undefined]) {
      expect(replayConvention({...dlqOwn, metadata: {'dlq.original-convention': noted as never}}), String(noted)).toBe('dlq')
    }
  })
  it("never overrides a convention detected on the record itself", () => {
    expect(replayConvention({...rec, metadata: {'dlq.original-convention': 'watermill'}})).toBe('spring')
  })
})
