/**
 * Persisted, versioned settings (the global DLQ target, per-queue policies). A store keeps
 * one document per key; every change bumps the version by one and is kept in a history.
 * Version 0 means "never set". Stores return data and never print.
 */

/** `global-target`, or `policy:<source topic>`. */
export type SettingKey = string

export const GLOBAL_TARGET_KEY: SettingKey = 'global-target'
export const POLICY_KEY_PREFIX = 'policy:'

export function policyKey(sourceTopic: string): SettingKey {
  return POLICY_KEY_PREFIX + sourceTopic
}

export interface Actor {
  user: string
  host: string
}

/** A setting as stored: `value` is null when never set or cleared. */
export interface StoredSetting {
  version: number
  value: unknown
  updatedAt: string | null
  updatedBy: Actor | null
}

export const NEVER_SET: StoredSetting = Object.freeze({version: 0, value: null, updatedAt: null, updatedBy: null})

/** One applied change, as `history` lists it. */
export interface SettingChange {
  version: number
  fromVersion: number
  value: unknown
  at: string
  by: Actor
}

export interface WriteRequest {
  key: SettingKey
  value: unknown
  /** null: unconditional (still versioned). */
  expectedVersion: number | null
  at: string
  by: Actor
}

export type WriteOutcome = {ok: true; setting: StoredSetting} | {ok: false; current: StoredSetting}

export interface SettingsStore {
  /** How the store is shown to users (no secrets). */
  readonly display: string
  /** What the user should know but that does not stop the command (e.g. a settings topic that does not keep its whole log). */
  readonly warnings?: readonly string[]
  read(key: SettingKey): Promise<StoredSetting>
  /**
   * Applies the write when `expectedVersion` is null or equals the stored version, atomically
   * with respect to every other writer; otherwise changes nothing and returns the current setting.
   */
  write(request: WriteRequest): Promise<WriteOutcome>
  history(key: SettingKey): Promise<SettingChange[]>
  /** Every key with this prefix that has ever been written, with its setting. */
  list(prefix: string): Promise<Array<{key: SettingKey; setting: StoredSetting}>>
  close(): Promise<void>
}
