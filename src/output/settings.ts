import {actorText} from '../core/settings/actor.js'
import type {GlobalTargetChange, GlobalTargetDocument} from '../core/settings/global-target.js'
import type {PolicyChange, PolicyDocument} from '../core/settings/policy.js'
import type {Actor} from '../core/settings/types.js'
import {escapeText, safeJson} from './escape.js'

/**
 * Settings output. Text is `name value` lines (or one row per entry) in a fixed order so a
 * shell script can `awk` it; `--json` prints one document whose shape the schemas in
 * schemas/ fix. Whatever came out of the store is escaped: it is shared, hence untrusted.
 */
const show = (s: string | null | undefined) => (s === null || s === undefined ? '-' : escapeText(s))
const by = (a: Actor | null) => (a === null ? '-' : escapeText(actorText(a)))

function fields(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n'
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')
  return [line(head), ...rows.map(line)].join('\n') + '\n'
}

/**
 * The stderr line of a set or clear that found the value already there: nothing was written,
 * the version stands (stdout still gets the setting's document, so --json stays one schema).
 */
export function renderUnchanged(what: string, version: number, cleared: boolean): string {
  const state = !cleared ? 'already has that value' : version === 0 ? 'was never set' : 'is already cleared'
  return `unchanged: ${what} ${state} (version ${version}); nothing was written`
}

export function renderGlobalTarget(doc: GlobalTargetDocument, json: boolean): string {
  if (json) return safeJson(doc, 2) + '\n'
  return fields([
    ['version', String(doc.version)],
    ['topic', show(doc.target?.topic)],
    ['group', show(doc.target?.group)],
    ['updated_at', show(doc.updatedAt)],
    ['updated_by', by(doc.updatedBy)],
  ])
}

export function renderGlobalTargetHistory(changes: GlobalTargetChange[], json: boolean): string {
  if (json) return safeJson({setting: 'global-target', changes}, 2) + '\n'
  if (changes.length === 0) return ''
  return table(
    ['VERSION', 'FROM', 'AT', 'BY', 'TOPIC', 'GROUP'],
    changes.map((c) => [String(c.version), String(c.fromVersion), show(c.at), by(c.by), c.target ? show(c.target.topic) : '(cleared)', show(c.target?.group)]),
  )
}

export function renderPolicy(doc: PolicyDocument, json: boolean): string {
  if (json) return safeJson(doc, 2) + '\n'
  return fields([
    ['source_topic', show(doc.sourceTopic)],
    ['version', String(doc.version)],
    ['dlq', show(doc.policy?.dlq)],
    ['dlq_topic', show(doc.policy?.dlqTopic)],
    ['group', show(doc.policy?.group)],
    ['max_retries', doc.policy?.maxRetries === null || doc.policy?.maxRetries === undefined ? '-' : String(doc.policy.maxRetries)],
    ['updated_at', show(doc.updatedAt)],
    ['updated_by', by(doc.updatedBy)],
  ])
}

export function renderPolicyList(docs: PolicyDocument[], json: boolean): string {
  if (json) return safeJson({policies: docs}, 2) + '\n'
  if (docs.length === 0) return ''
  return table(
    ['SOURCE_TOPIC', 'VERSION', 'DLQ', 'DLQ_TOPIC', 'GROUP', 'MAX_RETRIES'],
    docs.map((d) => [show(d.sourceTopic), String(d.version), show(d.policy?.dlq), show(d.policy?.dlqTopic), show(d.policy?.group), d.policy?.maxRetries == null ? '-' : String(d.policy.maxRetries)]),
  )
}

export function renderPolicyHistory(sourceTopic: string, changes: PolicyChange[], json: boolean): string {
  if (json) return safeJson({setting: 'policy', sourceTopic, changes}, 2) + '\n'
  if (changes.length === 0) return ''
  return table(
    ['VERSION', 'FROM', 'AT', 'BY', 'DLQ', 'DLQ_TOPIC', 'GROUP', 'MAX_RETRIES'],
    changes.map((c) => [
      String(c.version),
      String(c.fromVersion),
      show(c.at),
      by(c.by),
      c.policy ? c.policy.dlq : '(cleared)',
      show(c.policy?.dlqTopic),
      show(c.policy?.group),
      c.policy?.maxRetries == null ? '-' : String(c.policy.maxRetries),
    ]),
  )
}
