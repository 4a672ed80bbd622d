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
 * The digest's input, written straight into one reusable buffer and hashed with one call: the
 * same bytes as feeding each part separately (a hash of a concatenation is the hash of its
 * parts in order). Nothing is built as a string first: gathering the text parts and the
 * source's JSON in strings allocated ~2.4 KB per message — the largest share of a replay's
 * garbage — and writing them cost another copy. A text part's length prefix is written once
 * its UTF-8 bytes are known (see `closeText`).
 */
let scratch = Buffer.allocUnsafe(64 * 1024)
let used = 0

function room(n: number): void {
  if (used + n <= scratch.length) return
  const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, used + n))
  scratch.copy(bigger, 0, 0, used)
  scratch = bigger
}

/** Writes `s` as UTF-8 (a lone surrogate as U+FFFD, as Buffer.from does). */
function put(s: string): void {
  const n = s.length
  if (n <= 64) {
    // Short ASCII (tags, names, numbers): copied here, without the native call of a Buffer write.
    room(n)
    let i = 0
    for (; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) break
      scratch[used + i] = c
    }
    if (i === n) {
      used += n
      return
    }
  }
  room(n * 3)
  used += scratch.write(s, used, 'utf8')
}

/** Room before a text part for its length: up to 10 digits and the colon. */
const GAP = 11

/** Starts a length-prefixed text part; returns where its prefix goes. */
function openText(tag: string): number {
  put(tag)
  room(GAP)
  const at = used
  used += GAP
  return at
}

/** Writes the prefix (`<bytes>:`) of the part opened at `at`, and moves its bytes right after it. */
function closeText(at: number): void {
  const start = at + GAP
  const len = used - start
  let o = at
  const digits = String(len)
  for (let i = 0; i < digits.length; i++) scratch[o++] = digits.charCodeAt(i)
  scratch[o++] = 58
  if (o !== start) scratch.copyWithin(o, start, used)
  used = o + len
}

/**
 * Copies `s` to `o` when it is printable ASCII without `"` or `\\` (names, numbers, reasons:
 * nearly every text of a record), which is then its UTF-8 and its JSON string body alike;
 * returns where it ends, or -1. The caller has made room and commits (moves `used`) itself.
 */
function plainAscii(s: string, o: number): number {
  const n = s.length
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c >= 0x80 || c === 0x22 || c === 0x5c) return -1
    scratch[o + i] = c
  }
  return o + n
}

/** Texts up to this long are tried as plain ASCII first. */
const SHORT = 64

// Length-prefixed, so no two different records feed the same bytes.
function feedText(tag: string, s: string | null): void {
  if (s === null) {
    put(tag)
    put('-;')
    return
  }
  if (s.length <= SHORT) {
    // ASCII: its length is known before its bytes, so nothing is moved into place after.
    room(tag.length + GAP + s.length)
    let o = used
    for (let i = 0; i < tag.length; i++) scratch[o++] = tag.charCodeAt(i)
    const len = String(s.length)
    for (let i = 0; i < len.length; i++) scratch[o++] = len.charCodeAt(i)
    scratch[o++] = 58
    const end = plainAscii(s, o)
    if (end >= 0) {
      used = end
      return
    }
  }
  const at = openText(tag)
  put(s)
  closeText(at)
}

function feedBytes(tag: string, b: Buffer | null): void {
  put(tag)
  if (b === null) {
    put('-;')
    return
  }
  put(String(b.length))
  put(':')
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

/** A string as JSON.stringify writes it. */
function putString(v: string): void {
  if (v.length <= SHORT) {
    room(v.length + 2)
    const end = plainAscii(v, used + 1)
    if (end >= 0) {
      scratch[used] = 0x22
      scratch[end] = 0x22
      used = end + 1
      return
    }
  }
  if (NEEDS_ESCAPE.test(v)) put(JSON.stringify(v))
  else {
    put('"')
    put(v)
    put('"')
  }
}

/**
 * Writes what JSON.stringify writes for a value inside an object or array, strings, numbers
 * and null directly (a record's source and metadata are flat); false, writing nothing, where
 * it writes nothing (undefined, a function, a symbol, an object whose toJSON gives undefined).
 */
function putValue(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
      putString(v)
      return true
    case 'number':
      put(Number.isFinite(v) ? String(v) : 'null')
      return true
    case 'boolean':
      put(v ? 'true' : 'false')
      return true
    case 'bigint':
      put('"')
      put(String(v))
      put('"')
      return true
    case 'undefined':
    case 'function':
    case 'symbol':
      return false
    default: {
      if (v === null) {
        put('null')
        return true
      }
      const j = json(v) as string | undefined
      if (j === undefined) return false
      put(j)
      return true
    }
  }
}

/** `json(o)` of a record's source object. */
function putObject(o: object): void {
  if (Array.isArray(o) || typeof (o as {toJSON?: unknown}).toJSON === 'function') {
    put(json(o))
    return
  }
  put('{')
  let first = true
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue
    const v = (o as Record<string, unknown>)[k]
    const t = typeof v
    if (t === 'undefined' || t === 'function' || t === 'symbol') continue
    // An object is written as JSON.stringify writes it, which may be nothing (its key is then left out too).
    let j: string | undefined
    if (t === 'object' && v !== null) {
      j = json(v) as string | undefined
      if (j === undefined) continue
    }
    if (!first) put(',')
    first = false
    putString(k)
    put(':')
    if (j !== undefined) put(j)
    else putValue(v)
  }
  put('}')
}

/** `json(Object.entries(m).filter(…))` of the metadata without what changes while the message does not. */
function putMetadata(m: Record<string, unknown>): void {
  put('[')
  let first = true
  for (const k in m) {
    // What the store says about its own handling (a Redis delivery count) changes while the message does not.
    if (!Object.hasOwn(m, k) || k.startsWith('redis.delivery-')) continue
    if (!first) put(',')
    first = false
    put('[')
    putString(k)
    put(',')
    if (!putValue(m[k])) put('null')
    put(']')
  }
  put(']')
}

/** A digest of everything that makes the message itself, never its position. */
export function contentDigest(r: DecodedRecord): string {
  used = 0
  feedMessage(r)
  feedText('t', r.timestamp === null ? null : String(r.timestamp))
  feedText('c', r.convention)
  feedText('r', r.reason)
  const at = openText('s')
  if (r.source === null || typeof r.source !== 'object') put(json(r.source))
  else putObject(r.source)
  closeText(at)
  const m = openText('m')
  putMetadata(r.metadata)
  closeText(m)
  return digestOfInput()
}

/** What a replay sends of a record, into the digest's input: its key, payload and user headers. */
function feedMessage(r: DecodedRecord): void {
  feedBytes('k', r.key)
  feedBytes('v', r.payload)
  for (const x of r.userHeaders) {
    feedText('hk', x.key)
    feedBytes('hv', x.value)
  }
}

/** The first 128 bits of the SHA-256 of the input written so far, in hex. */
function digestOfInput(): string {
  const input = scratch.subarray(0, used)
  // crypto.hash (Node ≥ 20.12) skips creating a Hash object per message.
  return (oneShot ? oneShot('sha256', input, 'hex') : crypto.createHash('sha256').update(input).digest('hex')).slice(0, 32)
}

/**
 * The ledger's key of the source message a record holds, beside the record's own (ledgerKey):
 * null unless its source topic, partition and offset are all recorded, the partition not in
 * doubt, and the record holds the original message (readable, whole, not `notOriginal`). A
 * writer may dead-letter one source message more than once (Kafka Streams' LogAndFail on every restart, Spring Kafka dying between the DLT send and its offset commit), and its
 * copies are different DLQ records, each with a key of its own. A replay claims and completes
 * this key with the record's own, so a copy met later — in another run, by --offset alone,
 * after the first copy was purged — is known as replayed. The digest covers the coordinates
 * and the message as a replay sends it and a sink's `find` looks for it (key, payload, user
 * headers): a message at the same coordinates of a source topic deleted and recreated is
 * another message, and a copy whose send an earlier run left in doubt is found by its bytes.
 */
export function sourceKey(r: DecodedRecord): string | null {
  const s = r.source
  if (s.topic === null || s.partition === null || s.offset === null || s.doubt) return null
  // Not for a record that does not hold the whole original message: it is never sent as it is.
  if (r.unreadable !== null || r.payloadTruncated || r.notOriginal) return null
  used = 0
  feedText('src', s.topic)
  feedText('p', String(s.partition))
  feedText('o', String(s.offset))
  feedMessage(r)
  return `src:${digestOfInput()}`
}
