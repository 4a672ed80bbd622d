import {NEVER_SET, type Actor, type SettingChange, type SettingKey, type StoredSetting, type WriteRequest} from './types.js'

/**
 * A settings log (the Kafka settings topic) holds write *attempts*, not results. Each record
 * carries the version its writer expected; the state is the log folded in order, applying
 * only writes whose expected version matched (or that expected nothing). Every reader folds
 * the same log the same way, so all agree on who won without any lock: a writer reads back
 * to its own record and sees whether it was applied.
 */
export const LOG_FORMAT = 1

export interface LogWrite {
  format: typeof LOG_FORMAT
  key: SettingKey
  expectedVersion: number | null
  value: unknown
  at: string
  by: Actor
}

export function encodeLogWrite(w: WriteRequest): Buffer {
  const record: LogWrite = {format: LOG_FORMAT, key: w.key, expectedVersion: w.expectedVersion, value: w.value, at: w.at, by: w.by}
  return Buffer.from(JSON.stringify(record), 'utf8')
}

function isActor(x: unknown): x is Actor {
  const a = x as Actor
  return typeof a === 'object' && a !== null && typeof a.user === 'string' && typeof a.host === 'string'
}

/** null for anything that is not a well-formed write of a format we know: skipped, never fatal. */
export function decodeLogWrite(buf: Buffer | null | undefined): LogWrite | null {
  if (!buf || buf.length === 0) return null
  let x: LogWrite
  try {
    x = JSON.parse(buf.toString('utf8'))
  } catch {
    return null
  }
  if (typeof x !== 'object' || x === null || x.format !== LOG_FORMAT) return null
  if (typeof x.key !== 'string' || typeof x.at !== 'string' || !isActor(x.by)) return null
  const ev = x.expectedVersion
  if (ev !== null && !(Number.isSafeInteger(ev) && ev >= 0)) return null
  return {format: LOG_FORMAT, key: x.key, expectedVersion: ev, value: x.value ?? null, at: x.at, by: {user: x.by.user, host: x.by.host}}
}

/**
 * Whether a record of a settings log was written by a dlq settings writer of any format: a JSON
 * object with a whole-number `format` and a `key` equal to the record's own key (the writer sets
 * both). Such a record that this version cannot read (a newer format) is skipped by the fold;
 * any other record means the log is not a settings log but some other topic (a DLQ, an
 * application's), whose consumers would receive whatever settings dlq wrote into it.
 */
export function isSettingsRecord(key: Buffer | null | undefined, value: Buffer | null | undefined): boolean {
  if (!key || !value || value.length === 0 || value[0] !== 0x7b /* { */) return false
  let x: {format?: unknown; key?: unknown}
  try {
    x = JSON.parse(value.toString('utf8'))
  } catch {
    return false
  }
  return typeof x === 'object' && x !== null && Number.isSafeInteger(x.format) && (x.format as number) >= 1 && typeof x.key === 'string' && x.key === key.toString('utf8')
}

const bytes = (n: number) => `${n} byte${n === 1 ? '' : 's'}`

/** What a record that is not a settings record holds, for an error message (no content: it is untrusted and may be secret). */
export function describeForeignRecord(key: Buffer | null | undefined, value: Buffer | null | undefined): string {
  const keyText = key ? `a key of ${bytes(key.length)}` : 'no key'
  if (!value || value.length === 0) return `${keyText} and no value`
  let json: unknown
  try {
    json = JSON.parse(value.toString('utf8'))
  } catch {
    return `${keyText} and a value of ${bytes(value.length)} that is not JSON`
  }
  const what = Array.isArray(json) ? 'a JSON array' : json === null || typeof json !== 'object' ? `JSON ${json === null ? 'null' : typeof json}` : 'a JSON object that is not a dlq settings write'
  return `${keyText} and a value of ${bytes(value.length)}: ${what}`
}

export type FoldOutcome = 'applied' | 'rejected' | 'ignored'

export class SettingsFold {
  readonly settings = new Map<SettingKey, StoredSetting>()
  readonly changes = new Map<SettingKey, SettingChange[]>()

  get(key: SettingKey): StoredSetting {
    return this.settings.get(key) ?? NEVER_SET
  }

  apply(buf: Buffer | null | undefined): FoldOutcome {
    const w = decodeLogWrite(buf)
    if (!w) return 'ignored'
    const current = this.get(w.key)
    if (w.expectedVersion !== null && w.expectedVersion !== current.version) return 'rejected'
    const version = current.version + 1
    this.settings.set(w.key, {version, value: w.value, updatedAt: w.at, updatedBy: w.by})
    let list = this.changes.get(w.key)
    if (!list) this.changes.set(w.key, (list = []))
    list.push({version, fromVersion: current.version, value: w.value, at: w.at, by: w.by})
    return 'applied'
  }
}
