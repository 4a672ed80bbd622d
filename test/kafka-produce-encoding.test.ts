import {crc32c, Reader, readRecordsBatch} from '@platformatic/kafka'
import {describe, expect, it} from 'vitest'
import * as lib from '@platformatic/kafka'
import {crc32cFor, encodeBatch, nextSequence, parseProduce} from '../src/backends/kafka/produce.js'
import type {OutgoingMessage} from '../src/core/sink.js'

const crc = (b: Buffer) => crc32c(b) as number
const msg = (over: Partial<OutgoingMessage>): OutgoingMessage => ({topic: 't', partition: 0, key: null, value: null, headers: [], timestamp: null, ...over})

/** The library's own reader of record batches checks our bytes independently of our writer. */
const decode = (b: Buffer) => readRecordsBatch(Reader.from(b))

describe('record batch encoding (the Kafka sink writes batches itself)', () => {
  it('is read back field by field by the library: keys, values, null/empty, repeated headers, timestamps far apart', () => {
    const big = Buffer.alloc(70_000, 0x62)
    const messages = [
      msg({key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{key: 'h', value: Buffer.from('1')}, {key: 'h', value: null}, {key: 'é', value: Buffer.alloc(0)}], timestamp: 1_700_000_000_003}),
      msg({timestamp: 1_600_000_000_000}),
      msg({key: Buffer.alloc(0), value: big, timestamp: 1_700_000_000_000 + 2 ** 33}),
      msg({value: Buffer.from([0, 0xff]), timestamp: null}),
    ]
    const b = encodeBatch(messages, {producerId: 4242n, producerEpoch: 3, baseSequence: 2 ** 31 - 2, now: 1_764_000_000_000}, crc)
    const batch = decode(b)
    expect(batch.length).toBe(b.length - 12)
    expect(batch.magic).toBe(2)
    expect(batch.attributes).toBe(0)
    expect(batch.crc).toBe(crc(b.subarray(21)) >>> 0)
    expect(batch.producerId).toBe(4242n)
    expect(batch.producerEpoch).toBe(3)
    expect(batch.firstSequence).toBe(2 ** 31 - 2)
    expect(batch.lastOffsetDelta).toBe(3)
    expect(batch.firstTimestamp).toBe(1_700_000_000_003n)
    expect(batch.maxTimestamp).toBe(1_764_000_000_000n)
    const r = batch.records
    expect(r.map((x) => x.offsetDelta)).toEqual([0, 1, 2, 3])
    expect(r.map((x) => batch.firstTimestamp + x.timestampDelta)).toEqual([1_700_000_000_003n, 1_600_000_000_000n, BigInt(1_700_000_000_000 + 2 ** 33), 1_764_000_000_000n])
    expect(r[0].key).toEqual(Buffer.from('k1'))
    expect(r[0].value).toEqual(Buffer.from('v1'))
    expect(r[0].headers.map(([k, v]) => [k.toString(), v === null ? null : v.toString()])).toEqual([
      ['h', '1'],
      ['h', null],
      ['é', ''],
    ])
    expect(r[1].key).toBeNull()
    expect(r[1].value).toBeNull()
    expect(r[2].key).toEqual(Buffer.alloc(0))
    expect(r[2].value).toEqual(big)
    expect(r[3].value).toEqual(Buffer.from([0, 0xff]))
  })

  it('a damaged byte changes the checksum the broker verifies', () => {
    const b = encodeBatch([msg({value: Buffer.from('x')})], {producerId: 1n, producerEpoch: 0, baseSequence: 0, now: 1}, crc)
    const stored = b.readUInt32BE(17)
    b[b.length - 2] ^= 1
    expect(crc(b.subarray(21)) >>> 0).not.toBe(stored)
  })

  it("the sink's CRC-32C (the addon on the Buffer itself) agrees with the library's", () => {
    const fast = crc32cFor(lib)
    const b = Buffer.alloc(300_000)
    for (let i = 0; i < b.length; i++) b[i] = (i * 2_654_435_761) >>> 24
    for (const part of [b, b.subarray(21), b.subarray(7, 100), Buffer.alloc(0)]) expect(fast(part)).toBe(crc(part))
    expect(fast(Buffer.from('123456789'))).toBe(0xe3069283) // the CRC-32C check value
  })

  it('sequence numbers wrap to 0 after 2^31 - 1', () => {
    expect(nextSequence(5, 3)).toBe(8)
    expect(nextSequence(2 ** 31 - 2, 3)).toBe(1)
  })

  it('reads a produce response whose failed partition names its new leader in a tagged field (Kafka 4)', () => {
    // Captured from Kafka 4.1: partitions 2 and 0 written, 4 NOT_LEADER_OR_FOLLOWER (6) with CurrentLeader, then NodeEndpoints.
    const hex =
      '0221646c712d746573742d73696e6b2d72742d6d783369763261722d633065723871050000000200000000000000000000ffffffffffffffff00000000000000000100000000000000000000000000000000ffffffffffffffff0000000000000000010000000000040006ffffffffffffffffffffffffffffffffffffffffffffffff01000100090000000100000000000000000300000000000000000000ffffffffffffffff0000000000000000010000000000000001001502000000010a3132372e302e302e3100004a940000'
    const buffer = Buffer.from(hex, 'hex')
    const acks = parseProduce(0, 0, 11, {buffer, position: 0})
    const topic = 'dlq-test-sink-rt-mx3iv2ar-c0er8q'
    expect([...acks.entries()]).toEqual([
      [`${topic}\u00002`, {errorCode: 0, baseOffset: 0n, message: null}],
      [`${topic}\u00000`, {errorCode: 0, baseOffset: 0n, message: null}],
      [`${topic}\u00004`, {errorCode: 6, baseOffset: -1n, message: null}],
      [`${topic}\u00003`, {errorCode: 0, baseOffset: 0n, message: null}],
    ])
  })
})
