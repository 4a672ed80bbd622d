import type {ResultItem} from './execute.js'
import type {PlanItem} from './plan.js'

/**
 * The exit code of a replay, counted item by item as results stream by. Exit 0 only when every
 * requested message is now replayed (in this run, or before: skipped as already_replayed), or,
 * in an --all selection, was skipped by the user's own --transform (which then selects, like a
 * filter). A position named with --offset that the transform skips is not replayed: exit 1.
 * Otherwise 4 when all that stopped it is a message or target that is not there (not_found,
 * target_missing), else 1 (failures, in doubt, no source, protected or unreadable, filtered out,
 * a target name or key the store cannot take (target_invalid), a layout that would drop the key
 * or headers unasked (layout_drops_data), a record that does not hold the original message
 * (not_original): each is a message still to be dealt with, also in an --all selection).
 * A CI script can trust a 0.
 */
export class ExitTally {
  private replayed = 0
  private notAttempted = 0
  private missing = false
  private other = false
  /** The last position reported (results come in plan order). */
  private last: string | null = null

  /** `selection`: --all (the transform's skips are part of selecting) or --offset (each position was asked for). */
  constructor(private readonly selection: 'all' | 'offsets' = 'offsets') {}

  add(it: ResultItem): void {
    this.last = it.position
    if (it.outcome === 'replayed') this.replayed++
    if (it.reason === 'not_attempted') this.notAttempted++
    // In --all, a message the --transform chose to skip was left out on purpose, like one a filter leaves out.
    const selected = it.reason === 'skipped_by_transform' && this.selection === 'all'
    if (it.outcome === 'replayed' || (it.outcome === 'skipped' && (it.reason === 'already_replayed' || selected))) return
    if (it.outcome === 'skipped' && (it.reason === 'not_found' || it.reason === 'target_missing')) this.missing = true
    else this.other = true
  }

  /**
   * A dry run's item, counted as the real run would count it: a skip as that skip (edit_failed
   * fails), a send as replayed. So a dry run exits as the replay would for everything known
   * without sending; only a send that fails (or a doubt the target cannot settle) is not foreseen.
   */
  addPlanned(it: PlanItem): void {
    const send = it.action === 'send'
    this.add({position: it.position, outcome: send ? 'replayed' : it.reason === 'edit_failed' ? 'failed' : 'skipped', target: null, reason: send ? null : it.reason, error: null})
  }

  exitCode(): 0 | 1 | 4 {
    return this.other ? 1 : this.missing ? 4 : 0
  }

  /**
   * One line for stderr after an interrupted replay: what was sent, what is left, how to go on.
   * `readAll` false: an --all selection was cut short while being read, so the counts are of
   * what had been read: what came after the last position listed (if anything) is neither
   * counted nor listed.
   */
  interrupted(readAll = true): string {
    const rest = readAll || this.last === null ? '' : `, and the selection was not read past position ${this.last}`
    return `interrupted: ${this.replayed} replayed, ${this.notAttempted} not attempted${rest}; run the same command again to continue (what was acknowledged is not sent twice)`
  }
}
