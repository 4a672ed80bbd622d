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

export interface ReplayLedger {
  /** Where the ledger is, for messages (no credentials). */
  readonly where: string
  read(positions: string[]): Promise<Map<string, LedgerEntry>>
  /**
   * Claims positions for this run, atomically per position. With `force`, an existing claim
   * or completion is taken over. Returns the positions this run now holds.
   */
  claim(entries: Array<{position: string; target: LedgerTarget; mark: string | null; edit?: LedgerEdit}>, runId: string, force: boolean): Promise<Set<string>>
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
 */
export function foldLedger(events: Iterable<LedgerEvent>, state = new Map<string, LedgerEntry>()): Map<string, LedgerEntry> {
  for (const e of events) {
    const cur = state.get(e.position)
    if (e.op === 'release') {
      if (cur && cur.runId === e.runId && cur.state === 'claimed') state.delete(e.position)
      continue
    }
    if (e.op === 'claim' && cur && cur.runId !== e.runId && !e.force) continue
    if (e.op === 'done' && cur && cur.runId !== e.runId) continue
    state.set(e.position, {position: e.position, state: e.op === 'claim' ? 'claimed' : 'done', runId: e.runId, target: e.target!, mark: e.mark ?? null, offset: e.offset ?? null, at: e.at, ...(e.edit ? {edit: e.edit} : {})})
  }
  return state
}

/** One line of an append-only ledger (file, Kafka topic). */
export interface LedgerEvent {
  op: 'claim' | 'done' | 'release'
  position: string
  runId: string
  target?: LedgerTarget
  mark?: string | null
  offset?: string | null
  /** A claim that takes over whatever another run held (--force, or a doubt checked absent). */
  force?: boolean
  at: string
  edit?: LedgerEdit
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
