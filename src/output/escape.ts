/**
 * Untrusted text (payloads, keys, headers, anything read from a DLQ) must never reach a
 * terminal raw. These helpers make it inert: C0 controls (ESC included), DEL, C1 controls,
 * line/paragraph separators, bidi controls and the BOM become visible escapes.
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g

const NAMED: Record<string, string> = {'\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e', '\0': '\\0'}

function escapeChar(c: string): string {
  const named = NAMED[c]
  if (named) return named
  const code = c.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`
}

/** One-line, terminal-safe text: every unsafe character becomes a visible escape. */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, escapeChar)
}

/** JSON output stays valid JSON but carries no raw C1 controls, bidi overrides or separators. */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g

/**
 * Integers beyond 2^53 (bigint) are written as exact JSON numbers: JSON.stringify cannot, so they
 * pass through as a marker string with a per-process nonce (untrusted text cannot forge it) and
 * the marker's quotes are removed afterwards.
 */
const BIG = `\u0000dlq-bigint-${Math.random().toString(36).slice(2)}:`
const BIG_RE = new RegExp(`"${JSON.stringify(BIG).slice(1, -1).replace(/\\/g, '\\\\')}(-?\\d+)"`, 'g')
const bigintReplacer = (_key: string, v: unknown) => (typeof v === 'bigint' ? BIG + v.toString() : v)

export function safeJson(value: unknown, indent?: number): string {
  let text: string
  try {
    // Without a replacer first: JSON.stringify keeps its fast path and throws on a bigint, the
    // only case the replacer is for (a replay writes one of these per message).
    text = JSON.stringify(value, null, indent)
  } catch {
    text = JSON.stringify(value, bigintReplacer, indent)
    if (text !== undefined && text.includes('dlq-bigint-')) text = text.replace(BIG_RE, '$1')
  }
  if (text === undefined) return text
  return text.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * Characters JSON.stringify escapes in a string (quote, backslash, C0 controls, surrogates, which
 * it keeps only when paired) and those safeJson escapes after it: a string with none of them is
 * its own JSON text between quotes.
 */
// eslint-disable-next-line no-control-regex
const JSON_STRING_SPECIAL = /["\\\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]/

/**
 * `safeJson(s)` for a string, without JSON.stringify's call for the common string that needs no
 * escape (a replay writes several per message).
 */
export function jsonString(s: string): string {
  return JSON_STRING_SPECIAL.test(s) ? safeJson(s) : `"${s}"`
}

/** Cuts to at most `width` characters (code points), marking the cut with an ellipsis. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return ''
  if (s.length <= width) return s
  const chars = Array.from(s)
  if (chars.length <= width) return s
  return chars.slice(0, Math.max(0, width - 1)).join('') + '…'
}

/** Hex dump preview for binary data: `hex:0a1bff…`. */
export function hexPreview(buf: Buffer, maxBytes: number): string {
  const shown = buf.subarray(0, maxBytes).toString('hex')
  return `hex:${shown}${buf.length > maxBytes ? '…' : ''}`
}
