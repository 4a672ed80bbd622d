import {isDeepStrictEqual} from 'node:util'
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

/** A write's result: `changed` false when the setting already had that value and nothing was written. */
export interface Written<Doc> {
  document: Doc
  changed: boolean
}

export function typed<V>(kind: SettingKind<V, unknown>, s: StoredSetting): Versioned<V> {
  return {version: s.version, value: kind.parse(s.value), updatedAt: s.updatedAt, updatedBy: s.updatedBy}
}

export async function readSetting<V, Doc>(store: SettingsStore, key: SettingKey, kind: SettingKind<V, Doc>): Promise<Doc> {
  return kind.document(typed(kind, await store.read(key)))
}

/**
 * Writes (or clears, with null) a setting; a version mismatch is a ConflictError carrying the
 * current document. Re-applying the value the setting already has is not a change: nothing is
 * written and the current version stands, so a deploy script that applies its settings on every
 * run does not bump the version under another job's --expected-version. The check reads first:
 * a no-op is then exactly a read at that moment, and a value that differs goes through the
 * store's own atomic compare-and-set as before.
 */
export async function writeSetting<V, Doc>(store: SettingsStore, key: SettingKey, kind: SettingKind<V, Doc>, value: V | null, opts: WriteOptions = {}): Promise<Written<Doc>> {
  const expectedVersion = opts.expectedVersion ?? null
  const stored = await store.read(key)
  if (expectedVersion !== null && stored.version !== expectedVersion) throw conflict(kind, expectedVersion, stored)
  if (sameValue(kind, stored, value)) return {document: kind.document(typed(kind, stored)), changed: false}
  const outcome = await store.write({key, value, expectedVersion, at: (opts.now ?? new Date()).toISOString(), by: opts.by ?? currentActor()})
  if (outcome.ok) return {document: kind.document(typed(kind, outcome.setting)), changed: true}
  throw conflict(kind, expectedVersion, outcome.current)
}

/** Whether `value` is what the setting already holds (never set and cleared both hold null). */
function sameValue<V>(kind: SettingKind<V, unknown>, stored: StoredSetting, value: V | null): boolean {
  try {
    return isDeepStrictEqual(kind.parse(stored.value), value)
  } catch {
    // A malformed stored value is never "the same": writing over it is how it gets repaired.
    return false
  }
}

function conflict<V, Doc>(kind: SettingKind<V, Doc>, expectedVersion: number | null, current: StoredSetting): ConflictError {
  return new ConflictError(
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
