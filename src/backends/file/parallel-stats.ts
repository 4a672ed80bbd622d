import {closeSync, existsSync, openSync, readSync, statSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {fileURLToPath} from 'node:url'
import type {RecordFilter} from '../../core/filter.js'
import {StatsAccumulator, type StatsState} from '../../core/stats.js'
import type {Segment} from './layout.js'

/** Below this size a second thread costs more than it saves. */
const MIN_BYTES = 64 * 1024 * 1024
const MAX_THREADS = 4

export interface RangeJob {
  path: string
  start: number
  end: number
  spec: RecordFilter['spec']
  now: number
}

export interface RangeResult {
  state: StatsState
  /** Lines in the range: where the next range's line numbers start. */
  lines: number
}

function workerFile(): string | null {
  // Built next to the bundle's chunks (dist/stats-worker.js); absent when running from source.
  const url = new URL('./stats-worker.js', import.meta.url)
  const path = fileURLToPath(url)
  return existsSync(path) ? path : null
}

/** Byte offsets that split a file into `n` ranges, each starting just after a newline. */
export function splitAtNewlines(path: string, size: number, n: number): number[] {
  const cuts = [0]
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(64 * 1024)
    for (let i = 1; i < n; i++) {
      let pos = Math.max(Math.floor((size * i) / n), cuts[cuts.length - 1])
      for (;;) {
        const got = readSync(fd, buf, 0, buf.length, pos)
        if (got === 0) {
          pos = size
          break
        }
        const nl = buf.subarray(0, got).indexOf(10)
        if (nl >= 0) {
          pos += nl + 1
          break
        }
        pos += got
      }
      if (pos < size && pos > cuts[cuts.length - 1]) cuts.push(pos)
    }
  } finally {
    closeSync(fd)
  }
  cuts.push(size)
  return cuts
}

/**
 * Counts a large plain file in several threads, one byte range each, and merges the counts
 * in order (unreadable positions shifted by the lines of the ranges before). Returns null
 * where a parallel count does not apply, and the caller scans in one thread.
 */
export async function parallelStats(segments: Segment[], filter: RecordFilter, signal?: AbortSignal): Promise<StatsState | null> {
  if (process.env.DLQ_PARALLEL === '0' || segments.length !== 1 || segments[0].gzip) return null
  const file = workerFile()
  if (file === null) return null
  const path = segments[0].path
  const size = statSync(path).size
  const min = process.env.DLQ_PARALLEL_MIN_BYTES ? Number(process.env.DLQ_PARALLEL_MIN_BYTES) : MIN_BYTES
  const threads = Math.min(MAX_THREADS, availableParallelism())
  if (size < min || threads < 2) return null

  // worker_threads on first use (~1 ms of every start-up otherwise).
  const {Worker} = await import('node:worker_threads')
  const cuts = splitAtNewlines(path, size, threads)
  const jobs: RangeJob[] = []
  for (let i = 0; i + 1 < cuts.length; i++) jobs.push({path, start: cuts[i], end: cuts[i + 1], spec: filter.spec, now: filter.now})
  // The workers start first; this thread, whose reader code is loaded already, counts the
  // first range meanwhile instead of waiting (one thread start-up fewer: ~50 ms of CPU).
  const inWorkers = jobs.slice(1).map(
    (job) =>
      new Promise<RangeResult>((resolve, reject) => {
        const w = new Worker(file, {workerData: job})
        const stop = () => void w.terminate()
        signal?.addEventListener('abort', stop, {once: true})
        w.once('message', resolve)
        w.once('error', reject)
        w.once('exit', (code) => code !== 0 && reject(new Error(`stats worker exited with code ${code}`)))
      }),
  )
  // Imported here: count-range.ts imports the reader, which imports this module.
  const {countRange} = await import('./count-range.js')
  const here = countRange(jobs[0], signal)
  const results = await Promise.all([here, ...inWorkers])
  const acc = new StatsAccumulator()
  let base = 0
  for (const r of results) {
    acc.merge({...r.state, unreadablePositions: r.state.unreadablePositions.map((p) => String(Number(p) + base))})
    base += r.lines
  }
  return acc.state()
}
