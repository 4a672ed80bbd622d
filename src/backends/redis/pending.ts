import {UnavailableError} from '../../core/errors.js'
import type {DecodedRecord} from '../../core/record.js'
import type {RedisConnection} from './connection.js'
import {idAfter} from './ids.js'
import {keyText} from './uri.js'

export interface Delivery {
  count: number
  group: string
}

type PendingReply = Array<[string, string, number, number]>

export interface StreamGroupInfo {
  name: string
  /** Entries delivered to the group's consumers and not acknowledged yet. */
  pending: number
  /** The last entry id the group has been handed. */
  lastDelivered: string
}

/**
 * XINFO GROUPS of a stream, each group's flat field, value, … list read into a StreamGroupInfo.
 * An error is the client's, as it came, for the caller to tell (RedisConnection.fail) or pass over.
 */
export async function streamGroups(conn: RedisConnection, key: Buffer): Promise<StreamGroupInfo[]> {
  const reply = (await conn.client.xinfo('GROUPS', key)) as unknown[][]
  return reply.map((flat) => {
    const o: Record<string, unknown> = {}
    for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = flat[i + 1]
    return {name: String(o.name ?? ''), pending: Number(o.pending ?? 0), lastDelivered: String(o['last-delivered-id'] ?? '0-0')}
  })
}

/**
 * Delivery counts from XPENDING, the retry count of Redis consumer-group DLQ patterns
 * (conventions.md §8). With `?group=NAME` only that group counts; otherwise every group of
 * the stream with pending entries is asked and the largest count wins (the group that
 * struggled most with the entry). Entries no group has pending have no known count.
 * XPENDING and XINFO only read: no group is joined, nothing is claimed or acknowledged.
 */
export class PendingCounts {
  private constructor(
    private readonly conn: RedisConnection,
    readonly groups: string[],
  ) {}

  static async load(conn: RedisConnection): Promise<PendingCounts> {
    const key = conn.target.key!
    let groups: StreamGroupInfo[]
    try {
      groups = await streamGroups(conn, key)
    } catch (error) {
      // A user allowed XRANGE but not XINFO still gets the entries, without delivery counts.
      if (String((error as Error).message).startsWith('NOPERM')) return new PendingCounts(conn, [])
      throw conn.fail(error)
    }
    const wanted = conn.target.group
    if (wanted !== null) {
      if (!groups.some((g) => g.name === wanted)) {
        throw new UnavailableError(
          `stream "${keyText(key)}" has no consumer group "${wanted}" (groups: ${groups.map((g) => g.name).join(', ') || 'none'})`,
        )
      }
      return new PendingCounts(conn, [wanted])
    }
    return new PendingCounts(conn, groups.filter((g) => g.pending > 0).map((g) => g.name))
  }

  /** The same groups asked on another connection (a follow's own, which it opens again after losing it). */
  on(conn: RedisConnection): PendingCounts {
    return new PendingCounts(conn, this.groups)
  }

  /** Delivery counts of the pending entries with ids in [first, last] (at most `n` stream entries). */
  async range(first: string, last: string, n: number): Promise<Map<string, Delivery> | null> {
    if (this.groups.length === 0) return null
    const found = new Map<string, Delivery>()
    const key = this.conn.target.key!
    // The pending list may still hold ids that were deleted from the stream: page on past them.
    const count = n + 64
    let todo = this.groups.map((g) => ({group: g, start: first}))
    while (todo.length > 0) {
      const pipe = this.conn.client.pipeline()
      for (const t of todo) pipe.xpending(key, t.group, t.start, last, count)
      const replies = await this.exec(pipe)
      const more: typeof todo = []
      replies.forEach((reply, i) => {
        const rows = reply as PendingReply
        for (const [id, , , deliveries] of rows) this.note(found, id, Number(deliveries), todo[i].group)
        const after = rows.length === count ? idAfter(rows[rows.length - 1][0]) : null
        if (after !== null) more.push({group: todo[i].group, start: after})
      })
      todo = more
    }
    return found
  }

  /** Delivery counts of exactly these ids (replay's get()). */
  async ids(ids: string[]): Promise<Map<string, Delivery> | null> {
    if (this.groups.length === 0 || ids.length === 0) return null
    const key = this.conn.target.key!
    const pipe = this.conn.client.pipeline()
    const asked: Array<{id: string; group: string}> = []
    for (const id of ids) {
      for (const group of this.groups) {
        pipe.xpending(key, group, id, id, 1)
        asked.push({id, group})
      }
    }
    const replies = await this.exec(pipe)
    const found = new Map<string, Delivery>()
    replies.forEach((reply, i) => {
      for (const [id, , , deliveries] of reply as PendingReply) this.note(found, id, Number(deliveries), asked[i].group)
    })
    return found
  }

  private note(found: Map<string, Delivery>, id: string, count: number, group: string): void {
    const prev = found.get(id)
    if (!prev || count > prev.count) found.set(id, {count, group})
  }

  private async exec(pipe: ReturnType<RedisConnection['client']['pipeline']>): Promise<unknown[]> {
    let results: Array<[Error | null, unknown]> | null
    try {
      results = await pipe.exec()
    } catch (error) {
      throw this.conn.fail(error)
    }
    return (results ?? []).map(([error, reply]) => {
      if (error) throw this.conn.fail(error)
      return reply
    })
  }
}

/** Retries from a delivery count, only where the record's own convention gave none. */
export function applyDelivery(rec: DecodedRecord, deliveries: Map<string, Delivery> | null): void {
  const d = deliveries?.get(rec.position)
  if (!d) return
  rec.metadata['redis.delivery-count'] = d.count
  rec.metadata['redis.delivery-group'] = d.group
  if (rec.retries === null) rec.retries = d.count
}
