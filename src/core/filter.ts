import {utf8OrNull} from './bytes.js'
import {UsageError} from './errors.js'
import type {DecodedRecord, MetadataValue} from './record.js'
import {parseTime} from './time.js'

/**
 * The filter language of product.md: `FIELD OP VALUE`, every expression must match.
 * A RecordFilter is built once per command and evaluated per record.
 */
export type Op = '=' | '!=' | '~' | '<' | '>' | '<=' | '>='

export interface FilterSpec {
  filters?: string[]
  grep?: string
  since?: string
  until?: string
  /** `check`: an unreadable record with no time (a corrupt file line) passes --since/--until, to be counted apart. */
  keepUntimedUnreadable?: boolean
}

export interface RecordFilter {
  /** The expressions as the user gave them, for display. */
  readonly text: string[]
  matches(rec: DecodedRecord): boolean
  /**
   * Byte strings that any stored form of a matching entry contains literally unless the
   * stored form escapes or encodes text. The file backend uses them to skip lines without
   * parsing them (see backends/file/prefilter.ts for the exact rule).
   */
  readonly needles: Buffer[]
  /** Time bounds on `timestamp` (epoch ms, inclusive) that stores can use to seek. */
  readonly since: number | null
  readonly until: number | null
  readonly isEmpty: boolean
  /** What it was built from, so another thread can build the same filter. */
  readonly spec: FilterSpec
  readonly now: number
}

/**
 * A field's value for a record. `undefined` is a header, metadata entry or JSON field that is
 * not there at all; `null` one that is there with a null value (`=null` vs `=missing`).
 */
type Scalar = string | number | bigint | null | undefined
type Value = Scalar | Scalar[]
type Getter = (rec: DecodedRecord, ctx: EvalCache) => Value
interface EvalCache {
  json?: unknown
  jsonParsed?: boolean
}

const NUMERIC_FIELDS = new Set(['source.partition', 'source.offset', 'retries'])
const TIME_FIELDS = new Set(['timestamp', 'deadLetteredAt', 'originalTimestamp'])
/** Fields whose text appears literally in a stored line when it is stored as text. */
const LITERAL_FIELDS = new Set(['reason', 'source.topic', 'source.group', 'key'])

const PLAIN: Record<string, Getter> = {
  position: (r) => r.position,
  reason: (r) => r.reason,
  'source.topic': (r) => r.source.topic,
  'source.partition': (r) => r.source.partition,
  'source.offset': (r) => r.source.offset,
  'source.group': (r) => r.source.group,
  retries: (r) => r.retries,
  key: (r) => (r.key === null ? null : (utf8OrNull(r.key) ?? r.key.toString('latin1'))),
  convention: (r) => r.convention,
  'error.class': (r) => r.error?.class ?? null,
  'error.message': (r) => r.error?.message ?? null,
  'error.stage': (r) => r.error?.stage ?? null,
  'error.cause.class': (r) => r.error?.cause?.class ?? null,
  'error.cause.message': (r) => r.error?.cause?.message ?? null,
  timestamp: (r) => r.timestamp,
  deadLetteredAt: (r) => r.deadLetteredAt,
  originalTimestamp: (r) => r.originalTimestamp,
  // A decoded payload compares as the JSON text of its value (what inspect shows).
  payload: (r) => (r.decoded?.payload?.value !== undefined ? jsonText(r.decoded.payload.value) : r.payload === null ? null : r.payload.toString('utf8')),
}

export const FILTER_FIELDS = [...Object.keys(PLAIN), 'header.NAME', 'metadata.NAME', 'payload.JSON.PATH']

function metadataValue(v: MetadataValue | undefined): Value {
  if (v === undefined || v === null) return v
  if (Array.isArray(v)) return v.map((x) => metadataValue(x) as Scalar)
  if (typeof v === 'object') return v.base64
  if (typeof v === 'boolean') return String(v)
  return v
}

/** A payload decoded with its registry schema is its decoded value; else JSON text is parsed. */
function jsonPayload(r: DecodedRecord, ctx: EvalCache): unknown {
  if (!ctx.jsonParsed) {
    ctx.jsonParsed = true
    const decoded = r.decoded?.payload
    if (decoded && decoded.value !== undefined) {
      ctx.json = decoded.value
      return ctx.json
    }
    try {
      ctx.json = r.payload ? JSON.parse(r.payload.toString('utf8')) : undefined
    } catch {
      ctx.json = undefined
    }
  }
  return ctx.json
}

/**
 * An object or array compared as its JSON text. JSON.parse reads any depth, but
 * JSON.stringify recurses: a payload nested thousands deep would overflow the stack, so such
 * a value compares as unknown (null) instead of ending the read.
 */
const bigintAsText = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)

function jsonText(v: unknown): string | null {
  try {
    return JSON.stringify(v, bigintAsText)
  } catch (error) {
    if (error instanceof RangeError) return null
    throw error
  }
}

function getter(field: string, expr: string): Getter {
  if (field in PLAIN) return PLAIN[field]
  if (field.startsWith('header.') && field.length > 7) {
    const name = field.slice(7)
    return (r) => {
      const vals = r.userHeaders.filter((h) => h.key === name).map((h) => (h.value === null ? null : (utf8OrNull(h.value) ?? h.value.toString('base64'))))
      return vals.length === 0 ? undefined : vals.length === 1 ? vals[0] : vals
    }
  }
  if (field.startsWith('metadata.') && field.length > 9) {
    const name = field.slice(9)
    // Own properties only: "constructor" or "__proto__" name nothing a record holds.
    return (r) => (Object.hasOwn(r.metadata, name) ? metadataValue(r.metadata[name]) : undefined)
  }
  if (field.startsWith('payload.') && field.length > 8) {
    const path = field.slice(8).split('.')
    return (r, ctx) => {
      let cur = jsonPayload(r, ctx)
      for (const step of path) {
        if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, step)) return undefined
        cur = (cur as Record<string, unknown>)[step]
      }
      if (cur === undefined || cur === null) return cur
      if (typeof cur === 'number' || typeof cur === 'string' || typeof cur === 'bigint') return cur
      if (typeof cur === 'boolean') return String(cur)
      return jsonText(cur)
    }
  }
  throw new UsageError(`filter "${expr}": unknown field "${field}" (fields: ${FILTER_FIELDS.join(', ')})`)
}

const OPS: Op[] = ['!=', '<=', '>=', '=', '~', '<', '>']

interface Parsed {
  field: string
  op: Op
  value: string
  /** The value was quoted: `'null'` is the text null, not the null value. */
  quoted: boolean
}

export function parseExpression(expr: string): Parsed {
  const at = expr.search(/[=!~<>]/)
  if (at < 0) throw new UsageError(`filter "${expr}": no operator (use FIELD OP VALUE with OP one of ${OPS.join(' ')})`)
  const field = expr.slice(0, at).trim()
  const op = OPS.find((o) => expr.startsWith(o, at))
  if (!op) throw new UsageError(`filter "${expr}": "${expr[at]}" is not an operator (use one of ${OPS.join(' ')})`)
  if (field === '') throw new UsageError(`filter "${expr}": no field before "${op}"`)
  // `==`, `=~` and `!==` (habits from other languages) would silently compare with a value
  // starting with = or ~, which matches nothing: a CI gate would pass. A value that does start
  // so is written quoted.
  const next = expr[at + op.length]
  if ((op === '=' || op === '!=') && (next === '=' || next === '~')) {
    const meant = next === '~' && op === '=' ? '~' : op
    throw new UsageError(`filter "${expr}": "${op}${next}" is not an operator: use "${meant}"${meant === '~' ? ' (regex match)' : ''}; a value that starts with "${next}" is written quoted, e.g. ${field}${op}'${next}…'`)
  }
  let value = expr.slice(at + op.length).trim()
  const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]
  if (quoted) value = value.slice(1, -1)
  return {field, op, value, quoted}
}

type Test = (v: Scalar) => boolean

const INTEGER = /^-?\d+$/

/** Compares integers exactly (offsets beyond 2^53 are bigints), other numbers as doubles. */
function numericCompare(v: string | number | bigint, want: number | bigint): number {
  if (typeof want === 'bigint' || typeof v === 'bigint') {
    const b = typeof v === 'bigint' ? v : typeof v === 'number' ? (Number.isInteger(v) ? BigInt(v) : null) : INTEGER.test(v) ? BigInt(v) : null
    if (b === null) return NaN
    const w = typeof want === 'bigint' ? want : BigInt(want)
    return b < w ? -1 : b > w ? 1 : 0
  }
  const n = typeof v === 'number' ? v : Number(v)
  return Number.isNaN(n) ? NaN : n - want
}

function compileTest(p: Parsed, expr: string, now: number): Test {
  const {field, op, value} = p
  const present = (v: Scalar): v is string | number | bigint => v !== null && v !== undefined
  if (op === '~') {
    let re: RegExp
    try {
      re = new RegExp(value)
    } catch (error) {
      throw new UsageError(`filter "${expr}": bad regular expression: ${(error as Error).message}`)
    }
    return (v) => present(v) && re.test(String(v))
  }
  if (!p.quoted && (value === 'null' || value === 'missing') && (op === '=' || op === '!=')) {
    // `missing`: the header / metadata entry / JSON field is not there; `null`: it is there, with no
    // value (or, for plain fields, the value is unknown).
    const is: Test = value === 'missing' ? (v) => v === undefined : (v) => v === null
    return op === '=' ? is : (v) => !is(v)
  }

  let want: string | number | bigint = value
  if (TIME_FIELDS.has(field)) want = parseTime(value, `filter "${expr}"`, now)
  else if (NUMERIC_FIELDS.has(field)) {
    if (!INTEGER.test(value)) throw new UsageError(`filter "${expr}": ${field} is a number, "${value}" is not`)
    const big = BigInt(value)
    want = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : big
  } else if (op !== '=' && op !== '!=' && /^-?\d+(\.\d+)?$/.test(value)) want = Number(value)

  const num = typeof want !== 'string'
  const cmp = (v: string | number | bigint): number => {
    if (num) return numericCompare(v, want as number | bigint)
    const s = String(v)
    return s < (want as string) ? -1 : s > (want as string) ? 1 : 0
  }
  switch (op) {
    case '=':
      return (v) => present(v) && (num ? cmp(v) === 0 : String(v) === want)
    case '!=':
      return (v) => !present(v) || (num ? cmp(v) !== 0 : String(v) !== want)
    case '<':
      return (v) => present(v) && cmp(v) < 0
    case '>':
      return (v) => present(v) && cmp(v) > 0
    case '<=':
      return (v) => present(v) && cmp(v) <= 0
    case '>=':
      return (v) => present(v) && cmp(v) >= 0
  }
}

/** A needle is only safe when JSON would store the value unescaped. */
const NEEDLE_SAFE = /^[\x20-\x7e]+$/

export function buildFilter(spec: FilterSpec, now = Date.now()): RecordFilter {
  const text: string[] = []
  const tests: Array<(r: DecodedRecord, ctx: EvalCache) => boolean> = []
  const needles: Buffer[] = []

  for (const expr of spec.filters ?? []) {
    const p = parseExpression(expr)
    const get = getter(p.field, expr)
    const test = compileTest(p, expr, now)
    text.push(expr)
    tests.push((r, ctx) => {
      const v = get(r, ctx)
      if (Array.isArray(v)) return p.op === '!=' ? v.every(test) : v.some(test)
      return test(v)
    })
    const literal = LITERAL_FIELDS.has(p.field) || p.field.startsWith('header.') || p.field.startsWith('metadata.')
    if (p.op === '=' && literal && ((p.value !== 'null' && p.value !== 'missing') || p.quoted) && NEEDLE_SAFE.test(p.value) && !/["\\/]/.test(p.value)) {
      needles.push(Buffer.from(p.value, 'latin1'))
    }
  }

  if (spec.grep !== undefined) {
    if (spec.grep === '') throw new UsageError('--grep: the text to look for is empty')
    const g = Buffer.from(spec.grep, 'utf8')
    text.push(`payload contains ${JSON.stringify(spec.grep)}`)
    tests.push((r) => {
      if (r.payload !== null && r.payload.indexOf(g) >= 0) return true
      // A payload decoded with its registry schema is also searched as the JSON text shown for it.
      const v = r.decoded?.payload?.value
      return v !== undefined && (jsonText(v)?.includes(spec.grep!) ?? false)
    })
  }

  const since = spec.since === undefined ? null : parseTime(spec.since, '--since', now)
  const until = spec.until === undefined ? null : parseTime(spec.until, '--until', now)
  if (since !== null && until !== null && since > until) throw new UsageError('--since is later than --until: nothing could match')
  const untimed = spec.keepUntimedUnreadable === true ? (r: DecodedRecord) => r.timestamp === null && r.unreadable !== null : () => false
  if (since !== null) {
    text.push(`timestamp >= ${new Date(since).toISOString()}`)
    tests.push((r) => (r.timestamp !== null && r.timestamp >= since) || untimed(r))
  }
  if (until !== null) {
    text.push(`timestamp <= ${new Date(until).toISOString()}`)
    tests.push((r) => (r.timestamp !== null && r.timestamp <= until) || untimed(r))
  }

  return {
    text,
    needles,
    since,
    until,
    isEmpty: tests.length === 0,
    spec,
    now,
    matches(rec) {
      const ctx: EvalCache = {}
      for (const t of tests) if (!t(rec, ctx)) return false
      return true
    },
  }
}

export const MATCH_ALL: RecordFilter = buildFilter({})
