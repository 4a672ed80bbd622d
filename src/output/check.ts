import type {CheckResult} from '../core/check.js'
import {escapeText, safeJson} from './escape.js'

/** Reasons named in the one-line summary; --json has them all. */
const REASONS_IN_LINE = 3

/**
 * `dlq check`: one line a CI log or a cron mail can carry (OK/OVER, the count against --max,
 * the source and window, the commonest reasons), or with --json one document with every reason.
 */
export function renderCheck(r: CheckResult, json: boolean): string {
  if (json) return safeJson(r, 2) + '\n'
  const n = (k: number) => `${k} message${k === 1 ? '' : 's'}`
  const verdict = r.over ? `OVER: ${n(r.count)} match, more than --max ${r.max}` : `OK: ${n(r.count)} match, at most --max ${r.max}`
  const window = [r.window.since && `since ${r.window.since}`, r.window.until && `until ${r.window.until}`].filter(Boolean).join(', ')
  const reasons = r.byReason.slice(0, REASONS_IN_LINE).map((c) => `${c.value === null ? '(no reason)' : c.value} ${c.count}`)
  if (r.byReason.length > REASONS_IN_LINE) reasons.push('…')
  if (r.unreadable > 0) reasons.push(`unreadable ${r.unreadable}${r.unreadableTimeUnknown > 0 ? ` (time unknown ${r.unreadableTimeUnknown})` : ''}`)
  // --since/--until are in the filter's text too: the window says them once.
  const bounds = new Set([`timestamp >= ${r.window.since}`, `timestamp <= ${r.window.until}`])
  const filter = r.filter.filter((f) => !bounds.has(f))
  const details = [r.source, window, ...(filter.length > 0 ? [`filter ${filter.join(' AND ')}`] : []), reasons.join(', ')].filter((s) => s !== '')
  return escapeText(`${verdict} (${details.join('; ')})`) + '\n'
}
