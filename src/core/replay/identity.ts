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
 * of a file replay's CPU.
 */
let scratch = Buffer.allocUnsafe(64 * 1024)
let used = 0

function room(n: number): void {
  if (used + n <= scratch.length) return
  const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, used + n))
  scratch.copy(bigger, 0, 0, used)
  scratch = bigger
}

function put(s: string): void {
  room(s.length * 3)
  used += scratch.write(s, used, 'utf8')
}

const feed = (tag: string, b: Buffer | string | null) => {
  // Length-prefixed, so no two different records feed the same bytes.
  if (b === null) put(`${tag}-;`)
  else if (typeof b === 'string') {
    put(`${tag}${Buffer.byteLength(b, 'utf8')}:`)
    put(b)
  } else {
    put(`${tag}${b.length}:`)
    room(b.length)
    used += b.copy(scratch, used)
  }
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

/** A digest of everything that makes the message itself, never its position. */
export function contentDigest(r: DecodedRecord): string {
  used = 0
  feed('k', r.key)
  feed('v', r.payload)
  for (const x of r.userHeaders) {
    feed('hk', x.key)
    feed('hv', x.value)
  }
  feed('t', r.timestamp === null ? null : String(r.timestamp))
  feed('c', r.convention)
  feed('r', r.reason)
  feed('s', json(r.source))
  // What the store says about its own handling (a Redis delivery count) changes while the message does not.
  const stable = Object.entries(r.metadata).filter(([k]) => !k.startsWith('redis.delivery-'))
  feed('m', json(stable))
  const input = scratch.subarray(0, used)
  // crypto.hash (Node ≥ 20.12) skips creating a Hash object per message.
  return (oneShot ? oneShot('sha256', input, 'hex') : crypto.createHash('sha256').update(input).digest('hex')).slice(0, 32)
}
