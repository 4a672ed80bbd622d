import type {Count, StatsResult} from '../core/stats.js'
import {escapeText, safeJson} from './escape.js'
import {renderTable, terminalWidth} from './table.js'
import {cut} from './width.js'

/** How a value the records do not give (no reason, no known source topic) is shown. */
const NOT_RECORDED = '(not recorded)'

/**
 * Text of `dlq stats`. Every breakdown adds up to "Messages": unreadable records, which have
 * no reason, topic or convention, are their own row, and shares are of all messages. The
 * JSON document counts readable records in the breakdowns and gives `readable` beside them.
 */
export function renderStats(s: StatsResult, json: boolean, width = terminalWidth()): string {
  if (json) return safeJson(s, 2) + '\n'
  const share = (n: number) => (s.total === 0 ? '-' : `${((100 * n) / s.total).toFixed(1)}%`)
  const section = (title: string, counts: Count[]) => {
    const rows = counts.map((c) => [c.value === null ? NOT_RECORDED : c.value, String(c.count), share(c.count)])
    if (s.unreadable.count > 0) rows.push(['(unreadable)', String(s.unreadable.count), share(s.unreadable.count)])
    return renderTable([{head: title, min: 12}, {head: 'COUNT', align: 'right'}, {head: 'SHARE', align: 'right'}], rows, Math.min(width, 100))
  }
  const out = [
    `Source:     ${escapeText(s.source)}`,
    ...(s.filter.length > 0 ? [`Filter:     ${escapeText(s.filter.join(' AND '))}`] : []),
    `Messages:   ${s.total}`,
    `Unreadable: ${s.unreadable.count}${s.unreadable.count > 0 ? ` (positions ${s.unreadable.positions.map(escapeText).join(', ')}${s.unreadable.count > s.unreadable.positions.length ? ', …' : ''})` : ''}`,
    ...(s.unreadable.timeUnknown > 0 ? [`            ${s.unreadable.timeUnknown} of them of unknown time: lines with no time that the lines around them do not place outside the window`] : []),
    ...(s.doubtful > 0 ? [`Doubtful:   ${s.doubtful} (a recorded source partition may be wrong: source.doubt in --json)`] : []),
    `First:      ${s.firstTimestamp ?? '-'}`,
    `Last:       ${s.lastTimestamp ?? '-'}`,
    '',
    section('REASON', s.byReason),
    '',
    section('SOURCE TOPIC', s.bySourceTopic),
    '',
    section('CONVENTION', s.byConvention),
  ]
  if (s.byPartition.length > 0) {
    out.push('', renderTable([{head: 'PARTITION', align: 'right'}, {head: 'COUNT', align: 'right'}, {head: 'SHARE', align: 'right'}], s.byPartition.map((p) => [String(p.partition), String(p.count), share(p.count)]), width))
  }
  if (s.timeline.buckets.length > 1) out.push('', timeline(s, width))
  return out.join('\n') + '\n'
}

/** One bar per bucket (readable messages with a timestamp), scaled to the largest, in what is left of the width after the labels. */
function timeline(s: StatsResult, width: number): string {
  const {bucketSeconds, buckets} = s.timeline
  const label = (iso: string) => (bucketSeconds >= 86_400 ? iso.slice(0, 10) : iso.slice(0, 16).replace('T', ' '))
  const most = Math.max(...buckets.map((b) => b.count))
  const countWidth = String(most).length
  const labelWidth = label(buckets[0].start).length
  const room = Math.max(1, Math.min(width, 100) - labelWidth - countWidth - 4)
  const lines = [cut(`TIME (UTC, per ${span(bucketSeconds)})`, width).text]
  for (const b of buckets) {
    const bar = b.count === 0 ? '' : '█'.repeat(Math.max(1, Math.round((room * b.count) / most)))
    lines.push(`${label(b.start)}  ${String(b.count).padStart(countWidth)}  ${bar}`.trimEnd())
  }
  return lines.join('\n')
}

function span(seconds: number): string {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? 'day' : `${seconds / 86_400} days`
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} hours`
  return seconds === 60 ? 'minute' : `${seconds / 60} minutes`
}
