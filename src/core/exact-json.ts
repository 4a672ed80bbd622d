import {isSafeNumber, parse as parseLossless} from 'lossless-json'

type Obj = Record<string, unknown>

/**
 * hyperi-rustlib writes `source.offset` as an i64, and dlq's own export writes big offsets exactly. JSON.parse rounds beyond 2^53 (…993 → …992), so when
 * a parsed source number is not exact, the entry's text is parsed again keeping big integers exact.
 * Only such rare entries pay for the second parse.
 */
export function exactSource(o: Obj, text?: Buffer | string): Obj {
  const s = o.source as Obj | null | undefined
  if (!s || typeof s !== 'object' || text === undefined) return o
  const unsafe = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)
  if (!unsafe(s.offset) && !unsafe(s.partition)) return o
  try {
    const exact = parseLossless(typeof text === 'string' ? text : text.toString('utf8'), null, (n: string) =>
      isSafeNumber(n) ? Number(n) : /^-?\d+$/.test(n) ? BigInt(n) : Number(n),
    ) as Obj
    return exact && typeof exact === 'object' && exact.source && typeof exact.source === 'object' ? {...o, source: exact.source} : o
  } catch {
    return o
  }
}

/**
 * JSON.stringify that writes bigints as exact JSON integers (an Avro long or an offset beyond
 * 2^53), where JSON.stringify would throw. They pass through as marker strings with a
 * per-process nonce (untrusted text cannot forge it) whose quotes are removed afterwards.
 */
const BIG = `\u0000dlq-exact-${Math.random().toString(36).slice(2)}:`
const BIG_RE = new RegExp(`"${JSON.stringify(BIG).slice(1, -1).replace(/\\/g, '\\\\')}(-?\\d+)"`, 'g')

export function exactStringify(value: unknown): string {
  try {
    // The common case, at full speed: a replacer would slow every line of a large export.
    return JSON.stringify(value)
  } catch (error) {
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error
  }
  let big = false
  const text = JSON.stringify(value, (_k, v) => {
    if (typeof v !== 'bigint') return v
    big = true
    return BIG + v.toString()
  })
  return big ? text.replace(BIG_RE, '$1') : text
}
