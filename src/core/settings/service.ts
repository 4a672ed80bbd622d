import {ConflictError, DlqError} from '../errors.js'
import {currentActor} from './actor.js'
import type {Actor, SettingChange, SettingKey, SettingsStore, StoredSetting} from './types.js'

/**
 * What a setting kind must provide: how its stored value is checked on the way out (a store
 * is shared, so what it holds is not trusted blindly) and how the command's document looks.
 */
export interface SettingKind<V, Doc> {
  /** e.g. `the global target`, `the policy of "orders"`. */
  label: string
  parse(value: unknown): V | null
  document(setting: Versioned<V>): Doc
}

export interface Versioned<V> {
  version: number
  value: V | null
  updatedAt: string | null
  updatedBy: Actor | null
}

export interface Change<V> {
  version: number
  fromVersion: number
  value: V | null
  at: string
  by: Actor
}

export interface WriteOptions {
  expectedVersion?: number | null
  by?: Actor
  now?: Date
}

export function typed<V>(kind: SettingKind<V, unknown>, s: StoredSetting): Versioned<V> {
  return {version: s.version, value: kind.parse(s.value), updatedAt: s.updatedAt, updatedBy: s.updatedBy}
}

export async function readSetting<V, Doc>(store: SettingsStore, key: SettingKey, kind: SettingKind<V, Doc>): Promise<Doc> {
  return kind.document(typed(kind, await store.read(key)))
}

/** Writes (or clears, with null) a setting; a version mismatch is a ConflictError carrying the current document. */
export async function writeSetting<V, Doc>(store: SettingsStore, key: SettingKey, kind: SettingKind<V, Doc>, value: V | null, opts: WriteOptions = {}): Promise<Doc> {
  const expectedVersion = opts.expectedVersion ?? null
  const outcome = await store.write({key, value, expectedVersion, at: (opts.now ?? new Date()).toISOString(), by: opts.by ?? currentActor()})
  if (outcome.ok) return kind.document(typed(kind, outcome.setting))
  const current = outcome.current
  throw new ConflictError(
    `${kind.label} is at version ${current.version}, not ${expectedVersion} (--expected-version ${expectedVersion}); nothing was changed. ` +
      `Read it again (get) and retry with --expected-version ${current.version}`,
    kind.document(typed(kind, current)),
  )
}

export async function settingHistory<V>(store: SettingsStore, key: SettingKey, kind: SettingKind<V, unknown>): Promise<Array<Change<V>>> {
  const changes: SettingChange[] = await store.history(key)
  return changes.map((c) => ({version: c.version, fromVersion: c.fromVersion, value: kind.parse(c.value), at: c.at, by: c.by}))
}

export function malformed(label: string, why: string): DlqError {
  return new DlqError(`the store holds a malformed value for ${label}: ${why} (was it written by something other than dlq?)`)
}
