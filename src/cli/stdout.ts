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

/**
 * Gathers small writes (a line each) into pieces of ~64 KiB for `write`: one system call per
 * line costs more than making the line (stdout to a pipe or file is written synchronously).
 * `flush` hands on what is left; call it before the end and before waiting for more input.
 */
export function batched(write: (text: string) => Promise<void>, limit = 64 * 1024): {write: (text: string) => Promise<void> | undefined; flush: () => Promise<void>} {
  let parts: string[] = []
  let size = 0
  const flush = () => {
    if (parts.length === 0) return Promise.resolve()
    const text = parts.join('')
    parts = []
    size = 0
    return write(text)
  }
  return {
    write: (text) => {
      parts.push(text)
      size += text.length
      return size >= limit ? flush() : undefined
    },
    flush,
  }
}

/** A reader of stdout that goes away (`dlq … | head`) aborts `stop`, so the command ends quietly as any filter does. */
export function abortOnEpipe(stop: AbortController): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stop.abort()
    else throw error
  })
}

/**
 * Resolves once everything written to `out` so far has been handed to the OS (a pipe whose
 * reader is slower than dlq holds the rest in memory), or the stream failed or is gone. Before
 * the process is ended with process.exit — oclif does after an error — whatever is still
 * queued would be lost: the end of a `--json` document with its error (a CI job reading it got
 * invalid JSON), or the last rows of a table.
 */
export function written(out: Writable): Promise<void> {
  if (out.destroyed || out.writableLength === 0) return Promise.resolve()
  return new Promise((resolve) => {
    try {
      out.write('', () => resolve())
    } catch {
      resolve()
    }
  })
}
