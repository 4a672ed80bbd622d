import {createHash} from 'node:crypto'
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
export function ledgerKey(r: DecodedRecord, kind: 'file' | 'directory' | 'kafka' | 'redis' = 'file'): string {
  if (r.identity) return r.identity
  if (kind === 'redis' || kind === 'kafka') return `${kind}:${r.position}:${contentDigest(r)}`
  return `msg:${contentDigest(r)}`
}

const feed = (h: ReturnType<typeof createHash>, tag: string, b: Buffer | string | null) => {
  // Length-prefixed, so no two different records feed the same bytes.
  if (b === null) h.update(`${tag}-;`)
  else {
    const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b
    h.update(`${tag}${buf.length}:`)
    h.update(buf)
  }
}

/** A digest of everything that makes the message itself, never its position. */
export function contentDigest(r: DecodedRecord): string {
  const h = createHash('sha256')
  feed(h, 'k', r.key)
  feed(h, 'v', r.payload)
  for (const x of r.userHeaders) {
    feed(h, 'hk', x.key)
    feed(h, 'hv', x.value)
  }
  feed(h, 't', r.timestamp === null ? null : String(r.timestamp))
  feed(h, 'c', r.convention)
  feed(h, 'r', r.reason)
  feed(h, 's', JSON.stringify(r.source, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
  // What the store says about its own handling (a Redis delivery count) changes while the message does not.
  const stable = Object.entries(r.metadata).filter(([k]) => !k.startsWith('redis.delivery-'))
  feed(h, 'm', JSON.stringify(stable, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
  return h.digest('hex').slice(0, 32)
}
