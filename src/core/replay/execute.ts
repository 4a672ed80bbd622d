import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'
import {NotSentError, type DlqSink, type SentMessage} from '../sink.js'
import {pause} from '../time.js'
import type {ClaimRequest, LedgerEdit, LedgerEntry, LedgerTarget} from './ledger.js'
import type {PlanItem, PlanWindow, ReplayDeps, ReplayPlan, SkipReason} from './plan.js'

export type Outcome = 'replayed' | 'skipped' | 'failed'

export interface ResultItem {
  position: string
  outcome: Outcome
  target: {topic: string; partition: number | null; offset: string | null} | null
  reason: SkipReason | 'not_attempted' | 'in_doubt' | 'in_progress' | null
  error: string | null
}

export interface ReplayCounts {
  requested: number
  replayed: number
  skipped: number
  failed: number
}

export interface ReplayResult extends ReplayCounts {
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

export interface RunOptions extends ExecuteOptions {
  /** Each position's result, in plan order, as soon as it and every one before it is known. */
  onItem: (item: ResultItem) => void
  /**
   * Lets the ledger drop finished positions from memory (`ReplayLedger.forget`): for a one-shot
   * run that never looks at a position twice, so memory stays flat however much it replays.
   */
  forgetDone?: boolean
  /** Awaited between batches: where the results go has room for more (stdout to a slow pipe). */
  drained?: () => Promise<void>
}

/** Batches whose send may be unacknowledged at once, when the sink allows more than one. */
const MAX_DEPTH = 4
/** Messages per send and per ledger write, unless asked otherwise (see PLAN_WINDOW on memory). */
const SEND_BATCH = 500
/**
 * Sends per second under --rate: each send is this fraction of the rate, paced evenly, so no
 * second sees more than the rate and one small send (one send of the whole rate every second
 * put twice the rate within a second at its edges).
 */
const RATE_SLICES = 20
/** How old a target's end mark may be when a claim records it (see MarkCache). */
const MARK_TTL_MS = 1000

/**
 * How long a claim of another replay counts as that replay's work in progress: its message may
 * be on the wire, so it is neither looked for nor taken over yet. Older, it is a crash's doubt.
 * (A send that gets no acknowledgement fails after 30 s.)
 */
export const LIVE_CLAIM_MS = 60_000

/** `host/pid/uuid`: a later replay on the same host can tell a crashed run's claims from a live one's. */
function newRunId(): string {
  return `${hostname()}/${process.pid}/${randomUUID()}`
}

/** Whether another run that claimed a message may still be sending it (see LIVE_CLAIM_MS). */
export function mayStillBeSending(entry: {runId: string; at: string}, ownRunId: string, now = Date.now()): boolean {
  if (entry.runId === ownRunId || now - Date.parse(entry.at) >= LIVE_CLAIM_MS) return false
  const [host, pid] = entry.runId.split('/')
  if (host === hostname() && /^\d+$/.test(pid ?? '')) {
    try {
      process.kill(Number(pid), 0)
    } catch (error) {
      // Anything but EPERM (alive, not ours): that process is gone, so its claim is a crash's doubt, resolved at once.
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
    }
  }
  return true
}

/**
 * Carries out a plan held in memory and returns every result (browse, `--offset` lists).
 * Large selections go through `runReplay` with a streamed plan and streamed results.
 */
export async function executeReplay(plan: ReplayPlan, deps: ReplayDeps, opts: ExecuteOptions = {}): Promise<ReplayResult> {
  const items: ResultItem[] = []
  const window: PlanWindow = {positions: plan.items.map((i) => i.position), plan: async () => plan.items}
  const counts = await runReplay(
    (async function* () {
      yield window
    })(),
    deps,
    {...opts, onItem: (r) => items.push(r)},
  )
  return {...counts, items}
}

/**
 * The replay pipeline. Per batch of messages, in plan order (which is DLQ order, so each
 * source partition's order is kept):
 *
 *   resolve doubts → mark the targets' ends → CLAIM in the ledger → SEND → wait for the
 *   acknowledgement → COMPLETE in the ledger → report
 *
 * The stages of different batches overlap: batch k+1 is planned and claimed while batch k is
 * on the wire, and batch k is completed while k+1 is sent. Every guarantee is per batch and
 * unchanged by the overlap: a batch is sent only after its claim is durable, completed only
 * after the store acknowledged it, and batches are handed to the sink in plan order (a sink
 * that keeps several sends in flight — `DlqSink.maxInFlight` — writes them in that order on one
 * connection, so a failure can only leave a suffix unsent, never a hole before a landed message).
 * In-doubt positions are resolved with nothing in flight, so a message still on its way
 * cannot be mistaken for an earlier run's copy.
 *
 * At the first failure the pipeline stops: what was in flight is reported by its own outcome,
 * the rest of the selection as not attempted (without planning it), and running the same
 * replay again finishes the job without sending anything twice.
 */
export async function runReplay(windows: AsyncIterable<PlanWindow>, deps: ReplayDeps, opts: RunOptions): Promise<ReplayCounts> {
  const runId = newRunId()
  const out = new OrderedResults(opts.onItem)
  const marks = new MarkCache(deps.sink)
  const rate = opts.rate && opts.rate > 0 ? opts.rate : null
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? SEND_BATCH, rate ? Math.ceil(rate / RATE_SLICES) : Number.POSITIVE_INFINITY))
  const depth = Math.max(1, Math.min(MAX_DEPTH, deps.sink.maxInFlight ?? 1))
  /** --rate: when the next send may go. */
  let nextSendAt = 0
  let planned = 0
  let stopped: string | null = null
  const stop = (why: string) => {
    stopped ??= why
  }
  /** Sends handed to the sink and not yet completed, oldest first. */
  const inflight: Array<Promise<void>> = []
  const drain = async () => {
    while (inflight.length > 0) await inflight.shift()
  }
  let pending: Array<{slot: number; it: PlanItem}> = []

  const notAttempted = (slot: number, it: PlanItem) =>
    out.set(slot, {position: it.position, outcome: 'failed', target: it.target ? {...it.target, offset: null} : null, reason: 'not_attempted', error: `not attempted: ${stopped}`})

  /**
   * The run whose unconfirmed claim on `key` a doubt takes over: its holder when the claims were
   * read again just before (claimsNow). The claim is taken only while that run still holds it,
   * so of two replays resolving the same doubt at once only one sends it. A key found free then
   * names this run: it is claimed only if it is still free.
   */
  const overOf = (claimsNow: Map<string, LedgerEntry>, key: string): string => claimsNow.get(key)?.runId ?? runId

  /** The claims of `items`' keys: those a doubt takes over, naming the run it takes them from (overOf), and the rest. */
  const claimsOf = (items: PlanItem[], make: (it: PlanItem, key: string) => ClaimRequest, claimsNow: Map<string, LedgerEntry>) => ({
    takeovers: entriesOf(items, (it, key) => ({...make(it, key), over: overOf(claimsNow, key)}), takenOver),
    fresh: entriesOf(items, make, (it, key) => !takenOver(it, key)),
  })

  /** Claims a doubt found in the target, to complete it: its unconfirmed claims taken over, its free keys claimed. */
  const claimFound = async (it: PlanItem, mark: string | null, claimsNow: Map<string, LedgerEntry>) => {
    const {takeovers, fresh} = claimsOf([it], (x, position) => ({position, target: x.target!, mark, ...editOf(x)}), claimsNow)
    await deps.ledger.claim(takeovers, runId, false)
    if (fresh.length > 0) await deps.ledger.claim(fresh, runId, false)
  }

  /** Claims and hands one batch to the sink; returns once the sink may take the next one. */
  const dispatch = async (batch: Array<{slot: number; it: PlanItem}>) => {
    if (stopped === null && opts.signal?.aborted) stop('cancelled')
    if (stopped !== null) {
      for (const {slot, it} of batch) notAttempted(slot, it)
      return
    }
    if (rate) {
      // Each send waits its share of a second after the one before; time lost to a stall (a slow
      // store, a busy machine) is not caught up with a burst.
      if (nextSendAt > Date.now()) await pause(nextSendAt - Date.now(), opts.signal)
      nextSendAt = Math.max(nextSendAt, Date.now()) + (batch.length / rate) * 1000
    }

    // 1. Resolve doubt first: a message an earlier run may have sent is looked for in the target.
    const sendable: Array<{slot: number; it: PlanItem}> = []
    const doubts = opts.force ? [] : batch.filter(({it}) => it.reason === 'in_doubt')
    // The claims of the doubts as they are now, with nothing of this run in flight: since the plan,
    // another replay may have taken one over (the same source message's other record, or a doubt
    // resolved at the same time) or finished it. One read for the batch.
    let claimsNow = new Map<string, LedgerEntry>()
    if (doubts.length > 0) {
      await drain()
      try {
        claimsNow = await deps.ledger.read(doubts.flatMap(({it}) => keysOf(it)))
      } catch (error) {
        stop(`the replay ledger at ${deps.ledger.where} could not be read: ${(error as Error).message}`)
        for (const {slot, it} of batch) notAttempted(slot, it)
        return
      }
    }
    for (const b of batch) {
      const {slot, it} = b
      if (it.reason === 'in_doubt' && !opts.force && it.ledger && mayStillBeSending(it.ledger, runId)) {
        // A claim this fresh may belong to a replay still sending it (its send not yet in the
        // target): taking it over now would send it twice. Only an older claim is a crash's doubt.
        const age = Math.max(0, Math.round((Date.now() - Date.parse(it.ledger.at)) / 1000))
        out.set(slot, {position: it.position, outcome: 'skipped', target: null, reason: 'in_progress', error: `another replay claimed it ${age} s ago and may still be sending it; run again later to confirm`})
        continue
      }
      if (it.reason === 'in_doubt' && !opts.force) {
        let found: SentMessage | null | undefined
        try {
          const current = keysOf(it).map((k) => claimsNow.get(k))
          const done = current.find((e) => e?.state === 'done')
          if (done) {
            out.set(slot, {position: it.position, outcome: 'skipped', target: {topic: done.target.topic, partition: done.target.partition, offset: done.offset}, reason: 'already_replayed', error: `replayed to ${done.target.topic} on ${done.at} by another replay while this one ran`})
            continue
          }
          const live = current.find((e) => e !== undefined && e.runId !== it.ledger?.runId && mayStillBeSending(e, runId))
          if (live) {
            out.set(slot, {position: it.position, outcome: 'skipped', target: null, reason: 'in_progress', error: `another replay claimed it at ${live.at} and may still be sending it; run again later to confirm`})
            continue
          }
          found = deps.sink.find && it.ledger ? await deps.sink.find(it.message!, it.ledger.mark) : undefined
          if (found) {
            await claimFound(it, it.ledger!.mark, claimsNow)
            await deps.ledger.complete(entriesOf([it], (_, position) => ({position, target: it.target!, offset: found!.offset, ...editOf(it)})), runId)
          }
        } catch (error) {
          stop((error as Error).message)
          for (const r of batch.slice(batch.indexOf(b))) notAttempted(r.slot, r.it)
          return
        }
        if (found === undefined) {
          out.set(slot, {position: it.position, outcome: 'skipped', target: null, reason: 'in_doubt', error: `${it.detail}; this sink cannot check the target, so check it and use --force to send it again`})
          continue
        }
        if (found !== null) {
          out.set(slot, {position: it.position, outcome: 'skipped', target: {...found}, reason: 'already_replayed', error: 'found in the target: an earlier, interrupted replay had sent it'})
          continue
        }
      }
      sendable.push(b)
    }
    if (sendable.length === 0) return

    // 2. Where each target ends before the send, so a later run can look for a message in
    // doubt. A store that cannot say is down: nothing of this batch is claimed or sent.
    const markOf = new Map<string, string | null>()
    try {
      for (const {it} of sendable) {
        const k = targetKey(it.target!)
        if (!markOf.has(k)) markOf.set(k, await marks.get(it.target!.topic, it.target!.partition))
      }
    } catch (error) {
      stop((error as Error).message)
      for (const {slot, it} of sendable) notAttempted(slot, it)
      return
    }

    // 3. Claim. A doubt just checked to be absent from the target is taken over; anything
    // else only with --force, so a replay running at the same time keeps its claims.
    // A message's source key (its other copies' claim) is claimed with it. Taken over: the claims
    // of a doubt just checked to be absent from the target; anything else only with --force.
    let held: Set<string>
    try {
      const claimOf = (it: PlanItem, position: string) => ({position, target: it.target as LedgerTarget, mark: markOf.get(targetKey(it.target!)) ?? null, ...editOf(it)})
      const {takeovers, fresh} = claimsOf(
        sendable.map(({it}) => it),
        claimOf,
        claimsNow,
      )
      held = fresh.length > 0 ? await deps.ledger.claim(fresh, runId, opts.force === true) : new Set()
      if (takeovers.length > 0) for (const p of await deps.ledger.claim(takeovers, runId, false)) held.add(p)
    } catch (error) {
      stop(`the replay ledger at ${deps.ledger.where} could not be written: ${(error as Error).message}`)
      for (const {slot, it} of sendable) notAttempted(slot, it)
      return
    }
    const mine: Array<{slot: number; it: PlanItem}> = []
    const lost: string[] = []
    for (const b of sendable) {
      const {it} = b
      if (held.has(it.ledgerKey) && (!it.sourceKey || held.has(it.sourceKey))) mine.push(b)
      else {
        // Another replay holds this message, or another copy of its source message: it sends it.
        for (const k of keysOf(it)) if (held.has(k)) lost.push(k)
        const what = held.has(it.ledgerKey) ? 'another record of the same source message' : 'it'
        out.set(b.slot, {position: it.position, outcome: 'skipped', target: null, reason: 'in_progress', error: `another replay claimed ${what} at the same time; run again later to confirm it was sent`})
      }
    }
    if (lost.length > 0) await deps.ledger.release(lost, runId).catch(() => undefined)
    if (mine.length === 0) return

    // 4. Send, and 5. complete once acknowledged — while the next batch is claimed and sent.
    // A previous send that failed stops the pipeline before this batch goes out.
    while (inflight.length >= depth) await inflight.shift()
    if (stopped !== null) {
      await deps.ledger.release(keysIn(mine), runId).catch(() => undefined)
      for (const {slot, it} of mine) notAttempted(slot, it)
      return
    }
    const sending = deps.sink.send(mine.map(({it}) => it.message!))
    inflight.push(
      sending.then(
        async (acks) => {
          try {
            await deps.ledger.complete(
              entriesOf(
                mine.map(({it}) => it),
                (it, position, k) => ({position, target: it.target!, offset: acks[k].offset, ...editOf(it)}),
              ),
              runId,
            )
          } catch (error) {
            // Sent and acknowledged, but not recorded: a later run finds them in the target.
            stop(`the replay ledger at ${deps.ledger.where} could not be written: ${(error as Error).message}`)
          }
          mine.forEach(({slot, it}, k) => out.set(slot, {position: it.position, outcome: 'replayed', target: {topic: acks[k].topic, partition: acks[k].partition, offset: acks[k].offset}, reason: null, error: null}))
          if (opts.forgetDone) deps.ledger.forget?.(keysIn(mine))
        },
        async (error) => {
          // Stopped first: no batch may be handed to the sink while this one's claims are released
          // (landing after it, it would put the released messages behind it in their partition).
          stop((error as Error).message)
          const certainlyNotSent = error instanceof NotSentError
          if (certainlyNotSent) await deps.ledger.release(keysIn(mine), runId).catch(() => undefined)
          for (const {slot, it} of mine) {
            out.set(slot, {position: it.position, outcome: 'failed', target: {...it.target!, offset: null}, reason: certainlyNotSent ? null : 'in_doubt', error: (error as Error).message})
          }
        },
      ),
    )
  }

  // Whatever ends the loop (a window that cannot be planned, the reader failing), the sends
  // already handed over are waited for, so their results are reported before the error.
  try {
    for await (const window of windows) {
      if (stopped !== null || opts.signal?.aborted) {
        stop('cancelled')
        for (const position of window.positions) {
          out.set(out.reserve(), {position, outcome: 'failed', target: null, reason: 'not_attempted', error: `not attempted: ${stopped}`})
        }
        continue
      }
      for (const it of await window.plan()) {
        const slot = out.reserve()
        if (it.action === 'skip') {
          // An edit that could not be made fails its message (nothing sent for it); the others go on.
          out.set(slot, {position: it.position, outcome: it.reason === 'edit_failed' ? 'failed' : 'skipped', target: null, reason: it.reason, error: it.detail})
          continue
        }
        pending.push({slot, it})
        if (pending.length >= batchSize) {
          const batch = pending
          pending = []
          await dispatch(batch)
          await opts.drained?.()
        }
      }
      planned += window.positions.length
      opts.onProgress?.(out.emitted, planned)
      await opts.drained?.()
    }
    if (pending.length > 0) await dispatch(pending)
  } finally {
    await drain()
  }
  opts.onProgress?.(out.emitted, planned)
  return out.counts()
}

/** The ledger keys a send claims and completes: the message's own, and its source message's when recorded. */
const keysOf = (it: PlanItem): string[] => (it.sourceKey ? [it.ledgerKey, it.sourceKey] : [it.ledgerKey])

/**
 * One ledger entry per key of `items` that `which` takes: every item's own key first, then the
 * source keys, each in item order. A batch's own keys stay together, so the ledger line packs
 * them (a shared prefix, runs of consecutive Kafka offsets: backends/file/ledger.ts packList).
 */
function entriesOf<T>(items: PlanItem[], make: (it: PlanItem, key: string, index: number) => T, which: (it: PlanItem, key: string) => boolean = () => true): T[] {
  const out: T[] = []
  for (let k = 0; k < items.length; k++) {
    const it = items[k]
    if (which(it, it.ledgerKey)) out.push(make(it, it.ledgerKey, k))
  }
  for (let k = 0; k < items.length; k++) {
    const it = items[k]
    if (it.sourceKey && which(it, it.sourceKey)) out.push(make(it, it.sourceKey, k))
  }
  return out
}

/** A key whose unconfirmed claim a doubt takes over, once the target is checked (PlanItem.inDoubt). */
const takenOver = (it: PlanItem, key: string): boolean => it.reason === 'in_doubt' && it.inDoubt?.includes(key) === true

const keysIn = (batch: Array<{it: PlanItem}>): string[] => entriesOf(batch.map(({it}) => it), (_, key) => key)

/** The ledger's note of an edited replay, carried on its claim and completion. */
const editOf = (it: PlanItem): {edit?: LedgerEdit} => (it.edit ? {edit: {sha256: it.edit.sha256}} : {})

const targetKey = (t: {topic: string; partition: number | null}) => `${t.topic}\u0000${t.partition}`

/**
 * Results reported in plan order although batches finish out of step with the planning of
 * later items: a slot is reserved per plan item and handed on once all before it are known.
 */
class OrderedResults {
  private readonly slots: Array<ResultItem | undefined> = []
  /** Plan index of slots[0]. */
  private base = 0
  private start = 0
  emitted = 0
  private readonly tally = {replayed: 0, skipped: 0, failed: 0}

  constructor(private readonly emit: (r: ResultItem) => void) {}

  reserve(): number {
    this.slots.push(undefined)
    return this.base + this.slots.length - 1
  }

  set(slot: number, r: ResultItem): void {
    this.slots[slot - this.base] = r
    while (this.start < this.slots.length && this.slots[this.start] !== undefined) {
      const item = this.slots[this.start]!
      this.slots[this.start++] = undefined
      this.tally[item.outcome]++
      this.emitted++
      this.emit(item)
    }
    // Drop the handed-on head now and then, so the array stays the size of what is in flight.
    if (this.start > 4096 && this.start * 2 > this.slots.length) {
      this.slots.splice(0, this.start)
      this.base += this.start
      this.start = 0
    }
  }

  counts(): ReplayCounts {
    if (this.start !== this.slots.length) throw new Error(`replay: ${this.slots.length - this.start} results never reported`)
    return {requested: this.emitted, ...this.tally}
  }
}

/**
 * The targets' end marks recorded with each claim. A mark is only a lower bound of where a
 * message sent after it can land, so one taken up to MARK_TTL_MS before the claim is as
 * correct as a fresh one and costs one round trip per target per second instead of per batch;
 * an in-doubt lookup then reads at most that much more of the target.
 */
class MarkCache {
  private readonly marks = new Map<string, {at: number; mark: string | null}>()

  constructor(private readonly sink: DlqSink) {}

  async get(topic: string, partition: number | null): Promise<string | null> {
    if (!this.sink.mark) return null
    const k = targetKey({topic, partition})
    const cached = this.marks.get(k)
    if (cached && Date.now() - cached.at < MARK_TTL_MS) return cached.mark
    const at = Date.now()
    const mark = await this.sink.mark(topic, partition)
    this.marks.set(k, {at, mark})
    return mark
  }
}
