import {randomUUID} from 'node:crypto'
import {NotSentError, type SentMessage} from '../sink.js'
import type {LedgerTarget} from './ledger.js'
import type {RecordFilter} from '../filter.js'
import type {DecodedRecord} from '../record.js'
import {checkTopicName, planRecords, type PlanItem, type PlanOptions, type ReplayDeps, type ReplayPlan, type SkipReason, type TargetCache} from './plan.js'

export type Outcome = 'replayed' | 'skipped' | 'failed'

export interface ResultItem {
  position: string
  outcome: Outcome
  target: {topic: string; partition: number | null; offset: string | null} | null
  reason: SkipReason | 'not_attempted' | 'in_doubt' | null
  error: string | null
}

export interface ReplayResult {
  requested: number
  replayed: number
  skipped: number
  failed: number
  items: ResultItem[]
}

export interface ExecuteOptions {
  /** Messages per second at most. */
  rate?: number | null
  force?: boolean
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
  /** Messages per send (and per ledger write). */
  batchSize?: number
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), {once: true})
  })

/**
 * Carries out a plan: claim in the ledger, send, wait for the acknowledgement, complete in
 * the ledger — batch by batch, in plan order (which keeps each source partition's order).
 * Stops at the first batch the sink rejects; what was not attempted is reported as such, and
 * running the same replay again finishes the job without sending anything twice.
 */
export async function executeReplay(plan: ReplayPlan, deps: ReplayDeps, opts: ExecuteOptions = {}): Promise<ReplayResult> {
  const runId = randomUUID()
  const results = new Map<string, ResultItem>()
  const toSend: PlanItem[] = []
  for (const it of plan.items) {
    if (it.action === 'skip') results.set(it.position, {position: it.position, outcome: 'skipped', target: null, reason: it.reason, error: it.detail})
    else toSend.push(it)
  }

  const rate = opts.rate && opts.rate > 0 ? opts.rate : null
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 2000, rate ?? Number.POSITIVE_INFINITY))
  const started = Date.now()
  let sent = 0
  let stopped: string | null = null

  for (let i = 0; i < toSend.length && stopped === null; i += batchSize) {
    if (opts.signal?.aborted) {
      stopped = 'cancelled'
      break
    }
    const batch = toSend.slice(i, i + batchSize)
    if (rate) {
      const due = started + (sent / rate) * 1000
      if (due > Date.now()) await sleep(due - Date.now(), opts.signal)
    }

    // Resolve doubt first: a message an earlier run may have sent is looked for in the target.
    const sendable: PlanItem[] = []
    for (const it of batch) {
      if (it.reason === 'in_doubt' && !opts.force) {
        const found = deps.sink.find && it.ledger ? await deps.sink.find(it.message!, it.ledger.mark) : undefined
        if (found === undefined) {
          results.set(it.position, {position: it.position, outcome: 'skipped', target: null, reason: 'in_doubt', error: `${it.detail}; this sink cannot check the target, so check it and use --force to send it again`})
          continue
        }
        if (found !== null) {
          await deps.ledger.claim([{position: it.position, target: it.target!, mark: it.ledger!.mark}], runId, true)
          await deps.ledger.complete([{position: it.position, target: it.target!, offset: found.offset}], runId)
          results.set(it.position, {position: it.position, outcome: 'skipped', target: {...found}, reason: 'already_replayed', error: 'found in the target: an earlier, interrupted replay had sent it'})
          continue
        }
      }
      sendable.push(it)
    }
    if (sendable.length === 0) continue

    // Where each target ends before the send, so a later run can look for a message in doubt.
    // A store that cannot say is down: nothing of this batch is claimed or sent.
    const marks = new Map<string, string | null>()
    try {
      for (const it of sendable) {
        const k = `${it.target!.topic}\u0000${it.target!.partition}`
        if (!marks.has(k)) marks.set(k, deps.sink.mark ? await deps.sink.mark(it.target!.topic, it.target!.partition) : null)
      }
    } catch (error) {
      stopped = (error as Error).message
      break
    }
    const claimOf = (it: PlanItem) => ({position: it.position, target: it.target as LedgerTarget, mark: marks.get(`${it.target!.topic}\u0000${it.target!.partition}`) ?? null})
    let held: Set<string>
    try {
      // A doubt just checked to be absent from the target is taken over; anything else is
      // taken over only with --force, so a replay running at the same time keeps its claims.
      const checked = sendable.filter((it) => it.reason === 'in_doubt')
      const fresh = sendable.filter((it) => it.reason !== 'in_doubt')
      held = await deps.ledger.claim(fresh.map(claimOf), runId, opts.force === true)
      if (checked.length > 0) for (const p of await deps.ledger.claim(checked.map(claimOf), runId, true)) held.add(p)
    } catch (error) {
      stopped = `the replay ledger at ${deps.ledger.where} could not be written: ${(error as Error).message}`
      break
    }
    const mine = sendable.filter((it) => held.has(it.position))
    for (const it of sendable) {
      if (!held.has(it.position)) results.set(it.position, {position: it.position, outcome: 'skipped', target: null, reason: 'already_replayed', error: 'another replay claimed it at the same time'})
    }
    if (mine.length === 0) continue

    let acks: SentMessage[]
    try {
      acks = await deps.sink.send(mine.map((it) => it.message!))
    } catch (error) {
      const certainlyNotSent = error instanceof NotSentError
      if (certainlyNotSent) await deps.ledger.release(mine.map((it) => it.position), runId).catch(() => undefined)
      for (const it of mine) {
        results.set(it.position, {
          position: it.position,
          outcome: 'failed',
          target: {...it.target!, offset: null},
          reason: certainlyNotSent ? null : 'in_doubt',
          error: (error as Error).message,
        })
      }
      stopped = (error as Error).message
      break
    }
    await deps.ledger.complete(
      mine.map((it, k) => ({position: it.position, target: it.target!, offset: acks[k].offset})),
      runId,
    )
    mine.forEach((it, k) => results.set(it.position, {position: it.position, outcome: 'replayed', target: {topic: acks[k].topic, partition: acks[k].partition, offset: acks[k].offset}, reason: null, error: null}))
    sent += mine.length
    opts.onProgress?.(Math.min(i + batch.length, toSend.length), toSend.length)
  }

  if (stopped !== null) {
    for (const it of toSend) {
      if (!results.has(it.position)) {
        results.set(it.position, {position: it.position, outcome: 'failed', target: {...it.target!, offset: null}, reason: 'not_attempted', error: `not attempted: ${stopped}`})
      }
    }
  }

  const items = plan.items.map((it) => results.get(it.position)!)
  const count = (o: Outcome) => items.filter((r) => r.outcome === o).length
  return {requested: items.length, replayed: count('replayed'), skipped: count('skipped'), failed: count('failed'), items}
}

/** Records planned and sent per window of `--all`: memory stays bounded by one window. */
const WINDOW = 10_000

/**
 * `--all` without a plan held in memory: reads the selection in DLQ order, plans and sends
 * it window by window. After a failure, the rest is only listed as not attempted.
 */
export async function replayAllStreaming(deps: ReplayDeps, req: {filter: RecordFilter; to?: string | null; force?: boolean} & Omit<PlanOptions, 'to' | 'force'>, opts: ExecuteOptions = {}): Promise<ReplayResult> {
  const to = req.to ? checkTopicName(req.to, '--to') : null
  const targets: TargetCache = new Map()
  const items: ResultItem[] = []
  let window: DecodedRecord[] = []
  let stopped: string | null = null
  let done = 0
  const flush = async () => {
    const planned = await planRecords(deps, window, {to, force: req.force === true, partitioner: req.partitioner, timestamp: req.timestamp}, targets)
    window = []
    const plan: ReplayPlan = {source: deps.reader.info.display, sink: deps.sink.info.display, ledger: deps.ledger.where, items: planned}
    const r = await executeReplay(plan, deps, {...opts, onProgress: undefined})
    items.push(...r.items)
    done += planned.length
    opts.onProgress?.(done, done)
    const failed = r.items.find((i) => i.outcome === 'failed')
    if (failed) stopped = failed.error ?? 'a send failed'
  }
  for await (const rec of deps.reader.scan({filter: req.filter, signal: opts.signal})) {
    if (stopped !== null) {
      items.push({position: rec.position, outcome: 'failed', target: null, reason: 'not_attempted', error: `not attempted: ${stopped}`})
      continue
    }
    window.push(rec)
    if (window.length >= WINDOW) await flush()
  }
  if (window.length > 0 && stopped === null) await flush()
  const count = (o: Outcome) => items.filter((r) => r.outcome === o).length
  return {requested: items.length, replayed: count('replayed'), skipped: count('skipped'), failed: count('failed'), items}
}
