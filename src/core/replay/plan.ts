import {UsageError} from '../errors.js'
import type {RecordFilter} from '../filter.js'
import type {DecodedRecord, RawHeader} from '../record.js'
import type {DlqReader} from '../reader.js'
import type {DlqSink, OutgoingMessage} from '../sink.js'
import type {LedgerEntry, ReplayLedger} from './ledger.js'
import {comparePositions} from './order.js'

export type SkipReason =
  | 'not_found'
  | 'no_source'
  | 'already_replayed'
  | 'in_doubt'
  | 'filtered'
  | 'unreadable'
  | 'payload_truncated'
  | 'target_missing'

export interface PlanItem {
  position: string
  action: 'send' | 'skip'
  reason: SkipReason | null
  /** Human words for a skip (which target is missing, when it was replayed, …). */
  detail: string | null
  target: {topic: string; partition: number | null} | null
  headersKept: string[]
  headersRemoved: string[]
  /** What will be sent; absent for skips. */
  message: OutgoingMessage | null
  /** The ledger's word on this position when the plan was made. */
  ledger: LedgerEntry | null
}

export interface ReplayPlan {
  source: string
  sink: string
  ledger: string
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
}

export interface ReplayDeps {
  reader: DlqReader
  sink: DlqSink
  ledger: ReplayLedger
}

/** Kafka's topic name rule, applied to `--to` before anything is sent. */
export function checkTopicName(topic: string, what: string): string {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') {
    throw new UsageError(`${what} "${topic}": a topic name is 1–249 characters of a-z, A-Z, 0-9, ".", "_" and "-"`)
  }
  return topic
}

async function selectRecords(reader: DlqReader, req: ReplayRequest): Promise<{records: DecodedRecord[]; missing: string[]; filtered: DecodedRecord[]}> {
  if (req.all) {
    if (req.positions && req.positions.length > 0) throw new UsageError('use either --offset or --all, not both')
    const records: DecodedRecord[] = []
    for await (const r of reader.scan({filter: req.filter})) records.push(r)
    return {records, missing: [], filtered: []}
  }
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

const skip = (position: string, reason: SkipReason, detail: string | null = null, ledger: LedgerEntry | null = null): PlanItem => ({
  position,
  action: 'skip',
  reason,
  detail,
  target: null,
  headersKept: [],
  headersRemoved: [],
  message: null,
  ledger,
})

/**
 * What replay would do, position by position, without sending anything: `--dry-run` prints
 * it, the confirmation summarises it, and `executeReplay` carries it out.
 */
export async function planReplay(deps: ReplayDeps, req: ReplayRequest): Promise<ReplayPlan> {
  const to = req.to ? checkTopicName(req.to, '--to') : null
  const {records, missing, filtered} = await selectRecords(deps.reader, req)
  const items: PlanItem[] = [...missing.map((p) => skip(p, 'not_found', 'no message at this position (any more)'))]
  for (const r of filtered) items.push(skip(r.position, 'filtered', 'does not match the filters'))
  items.push(...(await planRecords(deps, records, {to, force: req.force === true}, new Map())))
  items.sort((a, b) => comparePositions(a.position, b.position))
  return {source: deps.reader.info.display, sink: deps.sink.info.display, ledger: deps.ledger.where, items}
}

export type TargetCache = Map<string, {exists: boolean; partitions: number | null}>

/** The plan items of records already read, in their order (targets looked up once per topic). */
export async function planRecords(deps: ReplayDeps, records: DecodedRecord[], opts: {to: string | null; force: boolean}, targets: TargetCache): Promise<PlanItem[]> {
  const {to} = opts
  const req = {force: opts.force}
  const ledger = await deps.ledger.read(records.map((r) => r.position))
  const items: PlanItem[] = []
  for (const r of records) {
    if (r.unreadable !== null) {
      items.push(skip(r.position, 'unreadable', r.unreadable))
      continue
    }
    if (r.payloadTruncated) {
      items.push(skip(r.position, 'payload_truncated', 'only a preview of the payload is stored here (an export made with --payload-limit)'))
      continue
    }
    const topic = to ?? r.source.topic
    if (topic === null) {
      items.push(skip(r.position, 'no_source', 'no source topic is recorded; give --to TOPIC'))
      continue
    }
    const entry = ledger.get(r.position) ?? null
    if (entry && !req.force) {
      if (entry.state === 'done') {
        items.push(skip(r.position, 'already_replayed', `replayed to ${entry.target.topic}${entry.offset === null ? '' : ` at ${entry.offset}`} on ${entry.at}; --force replays it again`, entry))
        continue
      }
    }
    let info = targets.get(topic)
    if (!info) {
      info = await deps.sink.describeTarget(topic)
      targets.set(topic, info)
    }
    if (!info.exists) {
      items.push(skip(r.position, 'target_missing', `target topic "${topic}" does not exist in ${deps.sink.info.display}`))
      continue
    }
    // The original partition when it is known and exists in the target; else the store chooses.
    const p = r.source.partition
    const partition = info.partitions !== null && p !== null && p >= 0 && p < info.partitions ? p : null
    const {kept, removed} = headerNames(r)
    items.push({
      position: r.position,
      action: 'send',
      reason: entry && entry.state === 'claimed' && !req.force ? 'in_doubt' : null,
      detail: entry && entry.state === 'claimed' && !req.force ? `a replay claimed it on ${entry.at} but did not confirm the send; it is looked for in the target first` : null,
      target: {topic, partition},
      headersKept: kept,
      headersRemoved: removed,
      message: {topic, partition, key: r.key, value: r.payload, headers: r.userHeaders, timestamp: r.timestamp},
      ledger: entry,
    })
  }
  return items
}

function headerNames(r: DecodedRecord): {kept: string[]; removed: string[]} {
  const kept = [...new Set(r.userHeaders.map((h: RawHeader) => h.key))]
  // The detected convention's system headers are left behind (they are the record's metadata, beside
  // dlq's own `dlq.*` notes); hyperi entries and dlq's own records carry no headers to remove.
  const headerConvention = r.convention !== 'hyperi' && r.convention !== 'dlq' && r.convention !== 'unknown'
  const removed = headerConvention ? Object.keys(r.metadata).filter((k) => !k.startsWith('dlq.')) : []
  return {kept, removed}
}

export interface PlanSummary {
  send: number
  skip: number
  skipped: Partial<Record<SkipReason, number>>
  byTarget: Array<{topic: string; partition: number | null; count: number}>
  removedHeaders: string[]
}

export function summarisePlan(plan: ReplayPlan): PlanSummary {
  const byTarget = new Map<string, {topic: string; partition: number | null; count: number}>()
  const skipped: Partial<Record<SkipReason, number>> = {}
  const removed = new Set<string>()
  let send = 0
  for (const it of plan.items) {
    if (it.action === 'skip') {
      skipped[it.reason!] = (skipped[it.reason!] ?? 0) + 1
      continue
    }
    send++
    const k = `${it.target!.topic}\u0000${it.target!.partition}`
    const t = byTarget.get(k) ?? {topic: it.target!.topic, partition: it.target!.partition, count: 0}
    t.count++
    byTarget.set(k, t)
    for (const h of it.headersRemoved) removed.add(h)
  }
  return {send, skip: plan.items.length - send, skipped, byTarget: [...byTarget.values()], removedHeaders: [...removed].sort()}
}
