import avro from 'avsc'

/**
 * Avro payloads as JSON people can read: bytes and fixed as base64, logical types as their
 * meaning (decimal as a decimal string, uuid as text, date as YYYY-MM-DD, timestamps as ISO-8601),
 * unions unwrapped, longs exact (a bigint beyond 2^53, which the JSON output writes exactly).
 * A schema is compiled once into a decoder and a converter made of closures, so the per-record
 * cost is avsc's own decoding plus one walk of the value.
 */
export type Decode = (body: Buffer) => unknown

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)

/** avsc's own long type loses precision beyond 2^53: this one returns a bigint there. */
const exactLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => {
    const n = buf.readBigInt64LE(0)
    return n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n
  },
  toBuffer: (n: number | bigint) => {
    const buf = Buffer.alloc(8)
    buf.writeBigInt64LE(BigInt(n))
    return buf
  },
  fromJSON: (n: number | bigint) => n,
  toJSON: (n: number | bigint) => n,
  isValid: (n: unknown) => typeof n === 'bigint' || (typeof n === 'number' && Number.isInteger(n)),
  compare: (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0),
})

const big = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v))

/** Date's range: ±8.64e15 ms. */
const MAX_DATE_MS = 8.64e15

/**
 * The records of a DLQ come in bursts, so consecutive timestamps mostly share their second:
 * `YYYY-MM-DDTHH:MM:SS` is formatted once per second seen, not once per record (formatting a
 * Date is most of what decoding a small record costs).
 */
let lastSecond = Number.NaN
let lastPrefix = ''

function isoOrRaw(ms: number, extra = ''): string | number {
  if (!(ms >= -MAX_DATE_MS && ms <= MAX_DATE_MS) || !Number.isInteger(ms)) return ms
  const second = Math.floor(ms / 1000)
  if (second !== lastSecond) {
    lastSecond = second
    lastPrefix = new Date(second * 1000).toISOString().slice(0, 19)
  }
  const frac = ms - second * 1000
  return `${lastPrefix}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}${extra}Z`
}

let lastDay = Number.NaN
let lastDate = ''

/** A logical type whose value is shown as `show` makes it; writing is never needed here. */
function logical(show: (v: any, schema: any) => unknown) {
  return class extends avro.types.LogicalType {
    private readonly schemaAttrs: any
    constructor(schema: any, opts?: any) {
      super(schema, opts)
      this.schemaAttrs = schema
    }
    override _fromValue(v: any): unknown {
      return show(v, this.schemaAttrs)
    }
    override _toValue(v: any): any {
      return v
    }
    override _resolve(type: any): any {
      return Object.getPrototypeOf(this) === Object.getPrototypeOf(type) ? (v: any) => v : undefined
    }
  } as unknown as new (schema: avro.Schema, opts?: any) => avro.types.LogicalType
}

function decimal(buf: Buffer, schema: any): string {
  if (buf.length === 0) return '0'
  let n: number | bigint
  // Up to 6 bytes is exact as a double and much cheaper than a bigint.
  if (buf.length <= 6) n = buf.readIntBE(0, buf.length)
  else {
    n = 0n
    for (const b of buf) n = (n << 8n) | BigInt(b)
    if (buf[0] & 0x80) n -= 1n << BigInt(buf.length * 8)
  }
  const scale = Number(schema.scale ?? 0)
  if (!(scale > 0)) return n.toString()
  const neg = n < 0
  const digits = (neg ? -n : n).toString().padStart(scale + 1, '0')
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}

function micros(v: number | bigint, local: boolean): string | number | bigint {
  const us = big(v)
  let ms = us / 1000n
  let rest = us % 1000n
  if (rest < 0n) {
    ms -= 1n
    rest += 1000n
  }
  const iso = isoOrRaw(Number(ms), rest.toString().padStart(3, '0'))
  if (typeof iso !== 'string') return v
  return local ? iso.slice(0, -1) : iso
}

const LOGICAL_TYPES = {
  decimal: logical((v: Buffer, s) => decimal(v, s)),
  uuid: logical((v: string | Buffer) =>
    typeof v === 'string' ? v : v.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
  ),
  date: logical((days: number) => {
    if (days === lastDay) return lastDate
    const d = new Date(days * 86_400_000)
    if (Number.isNaN(d.getTime())) return days
    lastDay = days
    lastDate = d.toISOString().slice(0, 10)
    return lastDate
  }),
  'timestamp-millis': logical((ms: number | bigint) => (typeof ms === 'bigint' ? ms : isoOrRaw(ms))),
  'timestamp-micros': logical((us: number | bigint) => micros(us, false)),
  'local-timestamp-millis': logical((ms: number | bigint) => {
    const iso = typeof ms === 'bigint' ? ms : isoOrRaw(ms)
    return typeof iso === 'string' ? iso.slice(0, -1) : iso
  }),
  'local-timestamp-micros': logical((us: number | bigint) => micros(us, true)),
}

type Conv = (v: any) => unknown
const same: Conv = (v) => v

/** bytes and fixed anywhere in a value (where the branch of a union is not known), as base64. */
function anyToJson(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Buffer.isBuffer(v)) return v.toString('base64')
  if (Array.isArray(v)) return v.map(anyToJson)
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) out[k] = anyToJson((v as Record<string, unknown>)[k])
  return out
}

/**
 * What turns avsc's value into JSON: only bytes and fixed need it (logical types are already
 * rendered by their classes, unions are unwrapped by avsc where their branches can be told
 * apart), so a schema without them is shown as avsc reads it, with no walk at all.
 */
function converter(type: any): Conv {
  const name: string = type.typeName
  if (name.startsWith('logical:')) return same
  switch (name) {
    case 'bytes':
    case 'fixed':
      return (v: Buffer) => v.toString('base64')
    case 'array': {
      const item = converter(type.itemsType)
      return item === same ? same : (v: unknown[]) => v.map(item)
    }
    case 'map': {
      const value = converter(type.valuesType)
      if (value === same) return same
      return (v: Record<string, unknown>) => {
        const out: Record<string, unknown> = {}
        for (const k of Object.keys(v)) out[k] = value(v[k])
        return out
      }
    }
    case 'record':
    case 'error': {
      const fields = (type.fields as any[]).map((f) => [f.name as string, converter(f.type)] as const)
      if (fields.every(([, c]) => c === same)) return same
      return (v: Record<string, unknown>) => {
        const out: Record<string, unknown> = {}
        for (const [k, c] of fields) out[k] = c(v[k])
        return out
      }
    }
    case 'union:wrapped': {
      // Branches avsc cannot tell apart stay wrapped: {"branch name": value}.
      const branches = new Map<string, Conv>((type.types as any[]).map((t) => [t.branchName as string, converter(t)]))
      if ([...branches.values()].every((c) => c === same)) return same
      return (v: Record<string, unknown> | null) => {
        if (v === null) return null
        const k = Object.keys(v)[0]
        return {[k]: branches.get(k)!(v[k])}
      }
    }
    case 'union:unwrapped': {
      const branches = (type.types as any[]).map(converter)
      if (branches.every((c) => c === same)) return same
      const nonNull = (type.types as any[]).filter((t) => t.typeName !== 'null')
      if (nonNull.length === 1) {
        const c = converter(nonNull[0])
        return (v: unknown) => (v === null ? null : c(v))
      }
      return anyToJson
    }
    default:
      return same
  }
}

/** Compiles an Avro schema (the registry's JSON text, references already parsed into `named`). */
export function avroDecoder(schema: string, references: string[] = []): Decode {
  const registry: Record<string, avro.Type> = {long: exactLong as unknown as avro.Type}
  const opts = {wrapUnions: 'auto' as const, logicalTypes: LOGICAL_TYPES, registry, omitRecordMethods: true}
  // A reference is a named type the schema uses by name: parse it first into the same registry.
  for (const ref of references) avro.Type.forSchema(JSON.parse(ref), opts)
  const type = avro.Type.forSchema(JSON.parse(schema), opts)
  const toJson = converter(type)
  return (body) => toJson(type.fromBuffer(body))
}
