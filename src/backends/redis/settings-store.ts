import {DlqError, UnavailableError, UsageError} from '../../core/errors.js'
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
 *
 * A key of these names that holds something else (another type, a hash with other fields) is
 * not ours: it is refused before anything is written, since a Lua script is not rolled back
 * when a command in it fails halfway, and reads say so rather than report "never set".
 */
export const DEFAULT_PREFIX = 'dlq:settings'
const SETTING_FIELDS = ['doc', 'version']

// KEYS: setting hash, history list, key set. ARGV: expected version ('' = any), doc JSON,
// setting key, change JSON without its versions (they are known only here).
// Replies {1, version, doc} applied, {0, version, doc} conflict, {-1, key, what} not a settings key.
const CAS_SCRIPT = `
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'hash' then
  if redis.call('HLEN', KEYS[1]) ~= 2 or not tonumber(redis.call('HGET', KEYS[1], 'version') or '') or redis.call('HEXISTS', KEYS[1], 'doc') == 0 then
    return {-1, KEYS[1], 'hash with other fields'}
  end
elseif t ~= 'none' then
  return {-1, KEYS[1], t}
end
for i, want in ipairs({'list', 'set'}) do
  local u = redis.call('TYPE', KEYS[i + 1])['ok']
  if u ~= 'none' and u ~= want then return {-1, KEYS[i + 1], u} end
end
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

  /** `key`: the one key `op` reads, named in the error when it turns out to hold another type. */
  private async run<T>(op: () => Promise<T>, key?: string): Promise<T> {
    try {
      return await op()
    } catch (error) {
      if (key !== undefined && /WRONGTYPE/.test(String((error as Error)?.message))) {
        throw this.notSettingsKey(key, await this.conn.client.type(key).catch(() => 'another type'))
      }
      throw this.conn.fail(error)
    }
  }

  private notSettingsKey(key: string, what: string): DlqError {
    return new UnavailableError(
      `${this.display}: key ${JSON.stringify(key)} holds a ${what}, not dlq settings (a hash of "version" and "doc", a list of changes, a set of keys): ` +
        `something else uses the names under ${this.base}, and dlq neither reads settings from them nor writes them there. ` +
        `Check --store / DLQ_STORE (its path is the key prefix, default ${DEFAULT_PREFIX})`,
    )
  }

  /** A setting hash as stored, refused when it is not one of ours. */
  private settingOf(key: string, h: Record<string, string>): StoredSetting {
    const fields = Object.keys(h).sort()
    if (fields.length > 0 && (fields.join() !== SETTING_FIELDS.join() || !Number.isSafeInteger(Number(h.version)))) throw this.notSettingsKey(key, 'hash with other fields')
    return this.decode(h.version, h.doc)
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
    const k = this.settingKey(key)
    return this.settingOf(k, await this.run(() => this.conn.client.hgetall(k), k))
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
    )) as [number, number | string, string]
    if (reply[0] === -1) throw this.notSettingsKey(String(reply[1]), reply[2])
    const setting = this.decode(reply[1], reply[2])
    return reply[0] === 1 ? {ok: true, setting} : {ok: false, current: setting}
  }

  async history(key: SettingKey): Promise<SettingChange[]> {
    const k = this.historyKey(key)
    const items = await this.run(() => this.conn.client.lrange(k, 0, -1), k)
    return items.map((s) => this.parse(s) as SettingChange)
  }

  async list(prefix: string): Promise<Array<{key: SettingKey; setting: StoredSetting}>> {
    const keys = (await this.run(() => this.conn.client.smembers(this.keysKey), this.keysKey)).filter((k) => k.startsWith(prefix)).sort()
    if (keys.length === 0) return []
    const pipeline = this.conn.client.pipeline()
    for (const k of keys) pipeline.hgetall(this.settingKey(k))
    const replies = (await this.run(() => pipeline.exec())) ?? []
    return keys.map((key, i) => {
      const [error, h] = replies[i] as [Error | null, Record<string, string>]
      if (error) throw /WRONGTYPE/.test(error.message) ? this.notSettingsKey(this.settingKey(key), 'value of another type') : this.conn.fail(error)
      return {key, setting: this.settingOf(this.settingKey(key), h)}
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
