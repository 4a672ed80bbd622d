/**
 * The replay ledger: per DLQ position, what replay did with it. It lives in the DLQ's own
 * store (a file beside a file DLQ, a key in Redis, a topic in the Kafka cluster) so every
 * operator and CI job sees the same one.
 *
 * Protocol, per message:
 *   1. `claim` (atomic, before sending): records the intent and the target's end mark. Only
 *      one replay can hold the claim of a position, so two replays running at once send each
 *      message once.
 *   2. send, and wait for the store's acknowledgement;
 *   3. `complete`: records target and offset. A claim never completed is "in doubt": the send
 *      may or may not have happened. A later run resolves it by looking for the message in
 *      the target after the recorded mark (the sink's `find`); only when the sink cannot look
 *      is the position reported in doubt until `--force`.
 *   A send that certainly did not happen (the store refused the connection) is `release`d.
 */
export interface LedgerTarget {
  topic: string
  partition: number | null
}

/** An edited replay (fix before replay): the sha256 of the key, value and headers sent (edit.ts sentDigest). */
export interface LedgerEdit {
  sha256: string
}

export interface LedgerEntry {
  position: string
  state: 'claimed' | 'done'
  runId: string
  target: LedgerTarget
  /** Target end position when claimed (Kafka offset, Redis id), for resolving doubt. */
  mark: string | null
  /** Where the message landed, once done. */
  offset: string | null
  at: string
  /** Present when the message was (being) replayed edited. */
  edit?: LedgerEdit
}

/**
 * The entry that says what became of a record, of its own and its source message's (identity.ts
 * sourceKey): done wins — a copy replayed settles a claim of this record an earlier run never
 * confirmed —, else its own, else its source message's. Replay, purge and browse read it alike.
 */
export function decidingEntry(own: LedgerEntry | null, source: LedgerEntry | null): LedgerEntry | null {
  return own?.state === 'done' ? own : source?.state === 'done' ? source : (own ?? source)
}

/** What a replay asks the ledger to claim for one message. */
export interface ClaimRequest {
  position: string
  target: LedgerTarget
  mark: string | null
  edit?: LedgerEdit
  /**
   * The run whose unconfirmed claim this takes over (a doubt looked for in the target and not
   * found), forced or not: another run that took it over first, or completed it, keeps it.
   */
  over?: string
}

/** Who holds a position: the run, and whether its claim is unconfirmed (not done). */
export interface Holder {
  runId: string
  claimed: boolean
}

/**
 * Whether a claim by `runId` takes a position now held by `cur` (run and state): a free position
 * or one of its own, always; another run's when the claim names that run (`over`) and the claim
 * it holds is unconfirmed; else only when forced (--force). A takeover is written unforced with
 * the run it takes over: a dlq from before `over` (2026-12-01) folds it as a claim on a held
 * position, which does not count — it keeps seeing the crashed run's doubt, looks for the
 * message in the target from that run's mark, and finds the copy the taking run sent.
 */
export function claimTakes(cur: Holder | undefined, runId: string, force: boolean, over: string | undefined): boolean {
  if (cur === undefined || cur.runId === runId) return true
  if (over) return cur.runId === over && cur.claimed
  return force
}

/** Who holds a position, as claimTakes reads it, from its entry. */
export const holderOf = (e: LedgerEntry | undefined): Holder | undefined => e && {runId: e.runId, claimed: e.state === 'claimed'}

/**
 * The entries of records' own keys and of the source messages they hold (identity.ts sourceKey;
 * null where none), in one read: replay's plan and purge decide on both (decidingEntry).
 */
export function readWithSources(ledger: ReplayLedger, keys: string[], sources: Array<string | null>): Promise<Map<string, LedgerEntry>> {
  const more = sources.filter((k): k is string => k !== null)
  return ledger.read(more.length > 0 ? [...keys, ...more] : keys)
}

export interface ReplayLedger {
  /** Where the ledger is, for messages (no credentials). */
  readonly where: string
  /**
   * Why this ledger could not be written, or null: checked before a replay plans anything, so a
   * ledger in a place it cannot write (a directory that does not exist, no permission, a
   * directory named as the file) stops it at once, not every position as "not attempted".
   * `usage`: the path names something that can never be a ledger (a directory), not a place.
   */
  writeProblem?(): Promise<{text: string; usage: boolean} | null>
  read(positions: string[]): Promise<Map<string, LedgerEntry>>
  /**
   * Claims positions for this run, atomically per position. An entry that names the run it
   * takes over (`over`) takes that run's claim only while it is still unconfirmed (a
   * compare-and-set: of two replays resolving the same doubt at once, one holds it); with
   * `force`, any other existing claim or completion is taken over. Returns the positions this
   * run now holds (claimTakes).
   */
  claim(entries: ClaimRequest[], runId: string, force: boolean): Promise<Set<string>>
  complete(entries: Array<{position: string; target: LedgerTarget; offset: string; edit?: LedgerEdit}>, runId: string): Promise<void>
  /** Drops this run's claims on positions whose send certainly did not happen. */
  release(positions: string[], runId: string): Promise<void>
  /**
   * Optional: drops these positions from what the ledger holds in memory. Only for a
   * one-shot run that will not look at them again (the CLI's replay), so a ledger folded in
   * memory stays the size of the work in flight rather than of everything replayed.
   * Until the ledger is opened again, a forgotten position may read as never replayed.
   */
  forget?(positions: string[]): void
  close(): Promise<void>
}

/**
 * Folds ledger events in log order. A claim counts only when the position is free, already
 * this run's, or the claim was forced: in a log that several replays append to without a
 * lock (a Kafka topic), the first claim wins and a later one learns it lost by reading back.
 * `done` and `release` count only for the run that holds the claim.
 * Both line formats are folded: one event per message (`position`, written until 2026-11-30)
 * and one per batch (`ids`). `skipDone` drops a position's `done` instead of folding it (a
 * position the caller forgot on purpose).
 */
export function foldLedger(events: Iterable<AnyLedgerEvent>, state = new Map<string, LedgerEntry>(), skipDone?: (position: string) => boolean): Map<string, LedgerEntry> {
  for (const e of events) {
    if (isBatch(e)) {
      try {
        foldBatch(e, state, skipDone)
      } catch {
        // a damaged event (its ids do not unpack): skipped like a damaged line
      }
    } else if (!(e.op === 'done' && skipDone?.(e.position))) foldOne(e.op, e.position, e.runId, e.force === true, e.over, state, () => ({...extrasOf(e), position: e.position, state: e.op === 'claim' ? 'claimed' : 'done', runId: e.runId, target: e.target!, mark: e.mark ?? null, offset: e.offset ?? null, at: e.at}))
  }
  return state
}

function foldOne(op: LedgerEvent['op'], position: string, runId: string, force: boolean, over: string | undefined, state: Map<string, LedgerEntry>, entry: () => LedgerEntry): void {
  const cur = state.get(position)
  if (op === 'release') {
    if (cur && cur.runId === runId && cur.state === 'claimed') state.delete(position)
    return
  }
  if (op === 'claim' && !claimTakes(holderOf(cur), runId, force, over)) return
  if (op === 'done' && cur && cur.runId !== runId) return
  state.set(position, entry())
}

function foldBatch(e: LedgerBatchEvent, state: Map<string, LedgerEntry>, skipDone?: (position: string) => boolean): void {
  const ids = unpackList(e.ids)
  const offsets = e.offsets ? unpackList(e.offsets) : null
  const extras = extrasOf(e)
  const st = e.op === 'claim' ? 'claimed' : 'done'
  const target = e.target!
  const mark = e.mark ?? null
  const force = e.force === true
  for (let k = 0; k < ids.length; k++) {
    const position = ids[k]
    if (e.op === 'done' && skipDone?.(position)) continue
    foldOne(e.op, position, e.runId, force, e.over, state, () =>
      extras ? {...extras, position, state: st, runId: e.runId, target, mark, offset: offsets?.[k] ?? null, at: e.at} : {position, state: st, runId: e.runId, target, mark, offset: offsets?.[k] ?? null, at: e.at},
    )
  }
}

/**
 * The entries one event would set, in the order of its identities, each as `foldLedger` makes
 * it (whether it does set them depends on what came before). None for a release.
 */
export function eventEntries(e: AnyLedgerEvent): LedgerEntry[] {
  if (e.op === 'release') return []
  const st = e.op === 'claim' ? 'claimed' : 'done'
  const extras = extrasOf(e)
  if (!isBatch(e)) return [{...extras, position: e.position, state: st, runId: e.runId, target: e.target!, mark: e.mark ?? null, offset: e.offset ?? null, at: e.at}]
  const ids = unpackList(e.ids)
  const offsets = e.offsets ? unpackList(e.offsets) : null
  return ids.map((position, k) => ({...extras, position, state: st, runId: e.runId, target: e.target!, mark: e.mark ?? null, offset: offsets?.[k] ?? null, at: e.at}))
}

/** The identities an event names, in order. */
export const eventIds = (e: AnyLedgerEvent): string[] => (isBatch(e) ? unpackList(e.ids) : [e.position])

const KNOWN = new Set(['op', 'position', 'ids', 'runId', 'target', 'mark', 'offset', 'offsets', 'force', 'over', 'at', 'state'])

/**
 * Fields a newer writer added to an event (e.g. how the message was sent): carried into the
 * entries it makes, so an optional field needs no change here.
 */
function extrasOf(e: object): Record<string, unknown> | null {
  let out: Record<string, unknown> | null = null
  for (const k in e) {
    if (KNOWN.has(k)) continue
    out ??= {}
    out[k] = (e as Record<string, unknown>)[k]
  }
  return out
}

/** One message's ledger event: the line format written until 2026-11-30, still read. */
export interface LedgerEvent {
  op: 'claim' | 'done' | 'release'
  position: string
  runId: string
  target?: LedgerTarget
  mark?: string | null
  offset?: string | null
  /** A claim that takes over whatever another run held (--force, or a doubt checked absent). */
  force?: boolean
  /** A claim that takes over only this run's unconfirmed claim (ClaimRequest.over). */
  over?: string
  at: string
  edit?: LedgerEdit
}

/**
 * One event for many messages (what a replay writes now): what they share (run, target, mark,
 * time) once, their identities packed. A claim names one target and mark, so a batch of
 * messages for several target partitions is one event per partition.
 */
export interface LedgerBatchEvent {
  op: 'claim' | 'done' | 'release'
  ids: PackedList
  runId: string
  target?: LedgerTarget
  mark?: string | null
  /** `done`: where each message landed, in the order of `ids`. */
  offsets?: PackedList
  force?: boolean
  /** A claim that takes over only this run's unconfirmed claims (ClaimRequest.over). */
  over?: string
  at: string
  /** Every message of the event was (being) sent edited, these bytes (events differ per edit). */
  edit?: LedgerEdit
}

export type AnyLedgerEvent = LedgerEvent | LedgerBatchEvent

export const isBatch = (e: AnyLedgerEvent): e is LedgerBatchEvent => (e as LedgerBatchEvent).ids !== undefined

/**
 * A list of strings written compactly, order kept: the prefix they all share once (`msg:`, a
 * Kafka topic id), then each item after it, except that an item equal to the one before with
 * its decimal tail plus one (consecutive Kafka offsets, Redis entry ids of one millisecond) is
 * counted instead: a number n in `i` stands for n such items.
 */
export interface PackedList {
  p: string
  i: Array<string | number>
}

/** Where the decimal tail of s starts (a number without leading zeros, ≤ 15 digits), or -1. */
function tailStart(s: string): number {
  let k = s.length
  while (k > 0) {
    const c = s.charCodeAt(k - 1)
    if (c < 48 || c > 57) break
    k--
  }
  const len = s.length - k
  if (len === 0 || len > 15 || (len > 1 && s.charCodeAt(k) === 48)) return -1
  return k
}

/**
 * The items a list packed in this process was made from, so folding our own events (the file
 * ledger folds what it appends) does not rebuild them: unpacking built each identity anew as
 * a concatenation, which the index then had to flatten — together most of a claim's cost.
 */
const packedFrom = new WeakMap<PackedList, string[]>()

/** Packs `xs`, which must not change afterwards (`unpackList` may hand it back). */
export function packList(xs: string[]): PackedList {
  const l = packItems(xs)
  packedFrom.set(l, xs)
  return l
}

function packItems(xs: string[]): PackedList {
  if (xs.length === 0) return {p: '', i: []}
  // One item is written as it is, not as a prefix followed by nothing.
  if (xs.length === 1) return {p: '', i: [xs[0]]}
  let p = xs[0]
  for (let k = 1; k < xs.length && p.length > 0; k++) {
    const x = xs[k]
    if (x.startsWith(p)) continue
    let n = 0
    const max = Math.min(p.length, x.length)
    while (n < max && p.charCodeAt(n) === x.charCodeAt(n)) n++
    p = p.slice(0, n)
  }
  const items: Array<string | number> = []
  let head = ''
  let next = -1
  let run = 0
  for (const x of xs) {
    if (next >= 0 && next <= Number.MAX_SAFE_INTEGER && x.length > head.length && x.startsWith(head) && x.slice(head.length) === String(next)) {
      run++
      next++
      continue
    }
    if (run > 0) items.push(run)
    run = 0
    items.push(x.slice(p.length))
    const t = tailStart(x)
    if (t < 0) next = -1
    else {
      head = x.slice(0, t)
      next = Number(x.slice(t)) + 1
    }
  }
  if (run > 0) items.push(run)
  return {p, i: items}
}

/** The items of a packed list (for a list packed here, the very array it was packed from: do not change it). */
export function unpackList(l: PackedList): string[] {
  const known = packedFrom.get(l)
  if (known) return known
  const out: string[] = []
  let cur = ''
  for (const it of l.i) {
    if (typeof it === 'string') {
      cur = l.p + it
      out.push(cur)
      continue
    }
    const t = tailStart(cur)
    if (t < 0) throw new Error(`replay ledger: a run follows "${cur}", which ends in no number`)
    const head = cur.slice(0, t)
    let n = Number(cur.slice(t))
    for (let k = 0; k < it; k++) out.push(head + String(++n))
    cur = out[out.length - 1]
  }
  return out
}

/**
 * Events that claim these messages, one per target and mark (and per set of added fields, as
 * `doneEvents`: an edited message's claim names what it sends).
 */
export function claimEvents(entries: ClaimRequest[], runId: string, force: boolean, at: string): LedgerBatchEvent[] {
  const groups = new Map<string, {target: LedgerTarget; mark: string | null; over: string | undefined; extras: Record<string, unknown> | null; ids: string[]}>()
  for (const e of entries) {
    const extras = extrasOf(e)
    const over = e.over || undefined
    const k = `${e.target.topic}\u0000${e.target.partition}\u0000${e.mark}${over === undefined ? '' : `\u0001${over}`}${extras ? `\u0000${JSON.stringify(extras)}` : ''}`
    let g = groups.get(k)
    if (!g) groups.set(k, (g = {target: e.target, mark: e.mark, over, extras, ids: []}))
    g.ids.push(e.position)
  }
  return [...groups.values()].map((g) => ({op: 'claim', ids: packList(g.ids), runId, target: g.target, mark: g.mark, force, ...(g.over === undefined ? {} : {over: g.over}), at, ...g.extras}))
}

/**
 * Events that complete these messages, one per target (and per set of added fields: a
 * completion entry may carry more than position, target and offset, written once per event).
 */
export function doneEvents(entries: Array<{position: string; target: LedgerTarget; offset: string; edit?: LedgerEdit}>, runId: string, at: string): LedgerBatchEvent[] {
  const groups = new Map<string, {target: LedgerTarget; extras: Record<string, unknown> | null; ids: string[]; offsets: string[]}>()
  for (const e of entries) {
    const extras = extrasOf(e)
    const k = `${e.target.topic}\u0000${e.target.partition}${extras ? `\u0000${JSON.stringify(extras)}` : ''}`
    let g = groups.get(k)
    if (!g) groups.set(k, (g = {target: e.target, extras, ids: [], offsets: []}))
    g.ids.push(e.position)
    g.offsets.push(e.offset)
  }
  return [...groups.values()].map((g) => ({op: 'done', ids: packList(g.ids), runId, target: g.target, offsets: packList(g.offsets), at, ...g.extras}))
}

export function releaseEvent(positions: string[], runId: string, at: string): LedgerBatchEvent {
  return {op: 'release', ids: packList(positions), runId, at}
}

/** The entries of these positions, from a folded ledger. */
export function entriesOf(state: Map<string, LedgerEntry>, positions: string[]): Map<string, LedgerEntry> {
  const out = new Map<string, LedgerEntry>()
  for (const p of positions) {
    const e = state.get(p)
    if (e) out.set(p, e)
  }
  return out
}
