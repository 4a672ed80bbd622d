import {UsageError} from '../errors.js'
import {validateGroup, validateTopic} from './names.js'
import {malformed, readSetting, settingHistory, typed, writeSetting, type Change, type SettingKind, type Versioned, type WriteOptions, type Written} from './service.js'
import {POLICY_KEY_PREFIX, policyKey, type Actor, type SettingsStore} from './types.js'

/**
 * What happens to a source queue's messages once retries are exhausted: dropped (`discard`),
 * sent to the global target (`global`), or sent to a topic of its own (`custom`).
 */
export const DLQ_MODES = ['discard', 'global', 'custom'] as const
export type DlqMode = (typeof DLQ_MODES)[number]

export const MAX_RETRIES_LIMIT = 1_000_000

export interface Policy {
  dlq: DlqMode
  /** custom only. */
  dlqTopic: string | null
  /** custom only: the consumer group that works the custom DLQ topic. */
  group: string | null
  /** null: the consuming system's default. */
  maxRetries: number | null
}

export interface PolicyDocument {
  sourceTopic: string
  version: number
  policy: Policy | null
  updatedAt: string | null
  updatedBy: Actor | null
}

export interface PolicyInput {
  dlq: string
  dlqTopic?: string
  group?: string
  maxRetries?: number
}

/** `sourceTopic`: the queue the policy is for (its dead messages must go somewhere else). */
export function buildPolicy(input: PolicyInput, sourceTopic?: string): Policy {
  if (!(DLQ_MODES as readonly string[]).includes(input.dlq)) throw new UsageError(`--dlq ${input.dlq}: expected one of ${DLQ_MODES.join(', ')}`)
  const dlq = input.dlq as DlqMode
  if (dlq === 'custom' && input.dlqTopic === undefined) throw new UsageError('--dlq custom needs --dlq-topic TOPIC (the topic dead messages go to)')
  if (dlq === 'custom' && sourceTopic !== undefined && input.dlqTopic === sourceTopic) {
    throw new UsageError(`--dlq-topic ${input.dlqTopic}: that is the queue the policy is for; its dead messages would go back into it and be consumed (and fail) again`)
  }
  if (dlq !== 'custom' && input.dlqTopic !== undefined) throw new UsageError(`--dlq-topic only goes with --dlq custom (with --dlq ${dlq} there is no topic of its own)`)
  if (dlq !== 'custom' && input.group !== undefined) throw new UsageError(`--group only goes with --dlq custom (it names the group of the custom DLQ topic)`)
  const maxRetries = input.maxRetries ?? null
  if (maxRetries !== null && (!Number.isSafeInteger(maxRetries) || maxRetries < 0 || maxRetries > MAX_RETRIES_LIMIT)) {
    throw new UsageError(`--max-retries ${maxRetries}: must be a whole number from 0 to ${MAX_RETRIES_LIMIT}`)
  }
  return {
    dlq,
    dlqTopic: input.dlqTopic === undefined ? null : validateTopic(input.dlqTopic, '--dlq-topic'),
    group: input.group === undefined ? null : validateGroup(input.group, '--group'),
    maxRetries,
  }
}

function kindFor(sourceTopic: string): SettingKind<Policy, PolicyDocument> {
  const label = `the policy of ${JSON.stringify(sourceTopic)}`
  const str = (x: unknown) => x === null || x === undefined || typeof x === 'string'
  return {
    label,
    parse(value) {
      if (value === null || value === undefined) return null
      const v = value as Policy
      const ok =
        typeof v === 'object' &&
        (DLQ_MODES as readonly string[]).includes(v.dlq) &&
        str(v.dlqTopic) &&
        str(v.group) &&
        (v.maxRetries === null || v.maxRetries === undefined || Number.isSafeInteger(v.maxRetries))
      if (!ok) throw malformed(label, 'expected {dlq, dlqTopic, group, maxRetries}')
      return {dlq: v.dlq, dlqTopic: v.dlqTopic ?? null, group: v.group ?? null, maxRetries: v.maxRetries ?? null}
    },
    document: (s: Versioned<Policy>) => ({sourceTopic, version: s.version, policy: s.value, updatedAt: s.updatedAt, updatedBy: s.updatedBy}),
  }
}

export function getPolicy(store: SettingsStore, sourceTopic: string): Promise<PolicyDocument> {
  validateTopic(sourceTopic, 'source topic')
  return readSetting(store, policyKey(sourceTopic), kindFor(sourceTopic))
}

/** Setting the policy it already has writes nothing: `changed` is false. */
export function setPolicy(store: SettingsStore, sourceTopic: string, policy: Policy, opts?: WriteOptions): Promise<Written<PolicyDocument>> {
  validateTopic(sourceTopic, 'source topic')
  return writeSetting(store, policyKey(sourceTopic), kindFor(sourceTopic), policy, opts)
}

/** Removes the policy of `sourceTopic`: a versioned, recorded change like a set (none when there is no policy to remove). */
export function clearPolicy(store: SettingsStore, sourceTopic: string, opts?: WriteOptions): Promise<Written<PolicyDocument>> {
  validateTopic(sourceTopic, 'source topic')
  return writeSetting(store, policyKey(sourceTopic), kindFor(sourceTopic), null, opts)
}

export interface PolicyChange {
  version: number
  fromVersion: number
  /** null: the change cleared the policy. */
  policy: Policy | null
  at: string
  by: Actor
}

/** Every change of the policy of `sourceTopic`, oldest first. */
export async function policyHistory(store: SettingsStore, sourceTopic: string): Promise<PolicyChange[]> {
  validateTopic(sourceTopic, 'source topic')
  const changes: Array<Change<Policy>> = await settingHistory(store, policyKey(sourceTopic), kindFor(sourceTopic))
  return changes.map((c) => ({version: c.version, fromVersion: c.fromVersion, policy: c.value, at: c.at, by: c.by}))
}

/** Every source topic with a policy, by name. */
export async function listPolicies(store: SettingsStore): Promise<PolicyDocument[]> {
  const entries = await store.list(POLICY_KEY_PREFIX)
  return entries
    .map(({key, setting}) => {
      const sourceTopic = key.slice(POLICY_KEY_PREFIX.length)
      const kind = kindFor(sourceTopic)
      return kind.document(typed(kind, setting))
    })
    .filter((d) => d.policy !== null)
    .sort((a, b) => (a.sourceTopic < b.sourceTopic ? -1 : a.sourceTopic > b.sourceTopic ? 1 : 0))
}
