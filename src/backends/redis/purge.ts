import type {RedisPurger, StreamGroup} from '../../core/purge.js'
import type {RedisConnection} from './connection.js'
import {streamGroups} from './pending.js'

/**
 * `dlq purge` on a Redis stream DLQ. Deleting is one MULTI per batch (no Lua: it works where
 * scripting is disabled): XACK of the ids in every group of the stream, then XDEL, so no
 * group is left with a pending reference to an entry that no longer exists.
 */
export class RedisStreamPurger implements RedisPurger {
  readonly kind = 'redis' as const

  constructor(
    private readonly conn: RedisConnection,
    private readonly key: Buffer,
  ) {}

  async groups(): Promise<StreamGroup[]> {
    try {
      return await streamGroups(this.conn, this.key)
    } catch (error) {
      throw this.conn.fail(error)
    }
  }

  async pendingAmong(group: string, first: string, last: string, ids: Set<string>): Promise<Set<string>> {
    const out = new Set<string>()
    let start = first
    for (;;) {
      let rows: Array<[string, string, number, number]>
      try {
        rows = (await this.conn.client.xpending(this.key, group, start, last, 1000)) as Array<[string, string, number, number]>
      } catch (error) {
        throw this.conn.fail(error)
      }
      for (const [id] of rows) if (ids.has(id)) out.add(id)
      if (rows.length < 1000) return out
      start = `(${rows.at(-1)![0]}`
    }
  }

  async deleteEntries(ids: string[], groups: string[]): Promise<number> {
    const m = this.conn.client.multi()
    for (const g of groups) m.xack(this.key, g, ...ids)
    m.xdel(this.key, ...ids)
    let res: Array<[Error | null, unknown]> | null
    try {
      res = await m.exec()
    } catch (error) {
      throw this.conn.fail(error)
    }
    if (!res) throw this.conn.fail(new Error('MULTI was aborted'))
    for (const [e] of res) if (e) throw this.conn.fail(e)
    return Number(res.at(-1)![1])
  }

  async close(): Promise<void> {
    await this.conn.close()
  }
}
