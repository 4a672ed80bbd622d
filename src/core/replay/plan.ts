import {UsageError} from '../errors.js'
import type {RecordFilter} from '../filter.js'
import type {ConventionName, DecodedRecord, RawHeader} from '../record.js'
import {scanInBatches, type DlqReader} from '../reader.js'
import {chooseLayout, layoutFromEnv, targetNameProblem, type DlqSink, type LayoutChoice, type LayoutName, type OutgoingMessage, type StreamLayout, type TargetInfo} from '../sink.js'
import {applyEdits, hasEdits, type EditChange, type EditSpec} from './edit.js'
import {decidingEntry, readWithSources, type LedgerEntry, type ReplayLedger} from './ledger.js'
import {replayConvention} from '../message.js'
import {comparePositions} from './order.js'
import {ledgerKey, sourceKey} from './identity.js'
import {defaultPartitioner, partitionFor, type PartitionerName} from './partitioners.js'
import {protectedNames, protectedTarget, type ProtectedNames} from './protected.js'

export type SkipReason =
  | 'not_found'
  | 'no_source'
  | 'already_replayed'
  | 'in_doubt'
  | 'filtered'
  | 'unreadable'
  | 'payload_truncated'
  | 'target_missing'
  | 'protected_target'
  | 'too_large'
  | 'skipped_by_transform'
  | 'edit_failed'
  | 'target_invalid'
  | 'layout_drops_data'
  | 'not_original'

/**
 * The time a replayed record carries. `now` (the default): the store stamps it when it is written,
 * so topic retention counts from the replay — a DLQ record's own time is often the failure time,
 * weeks old, and a record stamped with it can be deleted by retention at once. `original`: the
 * failed record's own time where the convention recorded it (else the DLQ record's time), for
 * consumers that window by event time. `dlq`: the DLQ record's time.
 */
export type TimestampPolicy = 'now' | 'original' | 'dlq'
export const TIMESTAMP_POLICIES: TimestampPolicy[] = ['now', 'original', 'dlq']

export interface PlanItem {
  position: string
  action: 'send' | 'skip'
  reason: SkipReason | null
  /** Human words for a skip (which target is missing, when it was replayed, …). */
  detail: string | null
  target: {topic: string; partition: number | null} | null
  /**
   * How the partition was chosen: `recorded` (the original partition), `murmur2`/`crc32`/`fnv1a`
   * (the original producer's key hash, the source partition not being recorded), `store` (no key
   * or no partitions: the store chooses). A doubtful recorded partition says so in `doubt`.
   */
  partitionBy: 'recorded' | PartitionerName | 'store' | null
  doubt: string | null
  /** How the entry is laid out in a store with layouts (a Redis stream); null for Kafka and skips. */
  layout: StreamLayout | null
  headersKept: string[]
  headersRemoved: string[]
  /** What will be sent; absent for skips. */
  message: OutgoingMessage | null
  /** The ledger's word on this message when the plan was made. */
  ledger: LedgerEntry | null
  /** The message's key in the ledger: its identity, not its position (which can shift). */
  ledgerKey: string
  /**
   * The key of the source message it holds (identity.ts sourceKey), claimed and completed with
   * `ledgerKey` so that its other copies are known as replayed; null or absent when not recorded.
   */
  sourceKey?: string | null
  /** The keys whose unconfirmed claims (`ledger`'s run's) this send takes over once the target is checked. */
  inDoubt?: string[]
  /** What fix-before-replay changed (edit.ts); absent when the message goes back as it is. */
  edit?: EditChange
  /**
   * What the layout asked for (`--layout payload`, `watermill`) has no place for, so is not sent:
   * the key and the user headers (those are then not in headersKept). Absent when nothing is lost.
   */
  dropped?: {key: boolean; headers: string[]}
}

export interface ReplayPlan {
  source: string
  sink: string
  ledger: string
  timestamp?: TimestampPolicy
  items: PlanItem[]
}

export interface ReplayRequest {
  /** Explicit positions (`--offset`), in any order; duplicates are sent once. */
  positions?: string[]
  /** `--all`: every message the filter selects. */
  all?: boolean
  filter: RecordFilter
  /** `--to`: one target topic for every message instead of its recorded source. */
  to?: string | null
  /** Replay even positions the ledger says were replayed, or are in doubt. */
  force?: boolean
  /** `--partitioner`: the key hash for messages without a recorded partition (default: per convention). */
  partitioner?: PartitionerName | null
  /** `--timestamp`: what time the replayed records carry (default `now`). */
  timestamp?: TimestampPolicy
  /** `--layout`: how entries are laid out in a Redis stream (default DLQ_REPLAY_LAYOUT, else auto). */
  layout?: LayoutChoice
  /** Fix before replay: --set, --set-header, --drop-header, --transform (edit.ts). */
  edit?: EditSpec
}

/** Plan options shared by planReplay and the streaming replay. */
export interface PlanOptions {
  to: string | null
  force: boolean
  partitioner?: PartitionerName | null
  timestamp?: TimestampPolicy
  layout?: LayoutChoice
  /** dlq's own names, never targets (worked out once per replay; see protected.ts). */
  protect?: ProtectedNames
  edit?: EditSpec
}

export interface ReplayDeps {
  reader: DlqReader
  sink: DlqSink
  ledger: ReplayLedger
}

/** The target name rule of the sink's store (sink.ts targetNameProblem), applied to `--to` before anything is sent. */
export function checkTopicName(topic: string, what: string, sinkKind = 'kafka'): string {
  const problem = targetNameProblem(topic, sinkKind)
  if (problem !== null) throw new UsageError(`${what} ${JSON.stringify(topic)}: ${problem}`)
  return topic
}

async function selectPositions(reader: DlqReader, req: ReplayRequest): Promise<{records: DecodedRecord[]; missing: string[]; filtered: DecodedRecord[]}> {
  const wanted = [...new Set((req.positions ?? []).map((p) => reader.parsePosition(p)))]
  if (wanted.length === 0) throw new UsageError('nothing to replay: give --offset POS (repeatable) or --all with filters')
  const found = await reader.get(wanted)
  const records: DecodedRecord[] = []
  const filtered: DecodedRecord[] = []
  for (const p of wanted) {
    const r = found.get(p)
    if (!r) continue
    ;(req.filter.isEmpty || req.filter.matches(r) ? records : filtered).push(r)
  }
  return {records, missing: wanted.filter((p) => !found.has(p)), filtered}
}

/** Where and when a ledger entry says its message was replayed. */
const replayedWhere = (entry: LedgerEntry): string => `replayed to ${entry.target.topic}${entry.offset === null ? '' : ` at ${entry.offset}`} on ${entry.at}`

/** How a record that does not hold the original message can be sent, in the CLI's words (browse puts its own key in: tui/replay-wiring.ts). */
export const NOT_ORIGINAL_HINT = 'replay sends only the original message; a --transform that returns the payload sends that instead'

/** Why a record that does not hold the original message is not sent, and how it can be. */
const notOriginalText = (lost: string): string => `${lost}: ${NOT_ORIGINAL_HINT}`

const skip = (position: string, reason: SkipReason, detail: string | null = null, ledger: LedgerEntry | null = null): PlanItem => ({
  ledgerKey: position,
  position,
  action: 'skip',
  reason,
  detail,
  target: null,
  partitionBy: null,
  doubt: null,
  layout: null,
  headersKept: [],
  headersRemoved: [],
  message: null,
  ledger,
})

/**
 * A slice of the selection in DLQ order, planned only when asked: once a replay has stopped,
 * the rest of the selection is listed as not attempted without consulting ledger or target.
 */
export interface PlanWindow {
  positions: string[]
  plan(): Promise<PlanItem[]>
}

/**
 * Records read and planned per window of `--all`: what is held in memory at once. With the
 * batches in flight (execute.ts SEND_BATCH × MAX_DEPTH) this is what outlives V8's young
 * generation and is promoted: 2,000 made a replay's old generation, and its peak RSS, a third
 * larger (1M messages: 205 MB → 1,000: ~175 MB) for no measurable speed. What is promoted is
 * what lives across more than two young collections (~2,300 messages each, at ~7 KB of garbage
 * a message): 500 (with SEND_BATCH 500) took 1M → Kafka from 191–196 to 177–183 MB, and 300k →
 * Redis from 187 to 171 MB at the same CPU (4 alternating runs: median 11.0 against 11.4 s);
 * 250 took 15 MB more off but cost 15% more CPU (the fixed costs of a batch: its ledger lines,
 * its fsync, its request).
 */
export const PLAN_WINDOW = 500

/**
 * The plan as a stream of windows, in DLQ order (which keeps each source partition's order):
 * `--all` reads the selection window by window, so memory does not grow with its size;
 * `--offset` lists (bounded by the command line) are one window, sorted.
 */
export async function* planWindows(deps: ReplayDeps, req: ReplayRequest, opts: {signal?: AbortSignal; onEnd?: () => void} = {}): AsyncGenerator<PlanWindow> {
  const to = req.to ? checkTopicName(req.to, '--to', deps.sink.info.kind) : null
  const planOpts: PlanOptions = {to, force: req.force === true, partitioner: req.partitioner, timestamp: req.timestamp, layout: req.layout, protect: protectedNames(deps.reader.info), edit: req.edit}
  const targets: TargetCache = new Map()
  if (!req.all) {
    const items = await planPositions(deps, req, planOpts, targets)
    yield {positions: items.map((i) => i.position), plan: async () => items}
    opts.onEnd?.()
    return
  }
  if (req.positions && req.positions.length > 0) throw new UsageError('use either --offset or --all, not both')
  let window: DecodedRecord[] = []
  const sending = new SendingMemory()
  const cut = (records: DecodedRecord[]): PlanWindow => ({positions: records.map((r) => r.position), plan: () => planRecords(deps, records, planOpts, targets, sending)})
  // A batch at a time: an await per record was a few percent of a replay's CPU.
  for await (const records of scanInBatches(deps.reader, {filter: req.filter, signal: opts.signal})) {
    for (const r of records) {
      window.push(r)
      if (window.length >= PLAN_WINDOW) {
        yield cut(window)
        window = []
      }
    }
  }
  if (window.length > 0) yield cut(window)
  // The whole selection was read (a scan cut short by Ctrl-C ends early, without an error).
  if (!opts.signal?.aborted) opts.onEnd?.()
}

async function planPositions(deps: ReplayDeps, req: ReplayRequest, planOpts: PlanOptions, targets: TargetCache): Promise<PlanItem[]> {
  const {records, missing, filtered} = await selectPositions(deps.reader, req)
  // A message purged after its replay is gone from the DLQ but not from the ledger: asked for
  // again, it is already replayed (exit 0), not missing — where its identity needs no content.
  const ids = new Map<string, string>()
  if (!req.force && deps.reader.identityOf) for (const p of missing) {
    const id = deps.reader.identityOf(p)
    if (id !== null) ids.set(p, id)
  }
  const known = ids.size > 0 ? await deps.ledger.read([...ids.values()]) : new Map<string, LedgerEntry>()
  const items: PlanItem[] = missing.map((p) => {
    const entry = known.get(ids.get(p) ?? '')
    if (entry?.state === 'done') return skip(p, 'already_replayed', `${replayedWhere(entry)}; no longer in the DLQ (purged)`, entry)
    return skip(p, 'not_found', 'no message at this position (any more)')
  })
  for (const r of filtered) items.push(skip(r.position, 'filtered', 'does not match the filters'))
  for (const it of await planRecords(deps, records, planOpts, targets)) items.push(it)
  items.sort((a, b) => comparePositions(a.position, b.position))
  return items
}

/**
 * The whole plan in memory: for the confirmation of an explicit list and for `browse`.
 * `--all` streams through `planWindows` instead.
 */
export async function planReplay(deps: ReplayDeps, req: ReplayRequest): Promise<ReplayPlan> {
  const items: PlanItem[] = []
  for await (const w of planWindows(deps, req)) for (const it of await w.plan()) items.push(it)
  return {source: deps.reader.info.display, sink: deps.sink.info.display, ledger: deps.ledger.where, timestamp: req.timestamp ?? 'now', items}
}

export type TargetCache = Map<string, TargetInfo>

/** Windows of a plan whose messages SendingMemory keeps at least: the one planned, one pending, and the batches in flight (execute.ts MAX_DEPTH). */
const KEPT_WINDOWS = 6
/**
 * Windows whose source messages it keeps at least: 8,000 records of PLAN_WINDOW (at most twice that). The
 * ledger knows a source message once its first copy's send is complete, but a one-shot replay
 * lets finished keys go (ReplayLedger.forget), so a copy later in the same run is told by this
 * memory alone. (50,000 records cost ~35 MB of peak RSS in a replay of 1M, measured: over the
 * 200 MB goal.)
 */
const SOURCE_WINDOWS = Math.ceil(8_000 / PLAN_WINDOW)

/**
 * Keys met → the position of the first record met with each, kept for at least `span` windows
 * and at most twice that: in two generations, the older dropped whole when the newer is
 * `span` windows old (one Map let go, not a delete per key).
 */
class Generations {
  private current = new Map<string, string>()
  private previous = new Map<string, string>()
  private windows = 0

  constructor(private readonly span: number) {}

  nextWindow(): void {
    if (++this.windows <= this.span) return
    this.previous = this.current
    this.current = new Map()
    this.windows = 1
  }

  get(key: string): string | undefined {
    return this.current.get(key) ?? this.previous.get(key)
  }

  set(key: string, position: string): void {
    this.current.set(key, position)
  }
}

/**
 * The messages a plan sends (ledger key → the position of the first copy), over its last few
 * windows. Two byte-identical file entries are one message to the ledger (identity.ts): a copy
 * met again is not sent beside the first — whether that one is still pending, in flight, or
 * completed and already forgotten by the ledger (forgetDone) — as a later run would not send
 * it. Bounded, so memory stays flat; copies further apart are found in the ledger, unless it
 * has forgotten them.
 */
class SendingMemory {
  /** Ledger keys of messages sent. */
  private readonly sent = new Generations(KEPT_WINDOWS)
  /** Source keys (identity.ts sourceKey) of messages sent or found replayed. */
  private readonly sources = new Generations(SOURCE_WINDOWS)

  /** Starts the next window, letting the oldest go. */
  nextWindow(): void {
    this.sent.nextWindow()
    this.sources.nextWindow()
  }

  /**
   * The position of the first record met holding the source message `key` (identity.ts
   * sourceKey) names, or undefined (then this record is that first copy, remembered from now
   * on). A writer may dead-letter one source message more than once — Kafka Streams' default
   * LogAndFail handler on every restart (the kafka-streams capture), Spring's retry topics once
   * per hop, Spring Kafka when the application dies between the DLT send and the offset commit —
   * and the copies are separate DLQ records (other positions, other failure times): a replay
   * sends that message once. The ledger knows it by the same key once the first copy's send is
   * complete; this covers the copies planned meanwhile.
   */
  copyOf(key: string, position: string): string | undefined {
    const seen = this.sources.get(key)
    if (seen !== undefined) return seen
    this.sources.set(key, position)
    return undefined
  }

  /** One lookup per message (this is on every send's path). */
  firstOf(key: string): string | undefined {
    return this.sent.get(key)
  }

  /** A key not met before (firstOf gave undefined), sent by the current window. */
  add(key: string, position: string): void {
    this.sent.set(key, position)
  }
}

/** `topic partition P offset O`, as a skip's text names a source message (escaped where it is shown). */
const sourceText = (s: DecodedRecord['source']): string => `${JSON.stringify(s.topic)} partition ${s.partition} offset ${s.offset}`

/** The plan items of records already read, in their order (targets looked up once per topic). */
export async function planRecords(deps: ReplayDeps, records: DecodedRecord[], opts: PlanOptions, targets: TargetCache, sending = new SendingMemory()): Promise<PlanItem[]> {
  const {to} = opts
  const req = {force: opts.force}
  const names = opts.protect ?? protectedNames(deps.reader.info)
  const kind = deps.reader.info.kind
  // Each record's key once: a file record's key is a digest of the whole message.
  const keys = records.map((r) => ledgerKey(r, kind))
  // And the key of the source message each holds (identity.ts sourceKey), read in the same request.
  const sources = records.map(sourceKey)
  const ledger = await readWithSources(deps.ledger, keys, sources)
  const layoutChoice = opts.layout ?? layoutFromEnv()
  const edits = hasEdits(opts.edit) ? opts.edit : null
  const items: PlanItem[] = []
  // What a target name is checked for, once per name in the window (not once per message).
  const checked = new Map<string, {badName: string | null; name: string; refused: string | null}>()
  const checkTarget = (topic: string) => {
    const badName = targetNameProblem(topic, deps.sink.info.kind)
    // From here on the target is named as the store names it (a Redis sink's ?prefix= + topic):
    // protection, the plan, the result and the ledger all see the stream really written.
    const name = badName === null && deps.sink.targetName ? deps.sink.targetName(topic) : topic
    return {badName, name, refused: badName === null ? protectedTarget(name, names) : null}
  }
  sending.nextWindow()
  for (let i = 0; i < records.length; i++) {
    let r = records[i]
    if (r.unreadable !== null) {
      items.push(skip(r.position, 'unreadable', r.unreadable))
      continue
    }
    if (r.payloadTruncated) {
      items.push(skip(r.position, 'payload_truncated', 'only a preview of the payload is stored here (an export made with --payload-limit)'))
      continue
    }
    let topic = to ?? r.source.topic
    if (topic === null) {
      items.push(skip(r.position, 'no_source', 'no source topic is recorded; give --to TOPIC'))
      continue
    }
    // Checked before editing: a transform is not run (nor can fail) for a message already replayed.
    const own = ledger.get(keys[i]) ?? null
    // The source message's entry, when this record has none of its own: a copy of it (another
    // record of the same source message) was replayed, or claimed, by an earlier run.
    const source = sources[i] === null ? null : (ledger.get(sources[i]!) ?? null)
    const entry = decidingEntry(own, source)
    // The first copy of a source message this run sends (or finds replayed) stands for it; later
    // copies (the writer dead-lettered it more than once) follow it: it is sent once.
    const firstCopy = () => (sources[i] === null ? undefined : sending.copyOf(sources[i]!, r.position))
    if (entry && entry.state === 'done' && !req.force) {
      firstCopy()
      const copy = entry !== own ? `the same source message (${sourceText(r.source)}, same key and payload: the writer dead-lettered it more than once) was ` : ''
      items.push(skip(r.position, 'already_replayed', `${copy}${replayedWhere(entry)}; --force replays it again`, entry))
      continue
    }
    /**
     * Claims of earlier replays never confirmed, looked for in the target before anything is
     * sent: this record's own, and its source message's (made for another copy of it).
     */
    const claims = req.force ? [] : [own, source].filter((e): e is LedgerEntry => e !== null && e.state === 'claimed')
    const unconfirmed = claims[0] ?? null
    /** Whose claim it is, in a skip's words. */
    const claimer = (e: LedgerEntry) => (e === source && e !== own ? 'a replay of another record of the same source message' : 'a replay')
    if (claims.length === 2 && claims[0].runId !== claims[1].runId) {
      items.push(skip(r.position, 'in_doubt', `two replays claimed it (on ${claims[0].at}, and one of another record of the same source message on ${claims[1].at}) and neither confirmed the send: check the target, then --force`, unconfirmed))
      continue
    }
    // A record that does not hold the original message (its writer lost it) is not sent as it is: that would be
    // another message. Only a transform (or browse's editor) that supplies the payload sends it, and what goes
    // is then the operator's; --set edits the bytes the record holds, which are not the message.
    if (r.notOriginal && !edits?.transform) {
      items.push(skip(r.position, 'not_original', notOriginalText(r.notOriginal)))
      continue
    }
    // Fix before replay: the record is edited here, so the dry run shows what would be sent.
    let edit: EditChange | undefined
    let forced: number | null = null
    if (edits) {
      const out = await applyEdits(edits, r, {topic, partition: null})
      if (out.kind === 'skip') {
        items.push(skip(r.position, 'skipped_by_transform', `${edits.transformName ?? 'the transform'} returned null`))
        continue
      }
      if (out.kind === 'error') {
        items.push(skip(r.position, 'edit_failed', out.message))
        continue
      }
      if (r.notOriginal && !(out.kind === 'edited' && out.payloadByTransform)) {
        items.push(skip(r.position, 'not_original', `${notOriginalText(r.notOriginal)} (${edits.transformName ?? 'the transform'} left the payload as the record holds it)`))
        continue
      }
      if (out.kind === 'edited') {
        edit = out.change
        r = {...r, key: out.key, payload: out.payload, userHeaders: out.headers}
        topic = out.target.topic
        forced = out.target.partition
      }
    }
    // A name the target's store cannot have fails this message alone, before the store is asked
    // (Kafka answers a metadata request for one with an error for the whole request).
    let check = checked.get(topic)
    if (check === undefined) checked.set(topic, (check = checkTarget(topic)))
    if (check.badName !== null) {
      items.push(skip(r.position, 'target_invalid', `${JSON.stringify(topic)} cannot be a target in ${deps.sink.info.display}: ${check.badName}${to === null ? '; give --to TOPIC' : ''}`))
      continue
    }
    topic = check.name
    const refused = check.refused
    if (refused !== null) {
      items.push(skip(r.position, 'protected_target', `${refused}: dlq never writes to its own topics and streams (not even with --to)`))
      continue
    }
    // A claim in doubt is looked for by the bytes it sent: only the same edit can find it.
    if (unconfirmed && (unconfirmed.edit?.sha256 ?? null) !== (edit?.sha256 ?? null)) {
      items.push(skip(r.position, 'in_doubt', `${claimer(unconfirmed)} claimed it on ${unconfirmed.at} ${unconfirmed.edit ? `sending an edited version (sha256 ${unconfirmed.edit.sha256.slice(0, 12)}…)` : 'sending it unedited'} but did not confirm the send, and this replay would send ${edit ? `other bytes (sha256 ${edit.sha256.slice(0, 12)}…)` : 'it unedited'}: it cannot be looked for in the target; check the target, then --force`, unconfirmed))
      continue
    }
    // ... and only in the target it was sent to (another --to or a transform's target would look in the wrong place).
    // Claims name the stream really written. (An earlier dlq recorded the bare topic behind a
    // ?prefix= sink; such a claim is not matched through the prefix: a claim made without the
    // prefix names the same text and was sent elsewhere. It stays in doubt, for --force.)
    if (unconfirmed && unconfirmed.target.topic !== topic) {
      items.push(skip(r.position, 'in_doubt', `${claimer(unconfirmed)} claimed it on ${unconfirmed.at} for "${unconfirmed.target.topic}" but did not confirm the send, and this replay would send it to "${topic}": it can only be looked for where it was sent; check "${unconfirmed.target.topic}", then --force`, unconfirmed))
      continue
    }
    let info = targets.get(topic)
    if (!info) {
      info = await deps.sink.describeTarget(topic)
      targets.set(topic, info)
    }
    if (info.refused !== undefined) {
      items.push(skip(r.position, 'target_invalid', info.refused))
      continue
    }
    if (!info.exists) {
      // dlq never creates a target: a topic or stream nobody reads would swallow the message.
      const how =
        deps.sink.info.kind === 'redis'
          ? `; a stream exists once its consumers' group does (XGROUP CREATE ${topic} GROUP $ MKSTREAM), then run the replay again`
          : '; create the topic (or name another with --to), then run the replay again'
      items.push(skip(r.position, 'target_missing', `target ${deps.sink.info.kind === 'redis' ? 'stream' : 'topic'} "${topic}" does not exist in ${deps.sink.info.display}${how}`))
      continue
    }
    // Only a target with a known limit pays for the size (a Redis stream has none).
    const size = info.maxMessageBytes ? recordSize(r) : 0
    if (info.maxMessageBytes && size > info.maxMessageBytes) {
      items.push(skip(r.position, 'too_large', `the record is ${size} bytes; "${topic}" accepts at most ${info.maxMessageBytes} (max.message.bytes): raise it on the topic, or use --to`))
      continue
    }
    if (forced !== null && (info.partitions === null || forced >= info.partitions)) {
      items.push(skip(r.position, 'edit_failed', `${edits?.transformName ?? 'the transform'} chose partition ${forced}, which "${topic}" does not have`))
      continue
    }
    // An export read back is planned by the convention it was read with (replayConvention).
    const convention = replayConvention(r)
    const {partition, partitionBy} = forced !== null ? {partition: forced, partitionBy: 'recorded' as const} : choosePartition(r, info.partitions, opts.partitioner ?? null, convention)
    let {kept, removed} = headerNames(r, convention)
    const layout = info.layout === undefined ? null : chooseLayout(layoutChoice, convention, info.layout)
    // A layout with no place for the key or headers (payload: neither; watermill: no key) loses
    // them, and the plan says so. The payload layout keeps nothing but the bytes and is told by a
    // weak sign (any lone `payload` field), or by convention for a hyperi entry an edit gave a
    // header: unless the operator chose it, a message it would strip is skipped instead. Watermill
    // keeps the headers, and no Watermill consumer has a key to read.
    let dropped: PlanItem['dropped']
    const lost = layout === null ? null : lostBy(layout, r.key !== null, kept)
    if (lost !== null && layout !== null) {
      if (layout.name === 'payload' && layoutChoice !== 'payload') {
        const why = convention === 'hyperi' ? "what hyperi-rustlib's transport reads" : `the newest entry of "${topic}" is a lone payload field`
        items.push(skip(r.position, 'layout_drops_data', `layout payload (${why}) has no place for ${lostText(lost)}: --layout payload sends the payload without them, --layout dlq or fields keeps them`))
        continue
      }
      dropped = lost
      if (lost.headers.length > 0) kept = NONE
    }
    const first = sending.firstOf(keys[i])
    if (first !== undefined) {
      items.push(skip(r.position, 'already_replayed', `the same message as position ${first} (a byte-identical entry), which this replay sends: one message is sent once`))
      continue
    }
    const copyOf = firstCopy()
    if (copyOf !== undefined) {
      items.push(skip(r.position, 'already_replayed', `the same source message as position ${copyOf} (${sourceText(r.source)}, same key and payload: the writer dead-lettered it more than once), which this replay sends: only that copy is replayed, once`))
      continue
    }
    sending.add(keys[i], r.position)
    items.push({
      position: r.position,
      ledgerKey: keys[i],
      sourceKey: sources[i],
      action: 'send',
      reason: unconfirmed ? 'in_doubt' : null,
      detail: unconfirmed ? `${claimer(unconfirmed)} claimed it on ${unconfirmed.at} but did not confirm the send; it is looked for in the target first` : null,
      target: {topic, partition},
      partitionBy,
      doubt: partitionBy === 'recorded' && forced === null ? (r.source.doubt ?? null) : null,
      layout,
      headersKept: kept,
      headersRemoved: removed,
      message: {topic, partition, key: r.key, value: r.payload, headers: r.userHeaders, timestamp: replayTime(r, opts.timestamp ?? 'now'), ...(layout ? {layout} : {})},
      ledger: unconfirmed ?? entry,
      ...(claims.length > 0 ? {inDoubt: claims.map((e) => (e === own ? keys[i] : sources[i]!))} : {}),
      ...(edit ? {edit} : {}),
      ...(dropped ? {dropped} : {}),
    })
  }
  return items
}

/**
 * The original partition when it is recorded and exists in the target; else, for a key, the
 * partition the original producer's partitioner gives it; else the store chooses (null).
 */
export function choosePartition(
  r: DecodedRecord,
  partitions: number | null,
  partitioner: PartitionerName | null,
  convention: ConventionName = replayConvention(r),
): {partition: number | null; partitionBy: PlanItem['partitionBy']} {
  if (partitions === null) return {partition: null, partitionBy: null}
  const p = r.source.partition
  if (p !== null && p >= 0 && p < partitions) return {partition: p, partitionBy: 'recorded'}
  const by = partitioner ?? defaultPartitioner(convention)
  const hashed = partitionFor(by, r.key, partitions)
  return hashed === null ? {partition: null, partitionBy: 'store'} : {partition: hashed, partitionBy: by}
}

/** Bytes of a record as the broker counts them, near enough: key, value, headers and the batch and record overhead. */
function recordSize(r: DecodedRecord): number {
  let n = 128 + (r.key?.length ?? 0) + (r.payload?.length ?? 0)
  for (const h of r.userHeaders) n += Buffer.byteLength(h.key) + (h.value?.length ?? 0) + 8
  return n
}

function replayTime(r: DecodedRecord, policy: TimestampPolicy): number | null {
  if (policy === 'now') return null
  if (policy === 'original') return r.originalTimestamp ?? r.timestamp
  return r.timestamp
}

const NONE: string[] = []

/** What a message loses in `layout`: its key (payload, watermill) and its user headers (payload); null when nothing. */
function lostBy(layout: StreamLayout, hasKey: boolean, headers: string[]): {key: boolean; headers: string[]} | null {
  const key = hasKey && (layout.name === 'payload' || layout.name === 'watermill')
  const lostHeaders = layout.name === 'payload' ? headers : NONE
  return key || lostHeaders.length > 0 ? {key, headers: lostHeaders} : null
}

/** "the key and headers a, b", in words. */
export function lostText(lost: {key: boolean; headers: string[]}): string {
  const h = lost.headers.length === 0 ? '' : `header${lost.headers.length === 1 ? '' : 's'} ${lost.headers.map((n) => JSON.stringify(n)).join(', ')}`
  return [lost.key ? 'the key' : '', h].filter(Boolean).join(' and ')
}

function headerNames(r: DecodedRecord, convention: ConventionName): {kept: string[]; removed: string[]} {
  // Shared empty lists and no per-key allocation: this runs once per message of a replay.
  let kept = NONE
  if (r.userHeaders.length > 0) kept = [...new Set(r.userHeaders.map((h: RawHeader) => h.key))]
  // The detected convention's system headers are left behind (they are the record's metadata, beside
  // dlq's own `dlq.*` notes); hyperi entries carry none. A record of dlq's own (an export) names
  // those its first convention left behind, as its original did; without one it names none.
  let removed = NONE
  if (convention !== 'hyperi' && convention !== 'dlq' && convention !== 'unknown') {
    for (const k in r.metadata) {
      if (k.startsWith('dlq.')) continue
      if (removed === NONE) removed = []
      removed.push(k)
    }
  }
  return {kept, removed}
}

export interface PlanSummary {
  send: number
  skip: number
  skipped: Partial<Record<SkipReason, number>>
  byTarget: Array<{topic: string; partition: number | null; partitionBy: PlanItem['partitionBy']; layout: LayoutName | null; valueField?: string; doubtful: number; count: number}>
  removedHeaders: string[]
  /** What time the replayed records carry (TimestampPolicy). */
  timestamp?: TimestampPolicy
  /** Messages sent edited (fix before replay); absent when none is. */
  edited?: number
  /** Messages sent without their key or user headers (the layout asked for has no place for them); absent when none is. */
  dropped?: {messages: number; keys: number; headers: string[]}
}

/** The plan summary, counted item by item as a streamed plan goes by. */
export class PlanTally {
  private send = 0
  private skip = 0
  private readonly skipped: Partial<Record<SkipReason, number>> = {}
  private readonly byTarget = new Map<string, PlanSummary['byTarget'][number]>()
  private readonly removed = new Set<string>()
  private edited = 0
  private droppedMessages = 0
  private droppedKeys = 0
  private readonly droppedHeaders = new Set<string>()

  constructor(private readonly timestamp: TimestampPolicy = 'now') {}

  add(it: PlanItem): void {
    if (it.action === 'skip') {
      this.skip++
      this.skipped[it.reason!] = (this.skipped[it.reason!] ?? 0) + 1
      return
    }
    this.send++
    if (it.edit) this.edited++
    const l = it.layout
    const k = `${it.target!.topic}\u0000${it.target!.partition}\u0000${it.partitionBy}\u0000${l?.name}\u0000${l?.valueField}`
    let t = this.byTarget.get(k)
    if (!t) this.byTarget.set(k, (t = {topic: it.target!.topic, partition: it.target!.partition, partitionBy: it.partitionBy, layout: l?.name ?? null, ...(l?.valueField === undefined ? {} : {valueField: l.valueField}), doubtful: 0, count: 0}))
    t.count++
    if (it.doubt) t.doubtful++
    for (const h of it.headersRemoved) this.removed.add(h)
    if (it.dropped) {
      this.droppedMessages++
      if (it.dropped.key) this.droppedKeys++
      for (const h of it.dropped.headers) this.droppedHeaders.add(h)
    }
  }

  summary(): PlanSummary {
    return {send: this.send, skip: this.skip, skipped: {...this.skipped}, byTarget: [...this.byTarget.values()], removedHeaders: [...this.removed].sort(), timestamp: this.timestamp, ...(this.edited > 0 ? {edited: this.edited} : {}), ...(this.droppedMessages > 0 ? {dropped: {messages: this.droppedMessages, keys: this.droppedKeys, headers: [...this.droppedHeaders].sort()}} : {})}
  }
}

export function summarisePlan(plan: ReplayPlan): PlanSummary {
  const tally = new PlanTally(plan.timestamp ?? 'now')
  for (const it of plan.items) tally.add(it)
  return tally.summary()
}
