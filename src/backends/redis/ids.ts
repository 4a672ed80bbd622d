import {UsageError} from '../../core/errors.js'

/** Stream entry ids are `<ms>-<seq>`, both unsigned 64-bit. */
const U64_MAX = (1n << 64n) - 1n
const ID_RE = /^(\d{1,20})(?:-(\d{1,20}))?$/

export interface StreamId {
  ms: bigint
  seq: bigint
}

/** A user-given position: `1700000000000-0`, or a bare `1700000000000` meaning `-0`. */
export function parsePosition(text: string): string {
  const m = text.trim().match(ID_RE)
  const ms = m ? BigInt(m[1]) : -1n
  const seq = m?.[2] === undefined ? 0n : BigInt(m[2])
  if (!m || ms > U64_MAX || seq > U64_MAX) {
    throw new UsageError(`position "${text}": a Redis stream position is an entry id like 1700000000000-0 (milliseconds-sequence)`)
  }
  return `${ms}-${seq}`
}

export function splitId(id: string): StreamId {
  const dash = id.indexOf('-')
  return {ms: BigInt(id.slice(0, dash)), seq: BigInt(id.slice(dash + 1))}
}

export function compareIds(a: string, b: string): number {
  const x = splitId(a)
  const y = splitId(b)
  if (x.ms !== y.ms) return x.ms < y.ms ? -1 : 1
  return x.seq === y.seq ? 0 : x.seq < y.seq ? -1 : 1
}

/**
 * The smallest id after `id`, so an inclusive range from it continues right after `id`.
 * Used instead of Redis 6.2's exclusive `(id` so older servers page the same way. Null
 * only after the largest possible id.
 */
export function idAfter(id: string): string | null {
  const {ms, seq} = splitId(id)
  if (seq < U64_MAX) return `${ms}-${seq + 1n}`
  return ms < U64_MAX ? `${ms + 1n}-0` : null
}

/** The time part of an id, epoch ms (ids written by Redis itself use its clock). */
export function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')))
}

/**
 * How far the id range for --since is widened. A record's time is not always the time Redis
 * wrote it: a hyperi entry carries its failure time, stamped by the writer's clock before the
 * XADD (which may run a little ahead of the server's). The widened id range only bounds the
 * read; the filter still makes the exact cut on the record time.
 */
export const TIME_SLACK_MS = 60_000

/**
 * The first id --since (epoch ms, inclusive) can match at, or null without one. --until has no
 * id: a record's own time comes before its XADD — by seconds, or by the hours a writer held it
 * through an outage — so an entry added after --until may still be at or before it, and
 * --until is cut by the filter alone, reading to the end of the stream.
 */
export function sinceId(since: number | null): string | null {
  return since === null ? null : `${BigInt(Math.max(0, Math.floor(since) - TIME_SLACK_MS))}-0`
}
