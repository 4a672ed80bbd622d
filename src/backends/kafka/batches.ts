import {isUtf8} from 'node:buffer'
import type {RawHeader} from '../../core/record.js'
import {CorruptBatchError, decompress} from './codecs.js'

/**
 * Record batches (message format v2, KIP-98) as a Fetch response carries them, decoded
 * without the client library so that we control decompression, skipping and transactions.
 *
 * What a reader sees is what Java's consumer shows with isolation.level=read_committed:
 * control batches (commit/abort markers) are never records, and batches of transactions the
 * broker lists as aborted are dropped, following the Java client's CompletedFetch rule
 * (an aborted transaction applies from its first offset up to its producer's abort marker,
 * even when the marker lies beyond this response).
 */
export interface KafkaMessage {
  offset: number
  /** Epoch ms; null when the producer set none (-1). */
  timestamp: number | null
  key: Buffer | null
  value: Buffer | null
  headers: RawHeader[]
}

export interface AbortedTransaction {
  producerId: bigint
  firstOffset: number
}

export interface DecodedRecordSet {
  messages: KafkaMessage[]
  /** The offset after the last complete batch (so skipped control/aborted batches are passed). */
  next: number
}

const HEAD = 61
const ATTR_COMPRESSION = 0x07
const ATTR_LOG_APPEND_TIME = 0x08
const ATTR_TRANSACTIONAL = 0x10
const ATTR_CONTROL = 0x20

/** Reads the zig-zag varints of the record format, bounds-checked against `end`. */
class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  varint(): number {
    const b = this.buf
    let p = this.pos
    if (p >= this.end) throw new CorruptBatchError('truncated varint')
    let byte = b[p++]
    // Most varints of a record (lengths, small deltas) are one byte: zig-zag decoded directly.
    if (byte < 0x80) {
      this.pos = p
      return (byte >>> 1) ^ -(byte & 1)
    }
    let result = byte & 0x7f
    // Multiplication, not <<, so 64-bit varlongs (timestamp deltas) stay exact up to 2^53.
    let scale = 128
    for (;;) {
      if (p >= this.end) throw new CorruptBatchError('truncated varint')
      byte = b[p++]
      result += (byte & 0x7f) * scale
      if (byte < 0x80) break
      scale *= 128
      if (scale > 2 ** 63) throw new CorruptBatchError('varint longer than 10 bytes')
    }
    this.pos = p
    // zig-zag: 0 → 0, 1 → -1, 2 → 1, …
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2
  }

  bytes(): Buffer | null {
    const len = this.varint()
    if (len < 0) return null
    if (this.pos + len > this.end) throw new CorruptBatchError('field runs past the end of its record')
    const out = this.buf.subarray(this.pos, this.pos + len)
    this.pos += len
    return out
  }
}

/**
 * Batch boundaries only (no decompression): the offset a reader continues from after this
 * record set, known before decoding so the next fetch can be sent while this one is decoded.
 */
export function recordSetNext(buf: Buffer, fallback: number): number {
  let pos = 0
  let next = fallback
  while (pos + HEAD <= buf.length) {
    const length = buf.readInt32BE(pos + 8)
    const end = pos + 12 + length
    if (length < HEAD - 12 || end > buf.length) break
    next = Math.max(next, Number(buf.readBigInt64BE(pos)) + buf.readInt32BE(pos + 23) + 1)
    pos = end
  }
  return next
}

export function decodeRecordSet(buf: Buffer, fromOffset: number, aborted: AbortedTransaction[], plainOnly = false): DecodedRecordSet {
  const decoder = new RecordSetDecoder(buf, fromOffset, aborted, plainOnly)
  const messages = decoder.take(Number.POSITIVE_INFINITY)
  return {messages, next: decoder.next}
}

/**
 * A record set decoded as far as it is asked for: a page of 50 needs 50 records, not the
 * thousands that one fetch (at least one whole batch) may carry. Each `take` goes on where
 * the one before stopped.
 */
export class RecordSetDecoder {
  /**
   * The offset after the last batch reached so far: once `take` has returned fewer messages
   * than asked for, the offset after the last complete batch (control and aborted batches
   * passed); before that, after the batch being read.
   */
  next: number
  private pos = 0
  private readonly pendingAborts: AbortedTransaction[]
  private abortIndex = 0
  private readonly abortedProducers = new Set<bigint>()
  // The data batch being read: its records from `c.pos`, `left` of `count` still to come.
  private c: Cursor | null = null
  private count = 0
  private left = 0
  private baseOffset = 0
  private baseTimestamp = 0
  private maxTimestamp = 0
  private logAppend = false

  constructor(
    private readonly buf: Buffer,
    /** The fetch offset: records before it are skipped. */
    readonly fromOffset: number,
    aborted: AbortedTransaction[],
    /** Pass every batch of a transaction, committed or not (a read_uncommitted look for records a non-transactional producer wrote). */
    private readonly plainOnly = false,
  ) {
    this.next = fromOffset
    this.pendingAborts = aborted.length > 0 ? [...aborted].sort((a, b) => a.firstOffset - b.firstOffset) : aborted
  }

  /** Up to `max` more messages; fewer only when the record set has no more. */
  take(max: number): KafkaMessage[] {
    const messages: KafkaMessage[] = []
    const fromOffset = this.fromOffset
    while (messages.length < max && (this.left > 0 || this.nextBatch())) {
      const c = this.c!
      const {baseOffset, baseTimestamp, maxTimestamp, logAppend, count} = this
      let left = this.left
      while (left > 0 && messages.length < max) {
        const i = count - left--
        const len = c.varint()
        const recordEnd = c.pos + len
        if (len < 0 || recordEnd > c.end) throw new CorruptBatchError(`offset ${baseOffset}: record ${i} runs past its batch`)
        c.pos++ // record attributes: unused
        const tsDelta = c.varint()
        const offset = baseOffset + c.varint()
        if (offset < fromOffset) {
          c.pos = recordEnd
          continue
        }
        const key = c.bytes()
        const value = c.bytes()
        const nHeaders = c.varint()
        const headers: RawHeader[] = []
        for (let h = 0; h < nHeaders; h++) {
          const name = c.bytes()
          const key = name === null ? '' : name.toString('utf8')
          // U+FFFD in the text: a replacement for bytes that are not UTF-8, unless it was written as such.
          if (name !== null && key.includes('\uFFFD') && !isUtf8(name)) headers.push({key, value: c.bytes(), keyBytes: name})
          else headers.push({key, value: c.bytes()})
        }
        if (c.pos !== recordEnd) throw new CorruptBatchError(`offset ${offset}: record length does not match its fields`)
        const ts = logAppend ? maxTimestamp : baseTimestamp + tsDelta
        messages.push({offset, timestamp: ts >= 0 ? ts : null, key, value, headers})
      }
      this.left = left
    }
    return messages
  }

  /** Moves to the next batch with records to read (at or after the fetch offset); false at the end. */
  private nextBatch(): boolean {
    const buf = this.buf
    let pos = this.pos
    try {
      // The broker may end a response with a partial batch (cut at max bytes): it is left for the next fetch.
      while (pos + HEAD <= buf.length) {
        const baseOffset = Number(buf.readBigInt64BE(pos))
        const length = buf.readInt32BE(pos + 8)
        const end = pos + 12 + length
        if (length < HEAD - 12 || end > buf.length) break
        const magic = buf[pos + 16]
        if (magic !== 2) {
          throw new CorruptBatchError(`offset ${baseOffset}: message format v${magic} (Kafka before 0.11) is not supported; only v2 record batches are`)
        }
        const attributes = buf.readInt16BE(pos + 21)
        const lastOffset = baseOffset + buf.readInt32BE(pos + 23)
        const producerId = buf.readBigInt64BE(pos + 43)
        const batchStart = pos
        pos = end
        this.next = Math.max(this.next, lastOffset + 1)

        if (producerId >= 0n) {
          while (this.abortIndex < this.pendingAborts.length && this.pendingAborts[this.abortIndex].firstOffset <= lastOffset) {
            this.abortedProducers.add(this.pendingAborts[this.abortIndex++].producerId)
          }
        }
        if (attributes & ATTR_CONTROL) {
          // A control batch holds one record whose key is (version int16, type int16); type 0 = ABORT.
          if (this.abortedProducers.has(producerId) && controlType(buf, batchStart, end, attributes) === 0) this.abortedProducers.delete(producerId)
          continue
        }
        if (attributes & ATTR_TRANSACTIONAL && (this.plainOnly || this.abortedProducers.has(producerId))) continue
        if (lastOffset < this.fromOffset) continue

        const count = buf.readInt32BE(batchStart + 57)
        if (count <= 0) continue
        const codec = attributes & ATTR_COMPRESSION
        const body = codec === 0 ? buf : decompress(codec, buf.subarray(batchStart + HEAD, end))
        this.c = new Cursor(body, codec === 0 ? batchStart + HEAD : 0, codec === 0 ? end : body.length)
        this.count = count
        this.left = count
        this.baseOffset = baseOffset
        this.baseTimestamp = Number(buf.readBigInt64BE(batchStart + 27))
        this.maxTimestamp = Number(buf.readBigInt64BE(batchStart + 35))
        this.logAppend = (attributes & ATTR_LOG_APPEND_TIME) !== 0
        return true
      }
      return false
    } finally {
      this.pos = pos
    }
  }
}

function controlType(buf: Buffer, start: number, end: number, attributes: number): number | null {
  try {
    const codec = attributes & ATTR_COMPRESSION
    const body = codec === 0 ? buf : decompress(codec, buf.subarray(start + HEAD, end))
    const c = new Cursor(body, codec === 0 ? start + HEAD : 0, codec === 0 ? end : body.length)
    c.varint() // length
    c.pos++ // attributes
    c.varint() // timestamp delta
    c.varint() // offset delta
    const key = c.bytes()
    return key && key.length >= 4 ? key.readInt16BE(2) : null
  } catch {
    return null
  }
}
