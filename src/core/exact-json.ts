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
