import type {ReplayResult} from '../core/replay/execute.js'
import {summarisePlan, type ReplayPlan} from '../core/replay/plan.js'
import {escapeText, safeJson} from './escape.js'
import {renderTable} from './table.js'

const targetText = (t: {topic: string; partition: number | null; offset?: string | null} | null, doubt: string | null = null) =>
  t === null ? '-' : `${t.topic}${t.partition === null ? '' : `/${t.partition}${doubt ? '?' : ''}`}${t.offset ? `@${t.offset}` : ''}`

export function planJson(plan: ReplayPlan): unknown {
  return {
    dryRun: true,
    source: plan.source,
    sink: plan.sink,
    ledger: plan.ledger,
    summary: summarisePlan(plan),
    items: plan.items.map((it) => ({
      position: it.position,
      action: it.action,
      reason: it.reason,
      detail: it.detail,
      target: it.target,
      partitionBy: it.partitionBy,
      doubt: it.doubt,
      headersKept: it.headersKept,
      headersRemoved: it.headersRemoved,
    })),
  }
}

const TIME_WORDS = {
  now: 'the time of the replay (--timestamp original keeps the failed record\'s own time)',
  original: "the failed record's own time where recorded, else the DLQ record's time",
  dlq: "the DLQ record's time",
}

/** How a target's partition was chosen, in words: a Redis stream has none. */
function targetPartText(t: {partition: number | null; partitionBy: string | null; doubtful: number}): string {
  if (t.partitionBy === null) return ' (stream)'
  if (t.partitionBy === 'store') return ' (no key and no recorded partition: the broker chooses)'
  if (t.partitionBy === 'recorded') {
    const doubt = t.doubtful > 0 ? ` — ${t.doubtful} doubtful: the recorded partition may be the offset (rust-arroyo); check, or use --to` : ''
    return ` partition ${t.partition} (recorded)${doubt}`
  }
  return ` partition ${t.partition} (no partition recorded: ${t.partitionBy} of the key, as the original producer)`
}

/** A few lines saying what will be sent where: for the confirmation and the top of a dry run. */
export function renderPlanSummary(plan: ReplayPlan): string {
  const s = summarisePlan(plan)
  const lines = [`Replay ${s.send} message${s.send === 1 ? '' : 's'} from ${escapeText(plan.source)} to ${escapeText(plan.sink)}:`]
  for (const t of s.byTarget) lines.push(`  ${t.count} → ${escapeText(t.topic)}${targetPartText(t)}`)
  if (s.removedHeaders.length > 0) lines.push(`  metadata removed: ${s.removedHeaders.map(escapeText).join(', ')}`)
  if (s.send > 0) lines.push(`  record time: ${TIME_WORDS[s.timestamp ?? 'now']}`)
  const skips = Object.entries(s.skipped)
  if (skips.length > 0) lines.push(`  skipped: ${skips.map(([r, n]) => `${n} ${r}`).join(', ')}`)
  lines.push(`  ledger: ${escapeText(plan.ledger)}`)
  return lines.join('\n') + '\n'
}

export function renderPlan(plan: ReplayPlan, json: boolean): string {
  if (json) return safeJson(planJson(plan), 2) + '\n'
  const table = renderTable(
    [{head: 'POSITION', width: Math.max(8, ...plan.items.map((i) => i.position.length))}, {head: 'ACTION', width: 6}, {head: 'TARGET', width: 30}, {head: 'HEADERS KEPT', width: 24}, {head: 'METADATA REMOVED', width: 36}, {head: 'NOTE'}],
    plan.items.map((it) => [
      it.position,
      it.action,
      targetText(it.target, it.doubt),
      it.headersKept.join(', ') || '-',
      it.headersRemoved.join(', ') || '-',
      it.reason ? `${it.reason}${it.detail ? `: ${it.detail}` : ''}` : '',
    ]),
  )
  return `${renderPlanSummary(plan)}${table}\nDry run: nothing was sent.\n`
}

export function resultJson(r: ReplayResult): unknown {
  return r
}

export function renderResult(r: ReplayResult, json: boolean): string {
  if (json) return safeJson(resultJson(r), 2) + '\n'
  const table = renderTable(
    [{head: 'POSITION', width: Math.max(8, ...r.items.map((i) => i.position.length))}, {head: 'OUTCOME', width: 8}, {head: 'TARGET', width: 36}, {head: 'REASON'}],
    r.items.map((it) => [it.position, it.outcome, targetText(it.target), [it.reason, it.error].filter(Boolean).join(': ')]),
  )
  return `${table}\n${r.requested} requested: ${r.replayed} replayed, ${r.skipped} skipped, ${r.failed} failed\n`
}
