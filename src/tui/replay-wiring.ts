import {MATCH_ALL} from '../core/filter.js'
import type {DlqReader} from '../core/reader.js'
import {NO_EDITS, type EditSpec} from '../core/replay/edit.js'
import {executeReplay, type ReplayResult} from '../core/replay/execute.js'
import {ledgerKey, sourceKey} from '../core/replay/identity.js'
import type {ReplayLedger} from '../core/replay/ledger.js'
import {defaultSinkUri, openLedger, openSink} from '../core/replay/open.js'
import {NOT_ORIGINAL_HINT, planReplay, summarisePlan, type ReplayPlan} from '../core/replay/plan.js'
import type {DlqSink} from '../core/sink.js'
import {compactDiff} from '../output/edit-diff.js'
import type {PlanView, ReplayPort, ResultView} from './replay-port.js'

export interface ReplayWiringOptions {
  /** The SOURCE argument as given (the ledger and the default sink are derived from it). */
  source: string
  sinkUri: string | null
  to: string | null
  /** --ledger: a ledger file instead of the DLQ's own store. */
  ledger?: string | null
}

/** Notes shown under the plan: enough to see why, not a wall of text. */
const MAX_NOTES = 20

/** In browse the way to send a payload of one's own is the `e` key, not --transform; said first, as a dialog line is cut at the screen's edge. */
const BROWSE_NOT_ORIGINAL_HINT = 'replay sends only the original message (press e on it to write the payload to send in $EDITOR)'

/** A skip's words as browse says them: the CLI's, with browse's own key where the CLI names a flag. */
export function browseDetail(reason: string | null, detail: string | null): string | null {
  if (reason !== 'not_original' || detail === null) return detail
  const at = detail.indexOf(`: ${NOT_ORIGINAL_HINT}`)
  if (at < 0) return detail
  return `${BROWSE_NOT_ORIGINAL_HINT}: ${detail.slice(0, at)}${detail.slice(at + 2 + NOT_ORIGINAL_HINT.length)}`
}

export function planView(plan: ReplayPlan): PlanView {
  const sum = summarisePlan(plan)
  const notes = plan.items
    .filter((it) => it.detail !== null && (it.action === 'skip' || it.reason === 'in_doubt'))
    .slice(0, MAX_NOTES)
    .map((it) => ({position: it.position, text: `${it.action === 'skip' ? `skipped (${it.reason})` : 'in doubt'}: ${browseDetail(it.reason, it.detail)}`}))
  return {
    sink: plan.sink,
    send: sum.send,
    skip: sum.skip,
    byTarget: sum.byTarget,
    removedHeaders: sum.removedHeaders,
    ...(sum.dropped ? {dropped: sum.dropped} : {}),
    skipped: sum.skipped as Record<string, number>,
    notes,
    changes: plan.items.filter((it) => it.edit).slice(0, MAX_NOTES).map((it) => ({position: it.position, text: compactDiff(it.edit!)})),
  }
}

export function resultView(r: ReplayResult): ResultView {
  return {
    requested: r.requested,
    replayed: r.replayed,
    skipped: r.skipped,
    failed: r.failed,
    items: r.items.map((it) => ({
      position: it.position,
      outcome: it.outcome,
      target: it.target ? `${it.target.topic}${it.target.partition === null ? '' : `/${it.target.partition}`}${it.target.offset === null ? '' : `@${it.target.offset}`}` : null,
      reason: [it.reason, browseDetail(it.reason, it.error)].filter((x) => x !== null).join(': ') || null,
    })),
  }
}

/**
 * The replay engine behind the ReplayPort. The sink is opened on the first `r`, not at start:
 * browsing needs no connection to the target, and a file DLQ without --sink can still be
 * browsed (pressing `r` then says that --sink is needed).
 */
export async function openReplayPort(reader: DlqReader, opts: ReplayWiringOptions): Promise<ReplayPort> {
  let sink: Promise<DlqSink> | null = null
  let ledger: Promise<ReplayLedger> | null = null
  const getSink = () => (sink ??= (async () => openSink(opts.sinkUri ?? defaultSinkUri(opts.source)))())
  const getLedger = () => (ledger ??= openLedger(reader, opts.source, opts.ledger ?? null))
  const deps = async () => ({reader, sink: await getSink(), ledger: await getLedger()})

  return {
    async plan(positions) {
      const plan = await planReplay(await deps(), {positions, filter: MATCH_ALL, to: opts.to})
      return {view: planView(plan), plan}
    },
    async planEdited(position, payload) {
      // The editor's bytes go through replay's own fix-before-replay path: the plan shows the change and the ledger records it.
      const edit: EditSpec = {...NO_EDITS, transform: (r) => ({...r, payload}), transformName: '$EDITOR'}
      const plan = await planReplay(await deps(), {positions: [position], filter: MATCH_ALL, to: opts.to, edit})
      return {view: planView(plan), plan}
    },
    async execute(plan, {signal, onProgress}) {
      return resultView(await executeReplay(plan as ReplayPlan, await deps(), {signal, onProgress}))
    },
    async replayedAmong(records) {
      // The ledger is keyed by message identity, not by the position a page shows; byte-identical
      // file entries share one identity (replaying one replays "both"), so each is marked, and so
      // is each copy of a source message the writer dead-lettered more than once (its source key).
      const byKey = new Map<string, string[]>()
      const mark = (k: string | null, position: string) => {
        if (k === null) return
        const at = byKey.get(k)
        if (at) at.push(position)
        else byKey.set(k, [position])
      }
      for (const r of records) {
        mark(ledgerKey(r, reader.info.kind), r.position)
        mark(sourceKey(r), r.position)
      }
      const entries = await (await getLedger()).read([...byKey.keys()])
      const done = new Set([...entries].filter(([, e]) => e.state === 'done').flatMap(([k]) => byKey.get(k)!))
      return records.map((r) => r.position).filter((p) => done.has(p))
    },
    async close() {
      // Each is closed only if it was opened; a failed open has nothing to close.
      const [s, l] = await Promise.allSettled([sink, ledger])
      if (s.status === 'fulfilled' && s.value) await s.value.close()
      if (l.status === 'fulfilled' && l.value) await l.value.close()
    },
  }
}
