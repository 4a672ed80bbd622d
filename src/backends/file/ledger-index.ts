import * as crypto from 'node:crypto'
import {claimTakes, eventEntries, eventIds, type AnyLedgerEvent, type Holder, type LedgerEntry} from '../../core/replay/ledger.js'

/** An event of the ledger file with the bytes of its line. */
export interface LedgerLine {
  e: AnyLedgerEvent
  start: number
  end: number
}

/** A run of consecutive lines with the same op and run: what a slot of the index points to. */
interface Span {
  op: 'claim' | 'done'
  runId: string
  start: number
  end: number
}

/** Who holds a message the span last set, as claimTakes reads it. */
const holderOfSpan = (span: Span | undefined): Holder | undefined => span && {runId: span.runId, claimed: span.op === 'claim'}

/** A span is re-read whole to answer for one of its messages: this keeps that read small. */
const MAX_SPAN_BYTES = 1024 * 1024
/** Spans kept parsed, for the windows of a plan that read the same part of the ledger. */
const CACHED_SPANS = 8
const EMPTY = 0
const GONE = -1
/**
 * Up to this many messages the index is a Map keyed by the identity string: a string caches
 * its hash, so a lookup costs a few nanoseconds, where the table's fingerprint (32 hex digits
 * parsed, or an MD5) costs a few hundred — five times per replayed message (read, claim, its
 * fold, the completion's fold, forget), a sixth of a replay's CPU. A one-shot replay holds only
 * what is in flight, so it stays a Map; a large ledger read from the file moves to the table
 * once, keeping a re-run's memory near 16 bytes a message (a Map entry is ~100).
 */
const MAP_LIMIT = 65_536

/** Reads 32 lowercase hex digits at `from` into four words; false if they are not. */
function hexWords(s: string, from: number, out: Int32Array): boolean {
  for (let w = 0; w < 4; w++) {
    let v = 0
    for (let j = from + w * 8, end = j + 8; j < end; j++) {
      const c = s.charCodeAt(j)
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1
      if (d < 0) return false
      v = (v << 4) | d
    }
    out[w] = v
  }
  return true
}

/**
 * The folded state of a file ledger in a compact form, so a ledger of a million replayed
 * messages is not a million entry objects in memory (which made a re-run's memory grow with
 * everything replayed before): per message 16 bytes of identity and the span of lines that
 * last set its entry, in an open-addressing table of typed arrays (~20–40 bytes a message).
 * An entry is rebuilt when asked for by re-reading its span (≤ 1 MiB) from the file, which only
 * ever grows; the few spans a plan window needs are kept parsed.
 *
 * The identity is the 128-bit digest itself for a file message (`msg:` + 32 hex digits) and a
 * source message (`src:` + 32 hex digits: identity.ts sourceKey), and an MD5 of the key for any other (Kafka and Redis identities): as unlikely to collide as the
 * content digests the ledger is keyed by, so the table needs no key strings. Until MAP_LIMIT
 * messages the index is a Map instead (see there).
 */
export class LedgerIndex {
  private cap = 1024
  private keys = new Int32Array(this.cap * 4)
  /** Per slot: EMPTY, GONE (deleted), or 1 + the index of its span. */
  private slot = new Int32Array(this.cap)
  private used = 0
  private live = 0
  private readonly spans: Span[] = []
  private readonly parsed = new Map<number, Map<string, LedgerEntry>>()
  private readonly fp = new Int32Array(4)
  /** Identity → index of its span, while the index is small (MAP_LIMIT); null once it is the table. */
  private byId: Map<string, number> | null = new Map()

  constructor(
    private readonly readRange: (start: number, end: number) => Buffer,
    private readonly mapLimit = MAP_LIMIT,
  ) {}

  get size(): number {
    return this.byId ? this.byId.size : this.live
  }

  /** Moves the Map's messages into the table, for good. */
  private toTable(): void {
    const m = this.byId!
    this.byId = null
    this.reserve(m.size)
    for (const [id, span] of m) {
      this.fingerprint(id)
      this.set(span)
    }
  }

  /** The index of the span that last set a message, or -1. */
  private spanIndex(position: string): number {
    if (this.byId) return this.byId.get(position) ?? -1
    this.fingerprint(position)
    const i = this.find()
    return i >= 0 ? this.slot[i] - 1 : -1
  }

  private drop(position: string): void {
    if (this.byId) this.byId.delete(position)
    else {
      this.fingerprint(position)
      this.remove()
    }
  }

  private fingerprint(position: string): void {
    if (position.length !== 36 || !(position.startsWith('msg:') || position.startsWith('src:')) || !hexWords(position, 4, this.fp)) hexWords(crypto.createHash('md5').update(position).digest('hex'), 0, this.fp)
  }

  /** The slot of the current fingerprint, or where it would go (-1 - slot). */
  private find(): number {
    const f = this.fp
    // All four words mixed: a digest's are uniform, but an identity need not be one.
    let h = Math.imul(f[0] ^ Math.imul(f[1], 0x9e3779b1), 0x85ebca6b) ^ Math.imul(f[2] ^ Math.imul(f[3], 0xc2b2ae35), 0x27d4eb2f)
    h ^= h >>> 15
    let i = (h >>> 0) % this.cap
    let free = -1
    for (;;) {
      const s = this.slot[i]
      if (s === EMPTY) return -1 - (free >= 0 ? free : i)
      if (s === GONE) {
        if (free < 0) free = i
      } else {
        const o = i * 4
        if (this.keys[o] === f[0] && this.keys[o + 1] === f[1] && this.keys[o + 2] === f[2] && this.keys[o + 3] === f[3]) return i
      }
      i = i + 1 === this.cap ? 0 : i + 1
    }
  }

  private spanOf(position: string): Span | undefined {
    const n = this.spanIndex(position)
    return n >= 0 ? this.spans[n] : undefined
  }

  /** Sets the current fingerprint's slot (`at`: what `find` said, when already asked). */
  private set(span: number, at = this.find()): void {
    let i = at
    if (i >= 0) {
      this.slot[i] = span + 1
      return
    }
    i = -1 - i
    if (this.slot[i] === EMPTY) this.used++
    this.live++
    this.slot[i] = span + 1
    this.keys.set(this.fp, i * 4)
    if (this.used * 4 > this.cap * 3) this.rehash()
  }

  private remove(): void {
    const i = this.find()
    if (i < 0) return
    this.slot[i] = GONE
    this.live--
  }

  /**
   * Room for `n` messages in all, made at once: a ledger read from the start would otherwise
   * grow the table a dozen times, each time holding the old and the new one.
   */
  reserve(n: number): void {
    if (this.byId) {
      if (n <= this.mapLimit) return
      this.toTable()
    }
    if (n * 4 > this.cap * 3) this.rehash(Math.ceil(n / 0.7))
  }

  /** A bigger table when it is mostly live, the same size when mostly deleted slots. */
  private rehash(cap = this.live * 2 > this.cap ? Math.ceil(this.cap * 1.5) : this.cap): void {
    const oldKeys = this.keys
    const oldSlot = this.slot
    this.cap = cap
    this.keys = new Int32Array(this.cap * 4)
    this.slot = new Int32Array(this.cap)
    this.used = 0
    this.live = 0
    for (let j = 0; j < oldSlot.length; j++) {
      if (oldSlot[j] <= 0) continue
      this.fp.set(oldKeys.subarray(j * 4, j * 4 + 4))
      this.set(oldSlot[j] - 1)
    }
  }

  /** Folds lines of the file in order, as `foldLedger` does. */
  fold(lines: LedgerLine[]): void {
    let open: Span | null = null
    for (const {e, start, end} of lines) {
      let ids: string[]
      try {
        ids = eventIds(e)
      } catch {
        continue // a damaged event: skipped, as foldLedger does
      }
      const runId = e.runId
      const force = e.force === true
      const over = e.op === 'claim' ? e.over : undefined
      if (e.op === 'release') {
        open = null
        for (const id of ids) {
          const cur = this.spanOf(id)
          if (cur && cur.runId === runId && cur.op === 'claim') this.drop(id)
        }
        continue
      }
      if (!open || open.op !== e.op || open.runId !== runId || open.end !== start || end - open.start > MAX_SPAN_BYTES) {
        open = {op: e.op, runId, start, end}
        this.spans.push(open)
      } else {
        open.end = end
        this.parsed.delete(this.spans.length - 1)
      }
      const span = this.spans.length - 1
      const m = this.byId
      if (m) {
        for (const id of ids) {
          const n = m.get(id)
          const cur = n === undefined ? undefined : this.spans[n]
          if (e.op === 'claim' && !claimTakes(holderOfSpan(cur), runId, force, over)) continue
          if (e.op === 'done' && cur && cur.runId !== runId) continue
          m.set(id, span)
        }
        if (m.size > this.mapLimit) this.toTable()
        continue
      }
      for (const id of ids) {
        this.fingerprint(id)
        const at = this.find()
        const cur = at >= 0 ? this.spans[this.slot[at] - 1] : undefined
        if (e.op === 'claim' && !claimTakes(holderOfSpan(cur), runId, force, over)) continue
        if (e.op === 'done' && cur && cur.runId !== runId) continue
        this.set(span, at)
      }
    }
  }

  /** The run holding a message and whether unconfirmed, without re-reading its span (what a claim checks). */
  holderOf(position: string): Holder | undefined {
    return holderOfSpan(this.spanOf(position))
  }

  get(position: string): LedgerEntry | undefined {
    const n = this.spanIndex(position)
    if (n < 0) return undefined
    let entries = this.parsed.get(n)
    if (entries) {
      // Most recently used last.
      this.parsed.delete(n)
      this.parsed.set(n, entries)
    } else {
      entries = this.parse(this.spans[n])
      this.parsed.set(n, entries)
      if (this.parsed.size > CACHED_SPANS) this.parsed.delete(this.parsed.keys().next().value!)
    }
    return entries.get(position)
  }

  /** The entries a span sets: the last line naming a message in it is the one that counts. */
  private parse(span: Span): Map<string, LedgerEntry> {
    const out = new Map<string, LedgerEntry>()
    const text = this.readRange(span.start, span.end).toString('utf8')
    for (const line of text.split('\n')) {
      if (line.length < 2) continue
      let e: AnyLedgerEvent
      try {
        e = JSON.parse(line)
      } catch {
        continue
      }
      if (e.op !== span.op || e.runId !== span.runId) continue
      try {
        for (const entry of eventEntries(e)) out.set(entry.position, entry)
      } catch {
        // a damaged event, skipped when folded too
      }
    }
    return out
  }

  /** Drops messages from the table (a one-shot run's finished work). */
  forget(positions: string[]): void {
    if (this.byId) {
      for (const p of positions) this.byId.delete(p)
      return
    }
    for (const p of positions) {
      this.fingerprint(p)
      this.remove()
    }
    if (this.live * 4 < this.used) this.rehash()
  }
}
