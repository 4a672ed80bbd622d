import {createRequire} from 'node:module'
import zlib from 'node:zlib'
import {DlqError} from '../../core/errors.js'

/**
 * Decompression of Kafka record batches, done here rather than by @platformatic/kafka:
 * - its snappy codec expects raw snappy, but the Java client (and the broker, with
 *   `compression.type=snappy`) writes xerial-framed snappy, which crashes its WebAssembly
 *   decoder with an uncatchable-looking RuntimeError;
 * - its zstd codec is node:zlib's, which Node 20 does not have.
 * Snappy and LZ4 are small formats decoded in plain TypeScript with bounds checks; gzip and
 * zstd use node:zlib, with the pure-JS `fzstd` package as the zstd fallback on Node 20.
 */
export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

/** Untrusted input: a batch may not expand beyond this (a decompression bomb is an error, not an OOM). */
export const MAX_DECOMPRESSED = 256 * 1024 * 1024

export class CorruptBatchError extends Error {}

type ZstdDecoder = (data: Buffer) => Buffer
let zstd: ZstdDecoder | null | undefined

/**
 * Finds a zstd decoder on the first zstd batch, not when a client opens: importing fzstd costs
 * a few ms that a read of uncompressed or gzip/snappy/lz4 batches never needs. node:zlib where
 * Node has one (22.15+), else `fzstd` when it is installed; `require`d, so batch decoding stays
 * synchronous.
 */
function zstdDecoder(): ZstdDecoder | null {
  if (zstd !== undefined) return zstd
  const native = (zlib as unknown as {zstdDecompressSync?: (b: Buffer, o?: object) => Buffer}).zstdDecompressSync
  if (typeof native === 'function') {
    zstd = (b) => native(b, {maxOutputLength: MAX_DECOMPRESSED})
    return zstd
  }
  try {
    // Resolved at run time (fzstd is optional: neither tsc nor the bundler may insist on it).
    const mod = createRequire(import.meta.url)('fzstd') as {decompress(b: Uint8Array): Uint8Array}
    zstd = (b) => {
      const u = mod.decompress(b)
      return Buffer.from(u.buffer, u.byteOffset, u.byteLength)
    }
  } catch {
    zstd = null
  }
  return zstd
}

export function zstdAvailable(): boolean {
  return zstdDecoder() !== null
}

export function decompress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case 1:
      return zlib.gunzipSync(data, {maxOutputLength: MAX_DECOMPRESSED})
    case 2:
      return snappyDecompress(data)
    case 3:
      return lz4FrameDecompress(data)
    case 4: {
      const decode = zstdDecoder()
      if (!decode) {
        throw new DlqError(
          `a zstd-compressed record batch needs Node.js 22.15 or later (node:zlib zstd) or the "fzstd" package; this is Node ${process.versions.node} without fzstd`,
        )
      }
      return decode(data)
    }
    default:
      throw new CorruptBatchError(`unknown compression codec ${codec}`)
  }
}

/** A growable output buffer for the two LZ77-style decoders below. */
class Out {
  buf: Buffer
  pos = 0
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, size))
  }

  ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    if (need > MAX_DECOMPRESSED) throw new CorruptBatchError(`batch decompresses to more than ${MAX_DECOMPRESSED} bytes`)
    const next = Buffer.allocUnsafe(Math.min(MAX_DECOMPRESSED, Math.max(need, this.buf.length * 2)))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  literal(src: Buffer, start: number, len: number): void {
    if (start + len > src.length) throw new CorruptBatchError('literal runs past the end of the input')
    this.ensure(len)
    src.copy(this.buf, this.pos, start, start + len)
    this.pos += len
  }

  /** Copies from `offset` bytes back; overlapping copies repeat the pattern, as the formats mean. */
  match(offset: number, len: number): void {
    if (offset <= 0 || offset > this.pos) throw new CorruptBatchError('back-reference before the start of the output')
    this.ensure(len)
    const b = this.buf
    let from = this.pos - offset
    if (offset >= len) {
      b.copy(b, this.pos, from, from + len)
      this.pos += len
      return
    }
    for (let i = 0; i < len; i++) b[this.pos++] = b[from++]
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos)
  }
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])

/** Kafka snappy: xerial framing (Java) or one raw snappy block (librdkafka, Go clients). */
export function snappyDecompress(data: Buffer): Buffer {
  if (data.length >= 16 && data.subarray(0, 8).equals(XERIAL_MAGIC)) {
    const parts: Buffer[] = []
    let total = 0
    let p = 16
    while (p < data.length) {
      if (p + 4 > data.length) throw new CorruptBatchError('truncated xerial snappy chunk header')
      const len = data.readUInt32BE(p)
      p += 4
      if (p + len > data.length) throw new CorruptBatchError('truncated xerial snappy chunk')
      const chunk = snappyBlock(data.subarray(p, p + len))
      total += chunk.length
      if (total > MAX_DECOMPRESSED) throw new CorruptBatchError(`batch decompresses to more than ${MAX_DECOMPRESSED} bytes`)
      parts.push(chunk)
      p += len
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, total)
  }
  return snappyBlock(data)
}

/** One raw snappy block (format_description.txt of google/snappy). */
export function snappyBlock(src: Buffer): Buffer {
  let p = 0
  let expected = 0
  for (let shift = 0; ; shift += 7) {
    if (p >= src.length || shift > 28) throw new CorruptBatchError('bad snappy length preamble')
    const b = src[p++]
    expected += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
  }
  if (expected > MAX_DECOMPRESSED) throw new CorruptBatchError(`batch decompresses to more than ${MAX_DECOMPRESSED} bytes`)
  const out = new Out(expected)
  while (p < src.length) {
    const tag = src[p++]
    const kind = tag & 3
    if (kind === 0) {
      let len = tag >>> 2
      if (len >= 60) {
        const extra = len - 59
        if (p + extra > src.length) throw new CorruptBatchError('truncated snappy literal length')
        len = 0
        for (let i = 0; i < extra; i++) len += src[p + i] * 2 ** (8 * i)
        p += extra
      }
      len += 1
      out.literal(src, p, len)
      p += len
    } else if (kind === 1) {
      if (p >= src.length) throw new CorruptBatchError('truncated snappy copy')
      out.match(((tag >>> 5) << 8) | src[p++], ((tag >>> 2) & 7) + 4)
    } else if (kind === 2) {
      if (p + 2 > src.length) throw new CorruptBatchError('truncated snappy copy')
      out.match(src.readUInt16LE(p), (tag >>> 2) + 1)
      p += 2
    } else {
      if (p + 4 > src.length) throw new CorruptBatchError('truncated snappy copy')
      out.match(src.readUInt32LE(p), (tag >>> 2) + 1)
      p += 4
    }
  }
  if (out.pos !== expected) throw new CorruptBatchError(`snappy block decoded to ${out.pos} bytes, its preamble says ${expected}`)
  return out.result()
}

const LZ4_MAGIC = 0x184d2204

/** Kafka lz4 (record format v2): the LZ4 frame format; checksums are not verified (the batch CRC covers the bytes). */
export function lz4FrameDecompress(src: Buffer): Buffer {
  if (src.length < 7 || src.readUInt32LE(0) !== LZ4_MAGIC) throw new CorruptBatchError('not an LZ4 frame')
  const flg = src[4]
  if (flg >>> 6 !== 1) throw new CorruptBatchError(`LZ4 frame version ${flg >>> 6} is not supported`)
  const blockChecksum = (flg & 0x10) !== 0
  const contentSize = (flg & 0x08) !== 0
  const contentChecksum = (flg & 0x04) !== 0
  const dictId = (flg & 0x01) !== 0
  let p = 6 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1 // FLG BD [size] [dict] HC
  const out = new Out(src.length * 4)
  for (;;) {
    if (p + 4 > src.length) throw new CorruptBatchError('truncated LZ4 block header')
    const word = src.readUInt32LE(p)
    p += 4
    if (word === 0) break
    const size = word & 0x7fffffff
    if (p + size > src.length) throw new CorruptBatchError('truncated LZ4 block')
    if (word & 0x80000000) out.literal(src, p, size)
    else lz4Block(src, p, p + size, out)
    p += size + (blockChecksum ? 4 : 0)
  }
  if (contentChecksum) p += 4
  return out.result()
}

function lz4Block(src: Buffer, start: number, end: number, out: Out): void {
  let p = start
  while (p < end) {
    const token = src[p++]
    let lit = token >>> 4
    if (lit === 15) {
      let b: number
      do {
        if (p >= end) throw new CorruptBatchError('truncated LZ4 literal length')
        b = src[p++]
        lit += b
      } while (b === 255)
    }
    if (p + lit > end) throw new CorruptBatchError('LZ4 literals run past the block')
    out.literal(src, p, lit)
    p += lit
    if (p === end) return // the last sequence has literals only
    if (p + 2 > end) throw new CorruptBatchError('truncated LZ4 match offset')
    const offset = src.readUInt16LE(p)
    p += 2
    let len = token & 15
    if (len === 15) {
      let b: number
      do {
        if (p >= end) throw new CorruptBatchError('truncated LZ4 match length')
        b = src[p++]
        len += b
      } while (b === 255)
    }
    out.match(offset, len + 4)
  }
}
