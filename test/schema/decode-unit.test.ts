import avro from 'avsc'
import {describe, expect, it} from 'vitest'
import {blankRecord} from '../../src/core/record.js'
import {avroDecoder} from '../../src/core/schema/avro.js'
import {SchemaDecoder} from '../../src/core/schema/decoder.js'
import {messageIndexes} from '../../src/core/schema/protobuf.js'
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
