import * as crypto from 'node:crypto'
import type {SourceInfo} from '../reader.js'
import type {DecodedRecord} from '../record.js'

/**
 * The replay ledger remembers messages, not numbers (product.md "Positions"):
 * - Kafka: the topic id with partition and offset (the reader sets it): a topic deleted and
 *   recreated under the same name has a new id, so its records are new messages.
 * - Redis: the entry id with a digest of the entry: a stream deleted and recreated may reuse
 *   ids (explicit ids, or a clock set back), never for the same content by chance.
 * - Files: a digest of the message alone. Record numbers shift when the writer deletes its
 *   oldest rotated files (hyperi-rustlib's max_age_days), so a number cannot name a message for
 *   the ledger; the content can. Two byte-identical entries are one message to the ledger: once
 *   one is replayed, the other is `already_replayed` (never the same message twice).
 */
export function ledgerKey(r: DecodedRecord, kind: SourceInfo['kind'] = 'file'): string {
  if (r.identity) return r.identity
  if (kind === 'redis' || kind === 'kafka') return `${kind}:${r.position}:${contentDigest(r)}`
  return `msg:${contentDigest(r)}`
}

/**
 * The digest's input, built in one reusable buffer and hashed with one `update`: the same
 * bytes as feeding each part separately (a hash of a concatenation is the hash of its parts
 * in order), without a dozen calls into the hash per message — which made the digest a third
 * of a file replay's CPU. Text parts are gathered in one string and written to the buffer at
 * once, just before a binary part (payload, header value) is copied in or the input ends.
 */
let scratch = Buffer.allocUnsafe(64 * 1024)
let used = 0
let text = ''

function room(n: number): void {
  if (used + n <= scratch.length) return
  const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, used + n))
  scratch.copy(bigger, 0, 0, used)
  scratch = bigger
}

function flush(): void {
  if (text.length === 0) return
  room(text.length * 3)
  used += scratch.write(text, used, 'utf8')
  text = ''
}

// Length-prefixed, so no two different records feed the same bytes.
function feedText(tag: string, s: string | null): void {
  text += s === null ? `${tag}-;` : `${tag}${Buffer.byteLength(s, 'utf8')}:${s}`
}

function feedBytes(tag: string, b: Buffer | null): void {
  if (b === null) {
    text += `${tag}-;`
    return
  }
  text += `${tag}${b.length}:`
  flush()
  room(b.length)
  used += b.copy(scratch, used)
}

const oneShot = (crypto as unknown as {hash?: (algorithm: string, data: Buffer, encoding: 'hex') => string}).hash

const exact = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)

/**
 * JSON of a value; the replacer (which turns off JSON.stringify's fast path) only when a
 * bigint is in it — JSON.stringify throws on a bigint, so trying without it first costs nothing.
 */
function json(v: unknown): string {
  try {
    return JSON.stringify(v)
  } catch {
    return JSON.stringify(v, exact)
  }
}

/** Characters JSON.stringify escapes in a string (quote, backslash, controls, lone surrogates). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/**
 * What `json(v)` writes for a value inside an object or array, with strings, numbers and null
 * written directly: a record's source and metadata are flat, and calling JSON.stringify for
 * each small object was a fifth of the digest.
 */
function jsonValue(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null'
    case 'boolean':
      return v ? 'true' : 'false'
    case 'bigint':
      return `"${v}"`
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined
    default:
      return v === null ? 'null' : json(v)
  }
}

/** `json(o)` of a record's source object. */
function objectJson(o: object): string {
  if (Array.isArray(o) || typeof (o as {toJSON?: unknown}).toJSON === 'function') return json(o)
  let out = '{'
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue
    const v = jsonValue((o as Record<string, unknown>)[k])
    if (v === undefined) continue
    out += `${out.length === 1 ? '' : ','}${NEEDS_ESCAPE.test(k) ? JSON.stringify(k) : `"${k}"`}:${v}`
  }
  return `${out}}`
}

/** `json(Object.entries(m).filter(…))` of the metadata without what changes while the message does not. */
function metadataJson(m: Record<string, unknown>): string {
  let out = '['
  for (const k in m) {
    // What the store says about its own handling (a Redis delivery count) changes while the message does not.
    if (!Object.hasOwn(m, k) || k.startsWith('redis.delivery-')) continue
    out += `${out.length === 1 ? '' : ','}[${NEEDS_ESCAPE.test(k) ? JSON.stringify(k) : `"${k}"`},${jsonValue(m[k]) ?? 'null'}]`
  }
  return `${out}]`
}

/** A digest of everything that makes the message itself, never its position. */
export function contentDigest(r: DecodedRecord): string {
  used = 0
  text = ''
  feedBytes('k', r.key)
  feedBytes('v', r.payload)
  for (const x of r.userHeaders) {
    feedText('hk', x.key)
    feedBytes('hv', x.value)
  }
  feedText('t', r.timestamp === null ? null : String(r.timestamp))
  feedText('c', r.convention)
  feedText('r', r.reason)
  feedText('s', r.source === null || typeof r.source !== 'object' ? json(r.source) : objectJson(r.source))
  feedText('m', metadataJson(r.metadata))
  flush()
  const input = scratch.subarray(0, used)
  // crypto.hash (Node ≥ 20.12) skips creating a Hash object per message.
  return (oneShot ? oneShot('sha256', input, 'hex') : crypto.createHash('sha256').update(input).digest('hex')).slice(0, 32)
}
