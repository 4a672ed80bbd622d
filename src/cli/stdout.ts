import {once} from 'node:events'
import type {Writable} from 'node:stream'

/** Writes with backpressure: waits for the stream to drain when its buffer is full (or for `signal`). */
export function writer(out: Writable, signal?: AbortSignal): (text: string) => Promise<void> {
  const aborted = signal ? new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), {once: true})) : null
  return async (text) => {
    if (signal?.aborted || text === '') return
    if (!out.write(text)) await (aborted ? Promise.race([once(out, 'drain'), aborted]) : once(out, 'drain'))
  }
}

/** A reader of stdout that goes away (`dlq … | head`) aborts `stop`, so the command ends quietly as any filter does. */
export function abortOnEpipe(stop: AbortController): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stop.abort()
    else throw error
  })
}
