import {UsageError} from '../../core/errors.js'

/**
 * Kafka positions and the paging cursor (docs/kafka.md, "Positions and paging").
 *
 * A message's position is `P:O` (partition P, offset O). Pages walk the partitions a source
 * reads in ascending order, each from its cursor offset to its end, so the order is fixed
 * and a page never depends on how fast partitions grew.
 *
 * A cursor (what `next` returns and `--from` accepts) lists where to go on in each
 * partition: `0:120,1:55,2:37`. Resuming with it is exact: every partition continues from
 * its own offset, so records appended to a partition already read show up on a later page
 * instead of being skipped. For a partition that a cursor does not list the rule is: before
 * the first listed partition it counts as read (resumes at its current end), after it, it
 * starts at its log start. A single `P:O` is therefore "start at P:O, then the later
 * partitions from their beginning". A plain `O` means `P:O` when exactly one partition is
 * read (a one-partition topic, or `?partition=P`).
 */
export type Cursor = Map<number, number>

const ENTRY_RE = /^(\d{1,10}):(\d{1,16})$/

function offsetNumber(text: string, input: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new UsageError(`position "${input}": offset ${text} is too large`)
  return n
}

/**
 * Parses `P:O`, `O` or a cursor `P:O,P:O,…`. `readable` are the partitions the source reads
 * (ascending); a partition outside them is an error, never mapped to another one.
 */
export function parseCursor(text: string, readable: readonly number[], topic: string): Cursor {
  const input = text.trim()
  if (input === '') throw new UsageError('position is empty: a Kafka position is PARTITION:OFFSET (e.g. 0:42)')
  if (/^\d+$/.test(input)) {
    if (readable.length !== 1) {
      throw new UsageError(`position "${text}": ${topic} has ${readable.length} partitions to read, so give PARTITION:OFFSET (e.g. ${readable[0] ?? 0}:${input})`)
    }
    return new Map([[readable[0], offsetNumber(input, text)]])
  }
  const cursor: Cursor = new Map()
  for (const part of input.split(',')) {
    const m = part.trim().match(ENTRY_RE)
    if (!m) throw new UsageError(`position "${text}": "${part.trim()}" is not PARTITION:OFFSET (e.g. 0:42)`)
    const p = Number(m[1])
    if (!readable.includes(p)) {
      throw new UsageError(`position "${text}": partition ${p} is not one this source reads (${readable.length === 1 ? `only ${readable[0]}` : `0…${readable.at(-1)}`}${readable.length > 1 && readable.length !== (readable.at(-1) ?? 0) + 1 ? `: ${readable.join(',')}` : ''})`)
    }
    if (cursor.has(p)) throw new UsageError(`position "${text}": partition ${p} is named twice`)
    cursor.set(p, offsetNumber(m[2], text))
  }
  return new Map([...cursor].sort((a, b) => a[0] - b[0]))
}

export function formatCursor(cursor: Cursor): string {
  return [...cursor].map(([p, o]) => `${p}:${o}`).join(',')
}

export function formatPosition(partition: number, offset: number): string {
  return `${partition}:${offset}`
}

/** The one message a position names: `P:O` only (a cursor of several partitions is not one message). */
export function singlePosition(cursor: Cursor, text: string): {partition: number; offset: number} {
  if (cursor.size !== 1) throw new UsageError(`position "${text}": names ${cursor.size} partitions; one message is PARTITION:OFFSET`)
  const [[partition, offset]] = cursor
  return {partition, offset}
}
