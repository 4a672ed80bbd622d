import avro from 'avsc'

/**
 * Avro payloads as JSON people can read: bytes and fixed as base64, logical types as their
 * meaning (decimal as a decimal string, uuid as text, date as YYYY-MM-DD, timestamps as ISO-8601),
 * unions unwrapped, longs exact (a bigint beyond 2^53, which the JSON output writes exactly).
 * A schema is compiled once into a decoder and a converter made of closures, so the per-record
 * cost is avsc's own decoding plus one walk of the value.
 */
/** Decodes the Avro binary in `buf` from `start` (5: after the wire prefix) to its end. */
export type Decode = (buf: Buffer, start?: number) => unknown

/** avsc's read cursor (its Tap): a buffer and a position, with zig-zag varint reads. */
interface Tap {
  buf: Buffer
  pos: number
  readLong(): number
  _invalidate(): void
}

/** Below 2^52 in magnitude, avsc's float arithmetic for a long varint is exact (the zig-zag value is below 2^53). */
const FAST_LIMIT = 2 ** 52

/** A zig-zag varint long read exactly, with bigints: a number when it is safe, else a bigint. */
function readExactLong(tap: Tap): number | bigint {
  const {buf} = tap
  let z = 0n
  let shift = 0n
  let b: number
  do {
    b = buf[tap.pos++]
    if (b === undefined) {
      tap._invalidate()
      return 0
    }
    z |= BigInt(b & 0x7f) << shift
    shift += 7n
  } while (b & 0x80)
  const n = (z >> 1n) ^ -(z & 1n)
  return n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)

/**
 * avsc's own long throws beyond 2^53 ("potential precision loss"); its custom-long hook
 * (`LongType.__with`) unpacks every long into a fresh 8-byte buffer. This one reads the varint as
 * avsc does (a number) and re-reads it as a bigint only when it is that large, so ordinary longs
 * (counts, timestamps) cost what avsc's own long costs. Writing is never needed here.
 */
class ExactLongType extends (avro.types.LongType as unknown as new () => object) {
  _read(tap: Tap): number | bigint {
    const start = tap.pos
    const n = tap.readLong()
    if (n < FAST_LIMIT && n > -FAST_LIMIT) return n
    tap.pos = start
    return readExactLong(tap)
  }
}

const exactLong = new ExactLongType() as unknown as avro.Type
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

const TWO_32 = 2 ** 32

/**
 * The two's-complement big-endian integer in buf[start, end) as a decimal string with `scale`
 * digits after the point. Up to 10 bytes it is read as two numbers, which is exact while the
 * value is a safe integer (a bigint only beyond that).
 */
function decimalText(buf: Buffer, start: number, end: number, scale: number): string {
  // Sign-extension bytes (Java's BigInteger writes none, fixed-size decimals many) change nothing.
  while (end - start > 1 && ((buf[start] === 0 && buf[start + 1] < 0x80) || (buf[start] === 0xff && buf[start + 1] >= 0x80))) start++
  const len = end - start
  if (len === 0) return '0'
  let n: number | bigint = Number.NaN
  if (len <= 6) n = buf.readIntBE(start, len)
  else if (len <= 10) n = buf.readIntBE(start, len - 4) * TWO_32 + buf.readUInt32BE(end - 4)
  if (!Number.isSafeInteger(n)) {
    n = 0n
    for (let i = start; i < end; i++) n = (n << 8n) | BigInt(buf[i])
    if (buf[start] & 0x80) n -= 1n << BigInt(len * 8)
  }
  if (!(scale > 0)) return n.toString()
  const neg = n < 0
  const digits = (neg ? -n : n).toString().padStart(scale + 1, '0')
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}

/**
 * decimal reads its bytes where they lie in the payload: avsc's bytes and fixed types copy them
 * into a new buffer first, only for the decimal to be read out of it.
 */
class DecimalType extends avro.types.LogicalType {
  private readonly scale: number
  /** fixed: its size; bytes: -1 (the length comes first). */
  private readonly size: number
  constructor(schema: any, opts?: any) {
    super(schema, opts)
    this.scale = Number(schema.scale ?? 0)
    const under = this.underlyingType as any
    this.size = under.typeName === 'fixed' ? under.size : -1
  }
  _read(tap: Tap): string | undefined {
    let len = this.size
    if (len < 0) {
      len = tap.readLong()
      if (len < 0) {
        tap._invalidate()
        return undefined
      }
    }
    const start = tap.pos
    tap.pos += len
    // Cut short: avsc's decode reports the invalid tap.
    if (tap.pos > tap.buf.length) return undefined
    return decimalText(tap.buf, start, tap.pos, this.scale)
  }
  override _fromValue(v: Buffer): string {
    return decimalText(v, 0, v.length, this.scale)
  }
  override _toValue(v: any): any {
    return v
  }
  override _resolve(type: any): any {
    return type instanceof DecimalType ? (v: any) => v : undefined
  }
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
  decimal: DecimalType,
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

/**
 * Compiles an Avro schema (the registry's JSON text, references already parsed into `named`).
 * The decoder reads from `start` without copying the body out of the payload.
 *
 * `only`: the top-level fields of a record schema that are wanted (what `stats` and `check`
 * filters read); the others are skipped, not decoded — strings are not made, maps not built —,
 * through avsc's schema resolution with a reader schema of just those fields. Skipping still
 * walks every byte, so a payload that does not fit its schema is refused as before.
 */
export function avroDecoder(schema: string, references: string[] = [], only?: ReadonlySet<string>): Decode {
  const compileType = (json: unknown) => {
    const registry: Record<string, avro.Type> = {long: exactLong}
    const opts = {wrapUnions: 'auto' as const, logicalTypes: LOGICAL_TYPES, registry, omitRecordMethods: true}
    // A reference is a named type the schema uses by name: parse it first into the same registry.
    for (const ref of references) avro.Type.forSchema(JSON.parse(ref), opts)
    return avro.Type.forSchema(json as avro.Schema, opts)
  }
  const parsed = JSON.parse(schema)
  const type = compileType(parsed)
  const projected = only ? projection(parsed, only, compileType) : null
  const reader = projected ?? type
  const resolver = projected ? projected.createResolver(type) : undefined
  const toJson = converter(reader)
  return (buf, start = 0) => {
    const {value, offset} = reader.decode(buf, start, resolver)
    if (offset < 0) throw new Error('truncated buffer')
    if (offset < buf.length) throw new Error('trailing data')
    return toJson(value)
  }
}

/** A reader type for `parsed` (a record) with only the fields in `only`; null when that is not simpler. */
function projection(parsed: any, only: ReadonlySet<string>, compileType: (json: unknown) => avro.Type): avro.Type | null {
  if (parsed === null || typeof parsed !== 'object' || parsed.type !== 'record' || !Array.isArray(parsed.fields)) return null
  const fields = parsed.fields.filter((f: {name: string}) => only.has(f.name))
  if (fields.length === parsed.fields.length) return null
  try {
    return compileType({...parsed, fields})
  } catch {
    // A kept field names a type that only a dropped field defined: decode the whole record.
    return null
  }
}
