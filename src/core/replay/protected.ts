/**
 * dlq's own topics and streams are never replay targets, whatever a DLQ message claims as its
 * source and whatever `--to` says: a crafted message whose recorded source is the settings topic
 * would otherwise rewrite the global target and forge its history, and one aimed at a ledger
 * would forge replay records. The DLQ itself is refused too (replaying into it loops).
 */
import {configuredStore} from '../settings/store-uri.js'
import type {SourceInfo} from '../reader.js'

const SETTINGS_KAFKA = 'dlq-settings'
const SETTINGS_REDIS_PREFIX = 'dlq:settings'
const LEDGER_SUFFIXES = ['.dlq-replay-ledger', ':dlq-replay-ledger']

export interface ProtectedNames {
  /** The DLQ being replayed (Kafka topic or Redis stream), when it has a name. */
  dlq: string | null
  /** The configured settings store's topic or key prefix (DLQ_STORE, else the active profile's `store`). */
  settings: string[]
}

/** dlq's own names for a replay from `source`: the DLQ itself and the configured settings store. */
export function protectedNames(source: SourceInfo): ProtectedNames {
  const settings = settingsName(configuredStore())
  return {dlq: source.name ?? null, settings: settings === null ? [] : [settings]}
}

/** The topic or key prefix of a settings-store URI (`kafka://…/topic`, `redis://…/prefix`), if any. */
export function settingsName(uri: string | undefined): string | null {
  if (!uri) return null
  const m = uri.match(/^(?:kafka|redis|rediss):\/\/[^/]*\/(?:\d+\/)?([^?#]+)/i)
  return m ? decodeURIComponent(m[1]) : null
}

/** Why `topic` may not be a target, or null when it may. */
export function protectedTarget(topic: string, names: ProtectedNames): string | null {
  if (names.dlq !== null && topic === names.dlq) return `"${topic}" is the DLQ being replayed`
  if (topic === SETTINGS_KAFKA || topic.startsWith(SETTINGS_REDIS_PREFIX) || names.settings.some((s) => topic === s || topic.startsWith(`${s}:`))) {
    return `"${topic}" is dlq's settings store`
  }
  if (LEDGER_SUFFIXES.some((s) => topic.endsWith(s))) return `"${topic}" is a dlq replay ledger`
  return null
}
