import type {ClaimRequest, LedgerEdit, LedgerEntry, LedgerTarget, ReplayLedger} from '../../core/replay/ledger.js'
import type {RedisConnection} from './connection.js'
import {keyText} from './uri.js'

/**
 * The replay ledger of a Redis stream DLQ: one hash beside the stream,
 * `<stream>:dlq-replay-ledger`, a field per DLQ position holding the entry as JSON.
 * Claims are one Lua script per batch, so claiming is atomic on the server: two replays at
 * once can never both hold a position. Per position: its entry, and the run whose unconfirmed
 * claim it takes over ('' for none; ledger.ts claimTakes).
 */
const CLAIM = `
local held = {}
for i = 1, #ARGV, 3 do
  local pos = ARGV[i]
  local entry = ARGV[i + 1]
  local over = ARGV[i + 2]
  local cur = redis.call('HGET', KEYS[1], pos)
  local ok = cur == false
  if not ok then
    local decoded = cjson.decode(cur)
    ok = decoded.runId == KEYS[2]
    if not ok then
      if over ~= '' then
        ok = decoded.runId == over and decoded.state == 'claimed'
      else
        ok = KEYS[3] == '1'
      end
    end
  end
  if ok then
    redis.call('HSET', KEYS[1], pos, entry)
    table.insert(held, pos)
  end
end
return held`

const RELEASE = `
local n = 0
for i = 1, #ARGV do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur ~= false then
    local decoded = cjson.decode(cur)
    if decoded.runId == KEYS[2] and decoded.state == 'claimed' then
      redis.call('HDEL', KEYS[1], ARGV[i])
      n = n + 1
    end
  end
end
return n`

export class RedisLedger implements ReplayLedger {
  private readonly key: Buffer

  constructor(
    private readonly conn: RedisConnection,
    stream: Buffer,
  ) {
    this.key = Buffer.concat([stream, Buffer.from(':dlq-replay-ledger')])
  }

  get where(): string {
    return `${this.conn.target.display.replace(/(:\d+\/\d+)\/.*$/, '$1')} key "${keyText(this.key)}"`
  }

  async read(positions: string[]): Promise<Map<string, LedgerEntry>> {
    const out = new Map<string, LedgerEntry>()
    for (let i = 0; i < positions.length; i += 1000) {
      const chunk = positions.slice(i, i + 1000)
      let values: Array<string | null>
      try {
        values = chunk.length === 0 ? [] : await this.conn.client.hmget(this.key, ...chunk)
      } catch (error) {
        throw this.conn.fail(error)
      }
      values.forEach((v, k) => {
        if (v !== null) out.set(chunk[k], JSON.parse(v))
      })
    }
    return out
  }

  async claim(entries: ClaimRequest[], runId: string, force: boolean): Promise<Set<string>> {
    const at = new Date().toISOString()
    const args = entries.flatMap((e) => {
      const entry: LedgerEntry = {position: e.position, state: 'claimed', runId, target: e.target, mark: e.mark, offset: null, at, ...(e.edit ? {edit: e.edit} : {})}
      return [e.position, JSON.stringify(entry), e.over ?? '']
    })
    if (args.length === 0) return new Set()
    try {
      const held = (await this.conn.client.eval(CLAIM, 3, this.key, runId, force ? '1' : '0', ...args)) as string[]
      return new Set(held)
    } catch (error) {
      throw this.conn.fail(error)
    }
  }

  async complete(entries: Array<{position: string; target: LedgerTarget; offset: string; edit?: LedgerEdit}>, runId: string): Promise<void> {
    if (entries.length === 0) return
    const at = new Date().toISOString()
    const fields = entries.flatMap((e) => {
      const entry: LedgerEntry = {position: e.position, state: 'done', runId, target: e.target, mark: null, offset: e.offset, at, ...(e.edit ? {edit: e.edit} : {})}
      return [e.position, JSON.stringify(entry)]
    })
    try {
      await this.conn.client.hset(this.key, ...fields)
    } catch (error) {
      throw this.conn.fail(error)
    }
  }

  async release(positions: string[], runId: string): Promise<void> {
    if (positions.length === 0) return
    try {
      await this.conn.client.eval(RELEASE, 2, this.key, runId, ...positions)
    } catch (error) {
      throw this.conn.fail(error)
    }
  }

  async close(): Promise<void> {
    await this.conn.close()
  }
}
