import {gzipSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'
import {decodeRecordSet, RecordSetDecoder} from '../src/backends/kafka/batches.js'
import {CorruptBatchError, lz4FrameDecompress, snappyDecompress} from '../src/backends/kafka/codecs.js'
import {resolveSettings} from '../src/backends/kafka/connection.js'
import {murmur2, partitionForKey, toPositive} from '../src/backends/kafka/murmur2.js'
import {parseCursor} from '../src/backends/kafka/positions.js'
import {parseKafkaUri} from '../src/backends/kafka/uri.js'
import {UsageError} from '../src/core/errors.js'

describe('murmur2 partitioner: the Java client exactly', () => {
  // org.apache.kafka.common.utils.UtilsTest.testMurmur2
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%s) = %i', (key, hash) => {
    expect(murmur2(Buffer.from(key))).toBe(hash)
  })

  it('partition = toPositive(murmur2) % n, not the unsigned hash @platformatic/kafka uses', () => {
    expect(toPositive(-790332482)).toBe(1357151166)
    expect(partitionForKey(Buffer.from('foobar'), 50)).toBe(16)
    expect(partitionForKey(Buffer.from('foobar'), 10)).toBe(6)
    // The unsigned reading of the same hash would put "foobar" in partition 2 of 3; Java says 0.
    expect((-790332482 >>> 0) % 3).toBe(2)
    expect(partitionForKey(Buffer.from('foobar'), 3)).toBe(0)
    expect(toPositive(-2147483648)).toBe(0)
  })
})

describe('kafka URI', () => {
  it('several brokers, topic, partitions and TLS/SASL parameters; the password is not displayed', () => {
    const t = parseKafkaUri('kafka://al%40ice:p%3Ass@b1:9093,[::1],b3/orders-dlt?partition=2,0,2&sasl=SCRAM-SHA-512&tls=1&ca=/etc/ca.pem', {needTopic: true})
    expect(t.brokers).toEqual([
      {host: 'b1', port: 9093},
      {host: '::1', port: 9092},
      {host: 'b3', port: 9092},
    ])
    expect(t).toMatchObject({topic: 'orders-dlt', partitions: [0, 2], username: 'al@ice', password: 'p:ss', sasl: 'scram-sha-512', tls: true, ca: '/etc/ca.pem'})
    expect(t.display).toBe('kafka://al%40ice:***@b1:9093,[::1]:9092,b3:9092/orders-dlt?partition=0,2')
  })

  it.each([
    ['kafka://h:1/', /no topic/],
    ['kafka:///t', /no broker/],
    ['kafka://h:0/t', /out of range/],
    ['kafka://h/t?x=1', /unknown parameter "x"/],
    ['kafka://h/bad topic', /not a valid Kafka topic/],
    ['kafka://h/t?sasl=gssapi', /not supported/],
    ['kafka://h/t?partition=1&partition=2', /more than once/],
    ['kafka://u:secret@h/t#frag', /no "#"/],
  ])('%s is a usage error', (uri, why) => {
    expect(() => parseKafkaUri(uri, {needTopic: true})).toThrow(why)
    try {
      parseKafkaUri(uri, {needTopic: true})
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError)
      expect((error as Error).message).not.toContain('secret')
    }
  })

  it('sinks need no topic', () => {
    expect(parseKafkaUri('kafka://h:9092', {needTopic: false}).topic).toBeNull()
  })

  it('settings: URI first, then DLQ_KAFKA_* variables; certificates turn TLS on', () => {
    const env = {DLQ_CONFIG: '/nonexistent/dlq.json', DLQ_KAFKA_USERNAME: 'env-user', DLQ_KAFKA_PASSWORD: 'env-pw', DLQ_KAFKA_SASL_MECHANISM: 'plain'}
    const saved = process.env.DLQ_CONFIG
    process.env.DLQ_CONFIG = env.DLQ_CONFIG
    try {
      const s = resolveSettings(parseKafkaUri('kafka://uri-user@h/t', {needTopic: true}), env)
      expect(s.sasl).toEqual({mechanism: 'plain', username: 'uri-user', password: 'env-pw', passwordFrom: 'DLQ_KAFKA_PASSWORD'})
      expect(s.tls).toBeNull()
      const tls = resolveSettings(parseKafkaUri('kafka://h/t?insecure=1', {needTopic: true}), {})
      expect(tls.tls).toEqual({rejectUnauthorized: false})
      expect(() => resolveSettings(parseKafkaUri('kafka://h/t?ca=/nonexistent.pem', {needTopic: true}), {})).toThrow(/cannot read \/nonexistent.pem/)
      expect(() => resolveSettings(parseKafkaUri('kafka://h/t?sasl=plain', {needTopic: true}), {})).toThrow(/needs a user name/)
    } finally {
      if (saved === undefined) delete process.env.DLQ_CONFIG
      else process.env.DLQ_CONFIG = saved
    }
  })
})

describe('positions', () => {
  it('P:O, plain offsets for one partition, cursors sorted', () => {
    expect([...parseCursor('1:5', [0, 1, 2], 't')]).toEqual([[1, 5]])
    expect([...parseCursor('9', [2], 't')]).toEqual([[2, 9]])
    expect([...parseCursor('2:1, 0:7', [0, 1, 2], 't')]).toEqual([
      [0, 7],
      [2, 1],
    ])
    expect(() => parseCursor('9', [0, 1], 't')).toThrow(/PARTITION:OFFSET/)
    expect(() => parseCursor('-1:0', [0], 't')).toThrow(UsageError)
    expect(() => parseCursor('', [0], 't')).toThrow(UsageError)
  })
})

/** A v2 record batch, built by hand from the protocol spec (uncompressed or gzip). */
function batch(baseOffset: number, records: Array<{delta: number; key: string | null; value: string; headers?: Array<[string, string | null]>}>, opts: {gzip?: boolean; control?: boolean; producerId?: bigint} = {}) {
  const varint = (n: number) => {
    let z = n >= 0 ? n * 2 : -n * 2 - 1
    const out: number[] = []
    while (z >= 0x80) {
      out.push((z & 0x7f) | 0x80)
      z = Math.floor(z / 128)
    }
    out.push(z)
    return Buffer.from(out)
  }
  const bytes = (s: string | null) => (s === null ? varint(-1) : Buffer.concat([varint(Buffer.byteLength(s)), Buffer.from(s)]))
  const recs = Buffer.concat(
    records.map((r) => {
      const hs = r.headers ?? []
      const body = Buffer.concat([Buffer.from([0]), varint(r.delta * 10), varint(r.delta), bytes(r.key), bytes(r.value), varint(hs.length), ...hs.flatMap(([k, v]) => [bytes(k), bytes(v)])])
      return Buffer.concat([varint(body.length), body])
    }),
  )
  const payload = opts.gzip ? gzipSync(recs) : recs
  const head = Buffer.alloc(61)
  head.writeBigInt64BE(BigInt(baseOffset), 0)
  head.writeInt32BE(49 + payload.length, 8)
  head.writeInt8(2, 16)
  head.writeInt16BE((opts.gzip ? 1 : 0) | (opts.control ? 0x20 : 0) | (opts.producerId !== undefined ? 0x10 : 0), 21)
  head.writeInt32BE(Math.max(0, ...records.map((r) => r.delta)), 23)
  head.writeBigInt64BE(1_700_000_000_000n, 27)
  head.writeBigInt64BE(1_700_000_000_000n, 35)
  head.writeBigInt64BE(opts.producerId ?? -1n, 43)
  head.writeInt32BE(records.length, 57)
  return Buffer.concat([head, payload])
}

describe('record batches', () => {
  it('decodes keys, values, repeated and null headers, timestamps; skips records before the fetch offset', () => {
    const b = batch(100, [
      {delta: 0, key: 'a', value: 'v0'},
      {delta: 1, key: null, value: 'v1', headers: [['h', 'x'], ['h', null], ['h', 'y']]},
    ])
    const all = decodeRecordSet(b, 100, [])
    expect(all.next).toBe(102)
    expect(all.messages[1]).toEqual({offset: 101, timestamp: 1_700_000_000_010, key: null, value: Buffer.from('v1'), headers: [{key: 'h', value: Buffer.from('x')}, {key: 'h', value: null}, {key: 'h', value: Buffer.from('y')}]})
    expect(decodeRecordSet(b, 101, []).messages.map((m) => m.offset)).toEqual([101])
  })

  it('gzip batches, a partial last batch is left for the next fetch', () => {
    const two = Buffer.concat([batch(0, [{delta: 0, key: 'k', value: 'zipped'}], {gzip: true}), batch(1, [{delta: 0, key: 'k', value: 'cut'}]).subarray(0, 70)])
    const set = decodeRecordSet(two, 0, [])
    expect(set.messages.map((m) => m.value!.toString())).toEqual(['zipped'])
    expect(set.next).toBe(1)
  })

  it('aborted transactional batches are dropped until their abort marker, even across batches', () => {
    const abortMarker = batch(3, [{delta: 0, key: null, value: ''}], {control: true, producerId: 7n})
    // Control record key: version 0, type 0 (ABORT).
    const keyAt = abortMarker.indexOf(Buffer.from([0, 0]), 61)
    expect(keyAt).toBeGreaterThan(0)
    const set = decodeRecordSet(
      Buffer.concat([batch(1, [{delta: 0, key: 'x', value: 'aborted'}, {delta: 1, key: 'y', value: 'aborted'}], {producerId: 7n}), batch(4, [{delta: 0, key: 'z', value: 'kept'}], {producerId: 7n})]),
      0,
      [{producerId: 7n, firstOffset: 1}],
    )
    // Without the marker in this response the producer's later batch still counts as aborted.
    expect(set.messages).toEqual([])
    expect(set.next).toBe(5)
  })

  it('a record set is decoded as far as it is taken: a page of two does not read the records after them', () => {
    const set = Buffer.concat([
      batch(10, [{delta: 0, key: 'a', value: 'v0'}, {delta: 1, key: 'b', value: 'v1'}, {delta: 2, key: 'c', value: 'v2'}]),
      batch(13, [{delta: 0, key: 'd', value: 'v3'}], {gzip: true}),
    ])
    const lazy = new RecordSetDecoder(set, 11, [])
    expect(lazy.take(1).map((m) => m.offset)).toEqual([11])
    expect(lazy.next).toBe(13)
    expect(lazy.take(2).map((m) => m.offset)).toEqual([12, 13])
    expect(lazy.take(5)).toEqual([])
    expect(lazy.next).toBe(14)
    // Taken in steps or all at once: the same messages.
    expect(decodeRecordSet(set, 11, []).messages).toEqual(new RecordSetDecoder(set, 11, []).take(2).concat(new RecordSetDecoder(set, 13, []).take(9)))
    // A batch that claims a record more than it holds: an error only when that record is reached.
    const short = batch(0, [{delta: 0, key: 'k', value: 'v'}, {delta: 1, key: 'k', value: 'w'}])
    short.writeInt32BE(3, 57)
    const cut = new RecordSetDecoder(short, 0, [])
    expect(cut.take(2).map((m) => m.value!.toString())).toEqual(['v', 'w'])
    expect(() => cut.take(1)).toThrow(CorruptBatchError)
    expect(() => decodeRecordSet(short, 0, [])).toThrow(CorruptBatchError)
  })

  it('corrupt input is an error, not a crash or a guess', () => {
    const b = batch(0, [{delta: 0, key: 'k', value: 'v'}])
    b.writeInt8(1, 16)
    expect(() => decodeRecordSet(b, 0, [])).toThrow(/message format v1/)
    expect(() => snappyDecompress(Buffer.from([10, 0]))).toThrow(CorruptBatchError)
    expect(() => lz4FrameDecompress(Buffer.from('not lz4 at all'))).toThrow(CorruptBatchError)
  })
})

describe('codecs', () => {
  it('snappy: raw blocks with literals and overlapping copies, and xerial framing', () => {
    // "abcabcabcabc": literal "abc" then copy offset 3 length 9 (tag type 2).
    const raw = Buffer.from([12, 2 << 2, 0x61, 0x62, 0x63, ((9 - 1) << 2) | 2, 3, 0])
    expect(snappyDecompress(raw).toString()).toBe('abcabcabcabc')
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])
    const len = Buffer.alloc(4)
    len.writeUInt32BE(raw.length)
    expect(snappyDecompress(Buffer.concat([header, len, raw, len, raw])).toString()).toBe('abcabcabcabc'.repeat(2))
  })

  it('lz4 frames: compressed and stored blocks', () => {
    // Token 0x3f: 3 literals, then a match at offset 3 of 15 + 0 (extra byte) + 4 = 19 bytes; then a last 1-literal sequence.
    const block = Buffer.from([0x3f, 0x61, 0x62, 0x63, 3, 0, 0, 0x10, 0x21])
    const size = Buffer.alloc(4)
    size.writeUInt32LE(block.length)
    const stored = Buffer.alloc(4)
    stored.writeUInt32LE(0x80000002)
    const frame = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]), size, block, stored, Buffer.from('xy'), Buffer.alloc(4)])
    expect(lz4FrameDecompress(frame).toString()).toBe('abc'.repeat(8).slice(0, 3 + 19) + '!xy')
  })
})
