/** Byte-level helpers shared by the conventions and the backends. */
import {isUtf8} from 'node:buffer'

/** The bytes as text when they are valid UTF-8, otherwise null. */
export function utf8OrNull(buf: Buffer): string | null {
  // Pure ASCII is by far the common case and needs no validating decoder.
  if (isAscii(buf)) return buf.toString('latin1')
  // Validate first: a fatal TextDecoder throws on binary payloads (Avro, Protobuf), and the
  // throw cost more than the rest of exporting the record. toString keeps a BOM, as ignoreBOM did.
  return isUtf8(buf) ? buf.toString('utf8') : null
}

function isAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] > 0x7f) return false
  return true
}

export type TextOrBase64 = string | {base64: string}

/** product.md: text when valid UTF-8, `{"base64": "…"}` otherwise. */
export function textOrBase64(buf: Buffer): TextOrBase64 {
  const text = utf8OrNull(buf)
  return text === null ? {base64: buf.toString('base64')} : text
}

/** Inverse of textOrBase64, for reading dlq's own NDJSON back. Returns null for anything else. */
export function fromTextOrBase64(v: unknown): Buffer | null {
  if (typeof v === 'string') return Buffer.from(v, 'utf8')
  if (v && typeof v === 'object' && typeof (v as {base64?: unknown}).base64 === 'string') {
    return decodeBase64Strict((v as {base64: string}).base64)
  }
  return null
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
/** Each base64 character's 6 bits (-1: not one). */
const B64_VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i

/**
 * Standard base64 with padding; anything else is rejected with null: exactly the texts that
 * encoding the decoded bytes again gives back (which is how this was checked before, at the
 * cost of a second string as long as the payload's text per message). Node's decoder skips
 * what it does not understand (whitespace, other characters, a `=` inside), so such a text
 * decodes to fewer bytes than its length says; it also takes the URL-safe `-` and `_`, and
 * ignores the unused low bits of the last character before the padding, and reads a character
 * beyond ASCII as its low byte: those are checked apart.
 * (A regular expression would also work, but overflows the stack on a 20 MB payload.)
 */
export function decodeBase64Strict(s: string): Buffer | null {
  const n = s.length
  if (n % 4 !== 0) return null
  if (n === 0) return Buffer.alloc(0)
  const pad = s.charCodeAt(n - 1) !== 61 ? 0 : s.charCodeAt(n - 2) !== 61 ? 1 : 2
  // Node decodes a character beyond ASCII by its low byte (Ł, U+0141, as A): ASCII only.
  if (Buffer.byteLength(s, 'utf8') !== n) return null
  const buf = Buffer.from(s, 'base64')
  if (buf.length !== (n / 4) * 3 - pad || s.includes('-') || s.includes('_')) return null
  if (pad > 0) {
    const last = s.charCodeAt(n - 1 - pad)
    if (B64_VALUE[last] < 0 || (B64_VALUE[last] & (pad === 1 ? 0b11 : 0b1111)) !== 0) return null
  }
  return buf
}

const DECIMAL_RE = /^-?[0-9]+$/

/** A number while it is exact, else the bigint: 2^53 + 1 must not print as 2^53. */
export function exactInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
}

/** True when the bytes are ASCII decimal text (conventions.md rule 3 tries that first). */
export function isDecimalText(buf: Buffer): boolean {
  return buf.length > 0 && buf.length <= 40 && DECIMAL_RE.test(buf.toString('latin1'))
}

/**
 * conventions.md rule 3: ASCII decimal first; else 4 bytes i32be, 8 bytes i64be, any other
 * length (up to 8) big-endian two's complement. Exact at any size: beyond 2^53 it is a bigint.
 */
export function decodeNumber(buf: Buffer | null): number | bigint | null {
  if (buf === null || buf.length === 0) return null
  if (isDecimalText(buf)) return exactInt(BigInt(buf.toString('latin1')))
  if (buf.length === 4) return buf.readInt32BE(0)
  if (buf.length === 8) return exactInt(buf.readBigInt64BE(0))
  if (buf.length > 8) return null
  let v = 0n
  for (const b of buf) v = (v << 8n) | BigInt(b)
  const bits = BigInt(buf.length * 8)
  if (buf[0] & 0x80) v -= 1n << bits
  return exactInt(v)
}

/** A decimal or binary number header, as a metadata value: the number, or the raw bytes when not a number. */
export function numberOrRaw(buf: Buffer | null): number | bigint | TextOrBase64 | null {
  if (buf === null) return null
  const n = decodeNumber(buf)
  return n === null ? textOrBase64(buf) : n
}
