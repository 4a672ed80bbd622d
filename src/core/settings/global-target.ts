import {validateGroup, validateTopic} from './names.js'
import {malformed, readSetting, settingHistory, writeSetting, type Change, type SettingKind, type Versioned, type WriteOptions, type Written} from './service.js'
import {GLOBAL_TARGET_KEY, type Actor, type SettingsStore} from './types.js'

/** Where dead messages go when a queue's policy is `global`. Fibril's shape, minus `part`. */
export interface GlobalTarget {
  topic: string
  group: string | null
}

/** `get --json`: stable key order (schemas/global-target.schema.json). */
export interface GlobalTargetDocument {
  version: number
  target: GlobalTarget | null
  updatedAt: string | null
  updatedBy: Actor | null
}

export interface GlobalTargetChange {
  version: number
  fromVersion: number
  target: GlobalTarget | null
  at: string
  by: Actor
}

export function globalTarget(topic: string, group?: string | null): GlobalTarget {
  return {topic: validateTopic(topic, 'topic'), group: group === undefined || group === null ? null : validateGroup(group, '--group')}
}

const LABEL = 'the global target'

export const globalTargetKind: SettingKind<GlobalTarget, GlobalTargetDocument> = {
  label: LABEL,
  parse(value) {
    if (value === null || value === undefined) return null
    const v = value as GlobalTarget
    if (typeof v !== 'object' || typeof v.topic !== 'string' || !(v.group === null || v.group === undefined || typeof v.group === 'string')) {
      throw malformed(LABEL, 'expected {topic, group}')
    }
    return {topic: v.topic, group: v.group ?? null}
  },
  document: (s: Versioned<GlobalTarget>) => ({version: s.version, target: s.value, updatedAt: s.updatedAt, updatedBy: s.updatedBy}),
}

export function getGlobalTarget(store: SettingsStore): Promise<GlobalTargetDocument> {
  return readSetting(store, GLOBAL_TARGET_KEY, globalTargetKind)
}

/** `target` null clears it. Setting the target it already has (or clearing none) writes nothing: `changed` is false. */
export function setGlobalTarget(store: SettingsStore, target: GlobalTarget | null, opts?: WriteOptions): Promise<Written<GlobalTargetDocument>> {
  return writeSetting(store, GLOBAL_TARGET_KEY, globalTargetKind, target, opts)
}

export async function globalTargetHistory(store: SettingsStore): Promise<GlobalTargetChange[]> {
  const changes: Array<Change<GlobalTarget>> = await settingHistory(store, GLOBAL_TARGET_KEY, globalTargetKind)
  return changes.map((c) => ({version: c.version, fromVersion: c.fromVersion, target: c.value, at: c.at, by: c.by}))
}
