import type {ReplayResult} from './execute.js'

/**
 * Exit 0 only when every requested message is now replayed (in this run, or before: skipped as
 * already_replayed). Otherwise 4 when what stopped it is a message or target that is not there
 * (not_found, target_missing), else 1 (failures, in doubt, no source, protected or unreadable,
 * filtered out). A CI script can trust a 0.
 */
export function replayExitCode(r: ReplayResult): 0 | 1 | 4 {
  let missing = false
  for (const it of r.items) {
    if (it.outcome === 'replayed') continue
    if (it.outcome === 'skipped' && it.reason === 'already_replayed') continue
    if (it.outcome === 'skipped' && (it.reason === 'not_found' || it.reason === 'target_missing')) {
      missing = true
      continue
    }
    return 1
  }
  return missing ? 4 : 0
}

/** One line for stderr after an interrupted replay: what was sent, what is left, how to go on. */
export function interruptedSummary(r: ReplayResult): string {
  const left = r.items.filter((i) => i.reason === 'not_attempted').length
  return `interrupted: ${r.replayed} replayed, ${left} not attempted; run the same command again to continue (what was acknowledged is not sent twice)`
}
