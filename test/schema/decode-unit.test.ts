import avro from 'avsc'
import {describe, expect, it} from 'vitest'
import {blankRecord} from '../../src/core/record.js'
import {avroDecoder} from '../../src/core/schema/avro.js'
import {SchemaDecoder} from '../../src/core/schema/decoder.js'
import {messageIndexes} from '../../src/core/schema/protobuf.js'
import {payloadFieldsRead} from '../../src/core/schema/reader.js'
import {wireSchemaId, type SchemaLookup, type SchemaSource} from '../../src/core/schema/types.js'
import {buildFilter} from '../../src/core/filter.js'
import {detailDoc, payloadPreview} from '../../src/tui/format.js'

/** Pure parts of issue 16 that need no registry: the wire format, Avro logical types, the TUI pane. */
const zz = (n: number) => (n << 1) ^ (n >> 31)

describe('Confluent wire format', () => {
  it('reads the schema id only from magic 0 and at least 5 bytes', () => {
    expect(wireSchemaId(Buffer.from([0, 0, 0, 1, 2, 9]))).toBe(258)
    expect(wireSchemaId(Buffer.from([0, 0, 0, 1]))).toBeNull()
    expect(wireSchemaId(Buffer.from([1, 0, 0, 0, 1]))).toBeNull()
    expect(wireSchemaId(null)).toBeNull()
  })
  it('reads Protobuf message indexes as zig-zag varints, a single 0 meaning [0]', () => {
    expect(messageIndexes(Buffer.from([0, 0x0a]))).toEqual({indexes: [0], start: 1})
    expect(messageIndexes(Buffer.from([zz(2), zz(1), zz(3), 0x0a]))).toEqual({indexes: [1, 3], start: 3})
    expect(messageIndexes(Buffer.from([zz(1), 0xac, 0x02]))).toEqual({indexes: [150], start: 3})
    expect(() => messageIndexes(Buffer.from([zz(3), zz(1)]))).toThrow(/past the end/)
  })
})

describe('Avro to JSON', () => {
  const schema = {
    type: 'record',
    name: 'T',
    fields: [
      {name: 'neg', type: {type: 'bytes', logicalType: 'decimal', precision: 9, scale: 3}},
      {name: 'fx', type: {type: 'fixed', name: 'F', size: 2, logicalType: 'decimal', precision: 4, scale: 1}},
      {name: 'us', type: {type: 'long', logicalType: 'timestamp-micros'}},
      {name: 'local', type: {type: 'long', logicalType: 'local-timestamp-millis'}},
      {name: 'big', type: 'long'},
      {name: 'u', type: ['null', 'int', {type: 'map', values: 'bytes'}]},
    ],
  }
  // Written with avsc's plain types (no logical types), as another producer would write the bytes.
  const bigLong = avro.types.LongType.__with({
    fromBuffer: (b: Buffer) => b.readBigInt64LE(0),
    toBuffer: (n: number | bigint) => {
      const b = Buffer.alloc(8)
      b.writeBigInt64LE(BigInt(n))
      return b
    },
    fromJSON: BigInt,
    toJSON: Number,
    isValid: (n: unknown) => typeof n === 'bigint' || Number.isInteger(n),
    compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
  })
  const writer = avro.Type.forSchema(schema as avro.Schema, {wrapUnions: true, registry: {long: bigLong as unknown as avro.Type}})
  it('shows decimals, micro timestamps, exact longs and unions as readable JSON', () => {
    const body = writer.toBuffer({
      neg: Buffer.from([0xff, 0x85]), // -123 → -0.123
      fx: Buffer.from([0x01, 0x00]), // 256 → 25.6
      us: 1_764_498_000_123_456,
      local: 1_764_498_000_123,
      big: 2n ** 60n,
      u: {map: {a: Buffer.from([1, 2])}},
    })
    expect(avroDecoder(JSON.stringify(schema))(body)).toEqual({
      neg: '-0.123',
      fx: '25.6',
      us: '2025-11-30T10:20:00.123456Z',
      local: '2025-11-30T10:20:00.123',
      big: 2n ** 60n,
      u: {a: 'AQI='},
    })
  })
  it('refuses bytes that do not fit (cut short, or left over)', () => {
    const d = avroDecoder(JSON.stringify({type: 'record', name: 'R', fields: [{name: 's', type: 'string'}]}))
    expect(() => d(Buffer.from([0x0a, 0x61]))).toThrow()
    expect(() => d(Buffer.from([0x02, 0x61, 0x00]))).toThrow()
  })
  it('reads longs exactly on both sides of the fast path (2^52) and of 2^53, to ±2^63', () => {
    const s = {type: 'record', name: 'L', fields: [{name: 'n', type: 'long'}]}
    const w = avro.Type.forSchema(s as avro.Schema, {registry: {long: bigLong as unknown as avro.Type}})
    const d = avroDecoder(JSON.stringify(s))
    const edges = [0n, -1n, 2n ** 52n - 1n, 2n ** 52n, -(2n ** 52n), 2n ** 53n - 1n, -(2n ** 53n - 1n), 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)]
    for (const n of edges) {
      const safe = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
      expect(d(w.toBuffer({n}))).toEqual({n: safe ? Number(n) : n})
    }
    // The body after the 5-byte wire prefix, read in place.
    expect(d(Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), w.toBuffer({n: 2n ** 60n + 3n})]), 5)).toEqual({n: 2n ** 60n + 3n})
    expect(() => d(Buffer.from([0xff, 0xff]))).toThrow(/truncated/)
  })
  it('reads decimals of any width in place: sign-extended, 7 to 10 bytes as two numbers, wider as a bigint', () => {
    const s = {
      type: 'record',
      name: 'D',
      fields: [
        {name: 'b', type: {type: 'bytes', logicalType: 'decimal', precision: 30, scale: 2}},
        {name: 'f', type: {type: 'fixed', name: 'F16', size: 16, logicalType: 'decimal', precision: 38, scale: 4}},
        {name: 'z', type: {type: 'bytes', logicalType: 'decimal', precision: 5, scale: 0}},
      ],
    }
    const w = avro.Type.forSchema(s as avro.Schema)
    const d = avroDecoder(JSON.stringify(s))
    const twos = (n: bigint, size: number) => {
      const out = Buffer.alloc(size)
      let v = BigInt.asUintN(size * 8, n)
      for (let i = size - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn)
      return out
    }
    const text = (n: bigint, scale: number) => {
      const neg = n < 0n
      const digits = (neg ? -n : n).toString().padStart(scale + 1, '0')
      return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
    }
    const values = [0n, 1n, -1n, 123456n, -123456n, 2n ** 47n, 2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 79n - 1n, -(2n ** 79n), 2n ** 100n + 7n, -(2n ** 127n)]
    for (const n of values) {
      for (const width of [7, 8, 10, 16]) {
        if (n >= 2n ** BigInt(width * 8 - 1) || n < -(2n ** BigInt(width * 8 - 1))) continue
        const body = w.toBuffer({b: twos(n, width), f: twos(n, 16), z: Buffer.alloc(0)})
        expect(d(body)).toEqual({b: text(n, 2), f: text(n, 4), z: '0'})
      }
    }
    // Cut short inside the decimal's bytes.
    const whole = w.toBuffer({b: twos(5n, 8), f: twos(5n, 16), z: Buffer.alloc(0)})
    expect(() => d(whole.subarray(0, 12))).toThrow(/truncated/)
  })
  it('decodes only the wanted top-level fields (stats, check), skipping the rest but still refusing bytes that do not fit', () => {
    const body = writer.toBuffer({neg: Buffer.from([0xff, 0x85]), fx: Buffer.from([0x01, 0x00]), us: 1_764_498_000_123_456, local: 0, big: 2n ** 60n, u: {map: {a: Buffer.from([1, 2])}}})
    const d = avroDecoder(JSON.stringify(schema), [], new Set(['fx', 'big', 'u']))
    expect(d(body)).toEqual({fx: '25.6', big: 2n ** 60n, u: {a: 'AQI='}})
    expect(avroDecoder(JSON.stringify(schema), [], new Set(['nothing']))(body)).toEqual({})
    expect(() => d(body.subarray(0, body.length - 1))).toThrow(/truncated/)
    expect(() => d(Buffer.concat([body, Buffer.from([0])]))).toThrow(/trailing/)
    // A kept field that names a type only a dropped field defines: the whole record is decoded.
    const named = {
      type: 'record',
      name: 'N',
      fields: [
        {name: 'a', type: {type: 'enum', name: 'E', symbols: ['X', 'Y']}},
        {name: 'b', type: 'E'},
      ],
    }
    const nb = avro.Type.forSchema(named as avro.Schema).toBuffer({a: 'X', b: 'Y'})
    expect(avroDecoder(JSON.stringify(named), [], new Set(['b']))(nb)).toEqual({a: 'X', b: 'Y'})
  })
})

describe('what a filter reads of the payload', () => {
  const fields = (filters: string[], grep?: string) => payloadFieldsRead(buildFilter({filters, grep}))
  it('names the top-level fields of payload paths, and nothing narrower when the whole payload is compared', () => {
    expect(fields(['payload.currency=EUR', 'payload.total.units>4', 'reason=timeout'])).toEqual(new Set(['currency', 'total']))
    expect(fields(['reason=timeout'])).toEqual(new Set())
    expect(fields(['payload~EUR'])).toBeUndefined()
    expect(fields(['payload.currency=EUR'], 'sku-9')).toBeUndefined()
  })
})

describe('decoded records', () => {
  const schema = JSON.stringify({type: 'record', name: 'R', fields: [{name: 'city', type: 'string'}, {name: 'ctl', type: 'string'}]})
  let lookups = 0
  const source: SchemaSource = {
    display: 'memory',
    async lookup(id): Promise<SchemaLookup> {
      lookups++
      return id === 7 ? {kind: 'found', schema: {id, format: 'avro', schema, references: []}} : {kind: 'missing', message: 'no'}
    },
    async ping() {
      return null
    },
  }
  const body = avro.Type.forSchema(JSON.parse(schema)).toBuffer({city: 'Zürich', ctl: 'a\u001b[2Jb\u202e'})
  const rec = () => ({...blankRecord('0'), payload: Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), body])})

  it('asks for each id once, and filters see the decoded value', async () => {
    const d = new SchemaDecoder(source)
    const a = rec()
    const b = rec()
    await d.decodeAll([a, b])
    expect(lookups).toBe(1)
    expect(a.decoded?.payload?.value).toEqual({city: 'Zürich', ctl: 'a\u001b[2Jb\u202e'})
    expect(buildFilter({filters: ['payload.city=Zürich']}).matches(a)).toBe(true)
    expect(buildFilter({grep: '"city":"Zürich"'}).matches(a)).toBe(true)
    expect(buildFilter({filters: ['payload.city=Bern']}).matches(a)).toBe(false)
  })

  it('never shows decoded text raw in the TUI, and shows the raw payload too', async () => {
    const d = new SchemaDecoder(source)
    const a = rec()
    await d.decode(a)
    const doc = detailDoc(a, {hex: false, full: null, loadingFull: false, previewLimit: 4096, wrap: false, width: 120})
    const text = Array.from({length: doc.rows}, (_, i) => doc.row(i)).join('\n')
    expect(text).toContain('payload decoded (avro, schema 7)')
    expect(text).toContain('"city": "Zürich"')
    expect(text).toMatch(/^payload \(.*, (text|hex)\)$/m)
    // ESC and the bidi override are escaped wherever they appear
    expect(text).not.toMatch(/[\u001b\u202e]/)
    expect(payloadPreview(a, 60)).not.toMatch(/[\u001b\u202e]/)
    const missing = {...blankRecord('1'), payload: Buffer.from([0, 0, 0, 0, 9, 1])}
    await d.decode(missing)
    expect(payloadPreview(missing, 60)).toBe('[no schema 9] \\0\\0\\0\\0\\t\\x01')
  })
})
