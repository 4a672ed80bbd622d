import {DlqError, UsageError} from '../../core/errors.js'
import {NEVER_SET, type Actor, type SettingChange, type SettingKey, type SettingsStore, type StoredSetting, type WriteOutcome, type WriteRequest} from '../../core/settings/types.js'
import {connect, type RedisConnection} from './connection.js'
import {keyText, parseRedisUri} from './uri.js'

/**
 * Settings in Redis, under a key prefix (default `dlq:settings`, or the URI's path:
 * `redis://host:port/db/PREFIX`). The prefix is a hash tag `{PREFIX}` so every key of one
 * store lands in one cluster slot and the compare-and-set script may touch them all:
 *
 *   {PREFIX}:setting:<key>   hash  version, doc  (doc = {"value","updatedAt","updatedBy"})
 *   {PREFIX}:history:<key>   list  one JSON change per applied write, oldest first
 *   {PREFIX}:keys            set   every setting key ever written (for `policy list`)
 *
 * Compare-and-set runs as one Lua script on the server, so it is atomic against every other
 * writer without WATCH retries.
 */
export const DEFAULT_PREFIX = 'dlq:settings'

// KEYS: setting hash, history list, key set. ARGV: expected version ('' = any), doc JSON,
// setting key, change JSON without its versions (they are known only here).
const CAS_SCRIPT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then
  return {0, cur, redis.call('HGET', KEYS[1], 'doc') or ''}
end
local new = cur + 1
redis.call('HSET', KEYS[1], 'version', new, 'doc', ARGV[2])
redis.call('RPUSH', KEYS[2], '{"version":' .. new .. ',"fromVersion":' .. cur .. ',' .. string.sub(ARGV[4], 2))
redis.call('SADD', KEYS[3], ARGV[3])
return {1, new, ARGV[2]}
`

interface Doc {
  value: unknown
  updatedAt: string | null
  updatedBy: Actor | null
}

export class RedisSettingsStore implements SettingsStore {
  readonly display: string
  private readonly base: string

  constructor(
    private readonly conn: RedisConnection,
    prefix: string,
  ) {
    this.base = `{${prefix}}`
    this.display = conn.target.display
  }

  private settingKey = (key: SettingKey) => `${this.base}:setting:${key}`
  private historyKey = (key: SettingKey) => `${this.base}:history:${key}`
  private get keysKey() {
    return `${this.base}:keys`
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (error) {
      throw this.conn.fail(error)
    }
  }

  private decode(version: string | number | null | undefined, doc: string | null | undefined): StoredSetting {
    const v = Number(version ?? 0)
    if (!v) return NEVER_SET
    const d: Doc = doc ? this.parse(doc) : {value: null, updatedAt: null, updatedBy: null}
    return {version: v, value: d.value ?? null, updatedAt: d.updatedAt ?? null, updatedBy: d.updatedBy ?? null}
  }

  private parse<T>(json: string): T {
    try {
      return JSON.parse(json) as T
    } catch {
      throw new DlqError(`${this.display}: a settings key under ${this.base} holds something that is not JSON (written by something other than dlq?)`)
    }
  }

  async read(key: SettingKey): Promise<StoredSetting> {
    const h = await this.run(() => this.conn.client.hgetall(this.settingKey(key)))
    return this.decode(h.version, h.doc)
  }

  async write(w: WriteRequest): Promise<WriteOutcome> {
    const doc: Doc = {value: w.value, updatedAt: w.at, updatedBy: w.by}
    const change = {value: w.value, at: w.at, by: w.by}
    const reply = (await this.run(() =>
      this.conn.client.eval(
        CAS_SCRIPT,
        3,
        this.settingKey(w.key),
        this.historyKey(w.key),
        this.keysKey,
        w.expectedVersion === null ? '' : String(w.expectedVersion),
        JSON.stringify(doc),
        w.key,
        JSON.stringify(change),
      ),
    )) as [number, number, string]
    const setting = this.decode(reply[1], reply[2])
    return reply[0] === 1 ? {ok: true, setting} : {ok: false, current: setting}
  }

  async history(key: SettingKey): Promise<SettingChange[]> {
    const items = await this.run(() => this.conn.client.lrange(this.historyKey(key), 0, -1))
    return items.map((s) => this.parse(s) as SettingChange)
  }

  async list(prefix: string): Promise<Array<{key: SettingKey; setting: StoredSetting}>> {
    const keys = (await this.run(() => this.conn.client.smembers(this.keysKey))).filter((k) => k.startsWith(prefix)).sort()
    if (keys.length === 0) return []
    const pipeline = this.conn.client.pipeline()
    for (const k of keys) pipeline.hgetall(this.settingKey(k))
    const replies = (await this.run(() => pipeline.exec())) ?? []
    return keys.map((key, i) => {
      const [error, h] = replies[i] as [Error | null, Record<string, string>]
      if (error) throw this.conn.fail(error)
      return {key, setting: this.decode(h.version, h.doc)}
    })
  }

  close(): Promise<void> {
    return this.conn.close()
  }
}

/** `redis[s]://[user[:password]@]host[:port][/db][/prefix]`; credentials as for Redis sources. */
export async function openRedisSettingsStore(uri: string): Promise<SettingsStore> {
  const target = parseRedisUri(uri, {needKey: false})
  if (target.group !== null || target.prefix !== '') throw new UsageError(`settings store "${target.display}": ?group= and ?prefix= do not apply; put the key prefix in the path (redis://host:port/0/PREFIX)`)
  const prefix = target.key === null ? DEFAULT_PREFIX : keyText(target.key)
  if (/[{}]/.test(prefix)) throw new UsageError(`settings store "${target.display}": the key prefix may not contain "{" or "}" (dlq wraps it in a hash tag)`)
  return new RedisSettingsStore(await connect(target), prefix)
}
