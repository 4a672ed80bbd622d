import type {Count, StatsResult} from '../core/stats.js'
import {escapeText, safeJson} from './escape.js'
import {renderTable} from './table.js'

export function renderStats(s: StatsResult, json: boolean): string {
  if (json) return safeJson(s, 2) + '\n'
  const section = (title: string, counts: Count[]) =>
    renderTable(
      [{head: title}, {head: 'COUNT', width: 10, align: 'right'}, {head: 'SHARE', width: 6, align: 'right'}],
      counts.map((c) => [c.value ?? '(unknown)', String(c.count), s.total === 0 ? '-' : `${((100 * c.count) / s.total).toFixed(1)}%`]),
      Math.min(100, process.stdout.columns || 100),
    )
  const out = [
    `Source:     ${escapeText(s.source)}`,
    ...(s.filter.length > 0 ? [`Filter:     ${escapeText(s.filter.join(' AND '))}`] : []),
    `Messages:   ${s.total}`,
    `Unreadable: ${s.unreadable.count}${s.unreadable.count > 0 ? ` (positions ${s.unreadable.positions.join(', ')}${s.unreadable.count > s.unreadable.positions.length ? ', …' : ''})` : ''}`,
    `First:      ${s.firstTimestamp ?? '-'}`,
    `Last:       ${s.lastTimestamp ?? '-'}`,
    '',
    section('REASON', s.byReason),
    section('SOURCE TOPIC', s.bySourceTopic),
    section('CONVENTION', s.byConvention),
  ]
  return out.join('\n') + '\n'
}
