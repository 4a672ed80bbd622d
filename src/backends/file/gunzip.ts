import {open} from 'node:fs/promises'
import {createGunzip} from 'node:zlib'

/** Compressed bytes handed to zlib at a time. */
const PIECE = 64 * 1024

export interface GunzipEnd {
  /** Why decoding stopped before the end of the file, or null when the file was whole. */
  error: NodeJS.ErrnoException | null
}

/**
 * Decompresses a gzip file, yielding what it decodes, and returns (instead of throwing) the
 * error that stopped it. Everything decoded before the damage is yielded, which zlib's stream
 * alone does not do: an error discards the output of the write that hit it, so a gzip member
 * followed by garbage (or a corrupt block) would lose up to a whole write of records. When
 * that happens the file is decoded once more, the last write's bytes one at a time, and the
 * missing output handed on.
 */
export async function* gunzipFile(path: string, signal?: AbortSignal): AsyncGenerator<Buffer, GunzipEnd> {
  const first = yield* pass(path, Number.POSITIVE_INFINITY, 0, signal)
  if (first.error === null || first.error.code !== 'Z_DATA_ERROR') return {error: first.error}
  const second = yield* pass(path, first.goodInput, first.produced, signal)
  return {error: second.error ?? first.error}
}

interface PassEnd {
  error: NodeJS.ErrnoException | null
  /** Compressed bytes whose output was handed on in full. */
  goodInput: number
  /** Decompressed bytes produced (including those skipped). */
  produced: number
}

/** One decoding pass: input from `fineFrom` on is written one byte at a time; the first `skip` output bytes are not yielded. */
async function* pass(path: string, fineFrom: number, skip: number, signal?: AbortSignal): AsyncGenerator<Buffer, PassEnd> {
  const fh = await open(path, 'r')
  const gunzip = createGunzip()
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
        n = (await fh.read(buf, 0, want, pos)).bytesRead
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
    await fh.close()
  }
}
