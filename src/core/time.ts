import {UsageError} from './errors.js'

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}
const RELATIVE_RE = /^([+-])?(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/
const ISO_RE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/**
 * A time given by a user: ISO 8601 (`2026-11-22T10:00:00Z`, a date alone is midnight UTC),
 * epoch seconds (9–11 digits) or milliseconds (12–16 digits), `now`, or relative to now
 * (`-2h`, `-30m`, `-7d`; a bare `2h` means ago). Ten digits are seconds because that is what
 * `date +%s` prints; read as milliseconds they would silently mean January 1970.
 */
export function parseTime(text: string, what: string, now = Date.now()): number {
  const s = text.trim()
  if (s === 'now') return now
  const rel = s.match(RELATIVE_RE)
  if (rel) {
    const delta = Number(rel[2]) * UNIT_MS[rel[3]]
    return rel[1] === '+' ? now + delta : now - delta
  }
  if (/^\d{12,16}$/.test(s)) return Number(s)
  if (/^\d{9,11}$/.test(s)) return Number(s) * 1000
  if (ISO_RE.test(s)) {
    const withZone = /[T ]\d{2}:\d{2}/.test(s) && !/(Z|[+-]\d{2}:?\d{2})$/.test(s) ? `${s}Z` : s
    const t = Date.parse(withZone)
    if (!Number.isNaN(t)) return t
  }
  throw new UsageError(`${what}: "${text}" is not a time (use ISO 8601 like 2026-11-22T10:00:00Z, epoch ms, or relative like -2h, -30m, -7d)`)
}

/** The largest epoch ms a JavaScript Date can hold (±100,000,000 days). */
export const MAX_TIME_MS = 8_640_000_000_000_000

/**
 * A stored timestamp as a time, or null when it cannot be one: not an integer, beyond what a
 * Date holds, or negative. Negative follows Kafka, where -1 means "no timestamp"; every
 * store shows such a record the same way ("-", null in JSON).
 */
export function validTime(ms: number | null): number | null {
  if (ms === null || !Number.isSafeInteger(ms) || ms < 0 || ms > MAX_TIME_MS) return null
  return ms
}

/** Sleeps `ms`, or less when `signal` aborts (a follow waiting for news must stop at Ctrl-C at once). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })
}

/**
 * `p`, or the error `late()` makes once `ms` have passed without it settling; the timer is
 * cleared either way. `unref`: the wait alone does not keep the process alive (leave it off
 * when nothing else would: a promise that never settles must still time out).
 */
export function withDeadline<T>(p: PromiseLike<T>, ms: number, late: () => Error, opts: {unref?: boolean} = {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms)
    if (opts.unref) timer.unref()
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}
