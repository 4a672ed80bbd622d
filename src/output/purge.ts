import type {PurgePlan, PurgeResult, StayReason} from '../core/purge.js'
import {escapeText, safeJson} from './escape.js'

const WHY: Record<StayReason, string> = {
  not_replayed: 'not replayed',
  in_doubt: 'in doubt (a replay claimed it and did not confirm the send)',
}

const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`
const stay = (k: number) => (k === 1 ? 'stays' : 'stay')

/** The plan in words: per partition or for the stream, how many go, up to where, what stays and why. */
export function renderPurgePlan(plan: PurgePlan): string {
  const lines = [`Purge replayed messages from ${escapeText(plan.source)} (ledger: ${escapeText(plan.ledger)}):`]
  for (const p of plan.partitions ?? []) {
    const cut = p.before === null ? 'nothing deleted' : `delete ${n(p.delete, 'record')} below offset ${p.before}`
    const rest = p.stoppedAt ? `; ${n(p.stays, 'record')} ${stay(p.stays)} from ${escapeText(p.stoppedAt.position)} on (${WHY[p.stoppedAt.why]})` : ''
    lines.push(`  partition ${p.partition}: ${cut}${rest}`)
    for (const g of p.groups ?? []) {
      lines.push(`    group ${escapeText(g.name)} committed ${p.partition}:${g.committed}: it has not read ${g.unread} of them, and its offset will be out of range (its auto.offset.reset decides where it goes on)`)
    }
  }
  if (plan.partitions && plan.partitions.length === 0) lines.push('  the topic is empty')
  const s = plan.stream
  if (s) {
    lines.push(`  stream ${escapeText(s.stream)}: delete ${n(s.delete, 'entry').replace('entrys', 'entries')} (XDEL)${s.through ? `; read up to ${escapeText(s.through)}, nothing after it is touched` : ''}`)
    if (s.stays > 0) {
      const by = Object.entries(s.staysBy).map(([why, k]) => `${k} ${WHY[why as StayReason]}`)
      lines.push(`  ${n(s.stays, 'entry').replace('entrys', 'entries')} ${stay(s.stays)}: ${by.join(', ')}; the first: ${escapeText(s.firstKept!.position)}`)
    }
    for (const g of s.groups) {
      const notes = [g.pending > 0 ? `${g.pending} pending there, acknowledged (XACK) first` : '', g.unread > 0 ? `${g.unread} not read by it yet (it never will)` : ''].filter(Boolean)
      lines.push(`  group ${escapeText(g.name)}: ${notes.length > 0 ? notes.join('; ') : 'none of them pending or unread'}`)
    }
  }
  lines.push(`  total: ${plan.delete} to delete, ${plan.stays} ${stay(plan.stays)} (${plan.scanned} looked at)`)
  return lines.join('\n') + '\n'
}

export function renderPurgeResult(r: PurgeResult): string {
  const starts = r.logStart && r.logStart.length > 0 ? ` (log start now ${r.logStart.map((x) => `${x.partition}:${x.offset}`).join(', ')})` : ''
  return `Deleted ${r.deleted}${starts}.\n`
}

export function purgeJson(plan: PurgePlan, result: PurgeResult | null): string {
  const {partitions, stream, ...head} = plan
  return safeJson({dryRun: result === null, ...head, ...(partitions ? {partitions} : {}), ...(stream ? {stream} : {}), result}, 2) + '\n'
}
