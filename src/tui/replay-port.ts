import type {DecodedRecord} from '../core/record.js'

/**
 * What the TUI needs from the replay engine, in the shapes the screen shows. The browse
 * command adapts src/core/replay to this, so the widgets and their tests do not depend on
 * how plans are made or sent.
 */
export interface PlanTarget {
  topic: string
  partition: number | null
  count: number
}

export interface PlanView {
  /** Where the messages go (store display, no credentials). */
  sink: string
  send: number
  skip: number
  byTarget: PlanTarget[]
  /** System metadata headers that are left behind. */
  removedHeaders: string[]
  /** Skips by reason (already_replayed, no_source, …). */
  skipped: Record<string, number>
  /** Per-position notes worth reading before saying yes (in doubt, skips). */
  notes: Array<{position: string; text: string}>
  /** Messages sent without their key or user headers (DLQ_REPLAY_LAYOUT=payload or watermill has no place for them); absent when none is. */
  dropped?: {messages: number; keys: number; headers: string[]}
  /** Messages sent edited, and what changed (a compact, escaped diff). */
  changes?: Array<{position: string; text: string}>
}

export interface ResultItem {
  position: string
  outcome: 'replayed' | 'skipped' | 'failed'
  /** `topic/partition@offset` for a replayed message. */
  target: string | null
  reason: string | null
}

export interface ResultView {
  requested: number
  replayed: number
  skipped: number
  failed: number
  items: ResultItem[]
}

export interface PreparedReplay {
  view: PlanView
  /** The engine's own plan, handed back to `execute` unchanged. */
  plan: unknown
}

export interface ReplayPort {
  plan(positions: string[]): Promise<PreparedReplay>
  /** The plan of one message sent with this payload instead of its own (browse's $EDITOR); absent where replay cannot edit. */
  planEdited?(position: string, payload: Buffer): Promise<PreparedReplay>
  execute(plan: unknown, opts: {signal?: AbortSignal; onProgress?: (done: number, total: number) => void}): Promise<ResultView>
  /** The positions of those of these records that the ledger says were replayed already. */
  replayedAmong(records: readonly DecodedRecord[]): Promise<string[]>
  close(): Promise<void>
}

/** For sources where replay cannot be set up (say, a file DLQ without --sink): says why on `r`. */
export function unavailableReplay(why: string): ReplayPort {
  return {
    plan: () => Promise.reject(new Error(why)),
    execute: () => Promise.reject(new Error(why)),
    replayedAmong: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  }
}
