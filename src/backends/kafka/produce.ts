import {createRequire} from 'node:module'
import type {OutgoingMessage} from '../../core/sink.js'
import {Bytes} from './client.js'
import type {KafkaLib} from './connection.js'

/**
 * Record batches (magic v2) for the Kafka sink, encoded straight into one Buffer per batch.
 * The library's producer builds a Writer per record and per field and concatenates them, which
 * was most of the sink's cost at replay scale; it also mis-encodes varlongs from 2^31 up.
 */

/** What one record batch needs besides its messages. */
export interface BatchHeader {
  producerId: bigint
  producerEpoch: number
  baseSequence: number
  /** Timestamp for messages without one. */
  now: number
}

/** Bytes of an unsigned varint. */
function uvarintSize(v: number): number {
  let n = 1
  while (v >= 0x80) {
    v = Math.floor(v / 128)
    n++
  }
  return n
}

/** Zig-zag of a safe integer, as a non-negative Number (exact below 2^52). */
const zigzag = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1)

function writeUvarint(b: Buffer, p: number, v: number): number {
  while (v >= 0x80) {
    b[p++] = (v & 0x7f) | 0x80
    v = Math.floor(v / 128)
  }
  b[p++] = v
  return p
}

/** A batch's header: base offset, length, leader epoch, magic, crc, attributes, last offset delta, timestamps, producer id and epoch, base sequence, record count. */
const BATCH_OVERHEAD = 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4

/**
 * One record batch (baseOffset 0, uncompressed, not transactional) holding `messages` in
 * order, ready to go into a Produce request's `records`. Sizes are worked out first so the
 * batch is written once into a buffer of its exact length, with no object per record.
 */
export function encodeBatch(messages: OutgoingMessage[], h: BatchHeader, crc32c: (b: Buffer) => number): Buffer {
  const first = messages[0].timestamp ?? h.now
  let max = first
  const bodies = new Float64Array(messages.length)
  let total = BATCH_OVERHEAD
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]
    const ts = m.timestamp ?? h.now
    if (ts > max) max = ts
    let body = 1 + uvarintSize(zigzag(ts - first)) + uvarintSize(zigzag(i))
    body += m.key === null ? 1 : uvarintSize(zigzag(m.key.length)) + m.key.length
    body += m.value === null ? 1 : uvarintSize(zigzag(m.value.length)) + m.value.length
    body += uvarintSize(zigzag(m.headers.length))
    for (let j = 0; j < m.headers.length; j++) {
      const hd = m.headers[j]
      const k = hd.keyBytes ? hd.keyBytes.length : Buffer.byteLength(hd.key, 'utf8')
      body += uvarintSize(zigzag(k)) + k
      body += hd.value === null ? 1 : uvarintSize(zigzag(hd.value.length)) + hd.value.length
    }
    bodies[i] = body
    total += uvarintSize(zigzag(body)) + body
  }

  const b = Buffer.allocUnsafe(total)
  b.writeBigInt64BE(0n, 0) // baseOffset
  b.writeInt32BE(total - 12, 8) // batchLength: from the leader epoch on
  b.writeInt32BE(-1, 12) // partitionLeaderEpoch: the broker sets it
  b[16] = 2 // magic
  // 17..20: crc, below
  b.writeInt16BE(0, 21) // attributes: no compression, create time, not transactional
  b.writeInt32BE(messages.length - 1, 23) // lastOffsetDelta
  b.writeBigInt64BE(BigInt(first), 27)
  b.writeBigInt64BE(BigInt(max), 35)
  b.writeBigInt64BE(h.producerId, 43)
  b.writeInt16BE(h.producerEpoch, 51)
  b.writeInt32BE(h.baseSequence, 53)
  b.writeInt32BE(messages.length, 57)
  let p = 61
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]
    p = writeUvarint(b, p, zigzag(bodies[i]))
    b[p++] = 0 // record attributes
    p = writeUvarint(b, p, zigzag((m.timestamp ?? h.now) - first))
    p = writeUvarint(b, p, zigzag(i))
    p = writeBytes(b, p, m.key)
    p = writeBytes(b, p, m.value)
    p = writeUvarint(b, p, zigzag(m.headers.length))
    for (let j = 0; j < m.headers.length; j++) {
      const hd = m.headers[j]
      if (hd.keyBytes) p = writeBytes(b, p, hd.keyBytes)
      else {
        const k = Buffer.byteLength(hd.key, 'utf8')
        p = writeUvarint(b, p, zigzag(k))
        p += b.write(hd.key, p, k, 'utf8')
      }
      p = writeBytes(b, p, hd.value)
    }
  }
  if (p !== total) throw new Error(`record batch: wrote ${p} bytes of ${total}`)
  b.writeUInt32BE(crc32c(b.subarray(21)) >>> 0, 17)
  return b
}

function writeBytes(b: Buffer, p: number, v: Buffer | null): number {
  if (v === null) {
    b[p] = 1 // zig-zag of -1
    return p + 1
  }
  p = writeUvarint(b, p, zigzag(v.length))
  // TypedArray#set: Buffer#copy's argument checks cost more than the copy of a small value.
  b.set(v, p)
  return p + v.length
}

/**
 * CRC-32C of a Buffer as it is. The library's own function hands the native addon a copy of
 * its input (`new Uint8Array(data)`): a second copy of every record batch, and garbage of the
 * same size. The addon (@node-rs/crc32, the library's optional dependency) takes the Buffer
 * itself; without it, the library's function.
 */
export function crc32cFor(lib: KafkaLib): (b: Buffer) => number {
  try {
    const require = createRequire(import.meta.url)
    const fromKafka = require.resolve('@node-rs/crc32', {paths: [require.resolve('@platformatic/kafka')]})
    const native = (require(fromKafka) as {crc32c: (input: Uint8Array) => number}).crc32c
    return (b) => native(b)
  } catch {
    return lib.crc32c as (b: Buffer) => number
  }
}

/** Sequence numbers are int32 and wrap to 0 after 2^31 - 1 (as the Java producer does). */
export function nextSequence(seq: number, count: number): number {
  return (seq + count) % 2 ** 31
}

/** One partition's answer to a produce request. */
export interface PartitionAck {
  errorCode: number
  baseOffset: bigint
  message: string | null
}

/**
 * Produce responses (v9-v11) read to `topic\0partition` → answer. The library's parser fails
 * on a partition error that carries the new leader in a tagged field (Kafka 4), and throws
 * away the other partitions' answers with it.
 */
export function parseProduce(_correlationId: number, _apiKey: number, _apiVersion: number, reader: {buffer: {slice(s: number, e: number): Buffer; length: number}; position: number}): Map<string, PartitionAck> {
  const r = new Bytes(reader.buffer.slice(reader.position, reader.buffer.length))
  const text = (): string | null => {
    const n = r.uvarint() - 1
    if (n < 0) return null
    const s = r.b.toString('utf8', r.p, r.p + n)
    r.p += n
    return s
  }
  const out = new Map<string, PartitionAck>()
  const topics = r.uvarint() - 1
  for (let t = 0; t < topics; t++) {
    const name = text() ?? ''
    const partitions = r.uvarint() - 1
    for (let i = 0; i < partitions; i++) {
      const index = r.i32()
      const errorCode = r.i16()
      const baseOffset = r.i64()
      r.p += 16 // log append time, log start offset
      const recordErrors = r.uvarint() - 1
      let message: string | null = null
      for (let e = 0; e < recordErrors; e++) {
        r.i32()
        // Read whether or not it is kept: every record error's text must be skipped.
        const text0 = text()
        message ??= text0
        r.skipTags()
      }
      const partitionMessage = text()
      r.skipTags()
      out.set(`${name}\u0000${index}`, {errorCode, baseOffset, message: partitionMessage ?? message})
    }
    r.skipTags()
  }
  return out
}
