import {createReadStream, read} from 'node:fs'
import {open} from 'node:fs/promises'
import type * as Zlib from 'node:zlib'

/** Compressed bytes handed to zlib at a time. */
const PIECE = 64 * 1024

/** zlib on first use: most commands read no gzipped file, and it was ~1 ms of every start-up. */
let zlib: typeof Zlib | null = null
const createGunzip = async () => (zlib ??= await import('node:zlib')).createGunzip()

export interface GunzipEnd {
  /** Why decoding stopped before the end of the file, or null when the file was whole. */
  error: NodeJS.ErrnoException | null
}

/**
 * Decompresses a gzip file, yielding what it decodes, and returns (instead of throwing) the
 * error that stopped it. Everything decoded before the damage is yielded, which zlib's stream
 * alone does not do: an error discards the output of the write that hit it, so a gzip member
 * followed by garbage (or a corrupt block) would lose up to a whole write of records. A whole
 * file is read in one streaming pass at full speed; only a damaged one is decoded again, first
 * in pieces (to find the piece that breaks), then with that piece's bytes one at a time, and
 * the output the first pass missed is handed on.
 */
export async function* gunzipFile(path: string | number, signal?: AbortSignal): AsyncGenerator<Buffer, GunzipEnd> {
  const fast = yield* streamPass(path, signal)
  if (fast.error === null || fast.error.code !== 'Z_DATA_ERROR') return {error: fast.error}
  const pieces = yield* pass(path, Number.POSITIVE_INFINITY, fast.produced, signal)
  if (pieces.error === null) return {error: fast.error}
  const fine = yield* pass(path, pieces.goodInput, Math.max(fast.produced, pieces.produced), signal)
  return {error: fine.error ?? pieces.error}
}

/** The fast pass: the file streamed through gunzip; what was decoded before an error is kept. */
async function* streamPass(path: string | number, signal?: AbortSignal): AsyncGenerator<Buffer, {error: NodeJS.ErrnoException | null; produced: number}> {
  // Made before the source opens, so nothing awaits between its opening and its error handler.
  const unzip = await createGunzip()
  // A descriptor is read with positioned reads from 0 and left open (it belongs to the segment).
  // destroy() closes a stream's fd even with autoClose off: its `close` is made a no-op here.
  const source =
    typeof path === 'number'
      ? createReadStream('', {fd: path, autoClose: false, start: 0, highWaterMark: 1024 * 1024, fs: {read, close: (_fd: number, cb: (e: null) => void) => cb(null)}})
      : createReadStream(path, {highWaterMark: 1024 * 1024})
  const gunzip = source.pipe(unzip)
  // pipe() does not forward the source's errors (EACCES, EIO): hand them to the gunzip stream.
  source.on('error', (error) => gunzip.destroy(error))
  // Not the stream's async iterator: on an error it drops output not yet taken.
  const queue: Buffer[] = []
  let ended = false
  let error: NodeJS.ErrnoException | null = null
  let wake: (() => void) | null = null
  const poke = () => {
    const w = wake
    wake = null
    w?.()
  }
  gunzip.on('data', (b: Buffer) => {
    queue.push(b)
    if (queue.length >= 16) gunzip.pause()
    poke()
  })
  gunzip.on('end', () => {
    ended = true
    poke()
  })
  gunzip.on('error', (e) => {
    error ??= e
    poke()
  })
  let produced = 0
  try {
    for (;;) {
      if (signal?.aborted) return {error: null, produced}
      const next = queue.shift()
      if (next !== undefined) {
        produced += next.length
        yield next
        continue
      }
      if (ended || error !== null) return {error, produced}
      gunzip.resume()
      await new Promise<void>((resolve) => (wake = resolve))
    }
  } finally {
    source.destroy()
    gunzip.destroy()
  }
}

interface PassEnd {
  error: NodeJS.ErrnoException | null
  /** Compressed bytes whose output was handed on in full. */
  goodInput: number
  /** Decompressed bytes produced (including those skipped). */
  produced: number
}

/** A careful pass (damaged files only): input from `fineFrom` on is written one byte at a time; the first `skip` output bytes are not yielded. */
async function* pass(path: string | number, fineFrom: number, skip: number, signal?: AbortSignal): AsyncGenerator<Buffer, PassEnd> {
  const own = typeof path === 'number' ? null : await open(path, 'r')
  const readAt = (buf: Buffer, length: number, position: number): Promise<number> =>
    own !== null
      ? own.read(buf, 0, length, position).then((r) => r.bytesRead)
      : new Promise((resolve, reject) => read(path as number, buf, 0, length, position, (error, n) => (error ? reject(error) : resolve(n))))
  const gunzip = await createGunzip()
  const out: Buffer[] = []
  let error: NodeJS.ErrnoException | null = null
  gunzip.on('data', (b: Buffer) => out.push(b))
  gunzip.on('error', (e) => (error ??= e))
  let produced = 0
  let goodInput = 0
  function* take(): Generator<Buffer> {
    for (let b = out.shift(); b !== undefined; b = out.shift()) {
      const from = Math.max(0, skip - produced)
      produced += b.length
      if (from < b.length) yield from === 0 ? b : b.subarray(from)
    }
  }
  const settle = (start: (done: () => void) => void) =>
    new Promise<void>((resolve) => {
      const done = () => {
        gunzip.off('error', done)
        setImmediate(resolve)
      }
      gunzip.once('error', done)
      start(done)
    })
  try {
    const buf = Buffer.allocUnsafe(PIECE)
    let pos = 0
    for (;;) {
      if (signal?.aborted) return {error: null, goodInput, produced}
      const want = pos >= fineFrom ? 1 : Math.min(PIECE, fineFrom - pos)
      let n: number
      try {
        n = await readAt(buf, want, pos)
      } catch (e) {
        return {error: e as NodeJS.ErrnoException, goodInput, produced}
      }
      if (n === 0) break
      const piece = Buffer.from(buf.subarray(0, n))
      await settle((done) => gunzip.write(piece, () => done()))
      if (error !== null) return {error, goodInput, produced}
      pos += n
      goodInput = pos
      yield* take()
    }
    await settle((done) => gunzip.end(() => done()))
    if (error === null) await new Promise<void>((resolve) => (gunzip.readableEnded ? resolve() : gunzip.once('end', resolve).once('error', () => resolve())))
    yield* take()
    return {error, goodInput, produced}
  } finally {
    gunzip.destroy()
    await own?.close()
  }
}
