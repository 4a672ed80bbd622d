import {UsageError} from './errors.js'
import {MATCH_ALL} from './filter.js'
import type {DlqReader} from './reader.js'
import type {DecodedRecord} from './record.js'
import {ledgerKey, sourceKey} from './replay/identity.js'
import {comparePositions} from './replay/order.js'
import {decidingEntry, readWithSources, type LedgerEntry, type ReplayLedger} from './replay/ledger.js'
import {protectedNames, protectedTarget} from './replay/protected.js'
import {parseSource, type SourceSpec} from './source.js'

/**
 * Drain: `dlq purge SOURCE --replayed` removes from the DLQ the messages its replay ledger says
 * were replayed (state done), as far as the store allows, and nothing else:
 * - Redis: each such entry is XDEL'd, and XACK'd first in every consumer group of the stream (an
 *   entry deleted while pending in a group would stay in that group's pending list as a
 *   reference to nothing: XPENDING lists it, XCLAIM can never deliver it).
 * - Kafka: a partition can only lose a prefix (DeleteRecords), so it is cut at the first message
 *   that was not replayed (or is in doubt): everything before the cut was replayed, everything
 *   from it on stays, replayed or not.
 * - Files belong to the service that writes them (it rotates and deletes them itself): refused.
 *
 * The ledger is read only through ReplayLedger.read, by each message's identity (the key the
 * replay used), so a purge agrees with replay about which message is which.
 */

export type StayReason = 'not_replayed' | 'in_doubt'

/** What a Kafka purger can do: delete each partition's records below an offset. */
export interface KafkaPurger {
  readonly kind: 'kafka'
  /** Consumer groups with offsets committed on the topic: partition → committed offset. */
  groups(): Promise<Array<{name: string; committed: Map<number, number>}>>
  /** DeleteRecords: every record below `before` in each partition; returns the new log start per partition. */
  deleteBefore(cuts: Map<number, number>): Promise<Map<number, number>>
  close(): Promise<void>
}

export interface StreamGroup {
  name: string
  /** The last entry id the group has been handed (entries after it it has not read yet). */
  lastDelivered: string
}

/** What a Redis purger can do: list the stream's groups, see what is pending in one, acknowledge and delete entries. */
export interface RedisPurger {
  readonly kind: 'redis'
  groups(): Promise<StreamGroup[]>
  /** Which of these ids (between `first` and `last`) are pending in the group. */
  pendingAmong(group: string, first: string, last: string, ids: Set<string>): Promise<Set<string>>
  /** XACK in every group, then XDEL, in one MULTI; returns how many entries were deleted. */
  deleteEntries(ids: string[], groups: string[]): Promise<number>
  close(): Promise<void>
}

export type DlqPurger = KafkaPurger | RedisPurger

export interface PurgeDeps {
  reader: DlqReader
  ledger: ReplayLedger
  purger: DlqPurger
}

export interface KafkaPartPlan {
  partition: number
  /** Replayed records below the cut, deleted. */
  delete: number
  /** The cut: records below this offset are deleted (null: nothing to delete). */
  before: number | null
  /** Records that stay: from the first one not replayed on. */
  stays: number
  /** The record that stops the cut, and why. */
  stoppedAt: {position: string; why: StayReason} | null
  /**
   * Consumer groups of the DLQ topic whose committed offset is below the cut: they have not read
   * `unread` of the records deleted, and their next fetch is out of range (auto.offset.reset decides
   * where they go on). Absent when there are none.
   */
  groups?: Array<{name: string; committed: number; unread: number}>
}

export interface RedisGroupPlan {
  name: string
  /** Of the entries to delete, those pending in this group: acknowledged before they are deleted. */
  pending: number
  /** Of the entries to delete, those the group has not read yet: it never will. */
  unread: number
}

export interface RedisStreamPlan {
  stream: string
  delete: number
  stays: number
  staysBy: Partial<Record<StayReason, number>>
  /** The first entry that stays, and why (the rest are counted in staysBy). */
  firstKept: {position: string; why: StayReason} | null
  /** The last entry looked at: a purge deletes nothing after it (entries added since are not in the plan). */
  through: string | null
  groups: RedisGroupPlan[]
}

export interface PurgePlan {
  source: string
  ledger: string
  kind: 'kafka' | 'redis'
  scanned: number
  delete: number
  stays: number
  partitions?: KafkaPartPlan[]
  stream?: RedisStreamPlan
}

export interface PurgeResult {
  deleted: number
  /** Kafka: the log start of each partition cut, after the cut. */
  logStart?: Array<{partition: number; offset: number}>
}

/** Records whose ledger entries are read at once. */
const WINDOW = 2000

/** Refuses dlq's own topics and streams (files never get this far: see purgeSource). */
export function checkPurgeable(reader: DlqReader): void {
  const name = reader.info.name ?? null
  // The configured settings store too (DLQ_STORE or the profile's), not only the default names; the DLQ itself is what is purged.
  const refused = name === null ? null : protectedTarget(name, {...protectedNames(reader.info), dlq: null})
  if (refused !== null) throw new UsageError(`purge: ${refused}; dlq never purges its own topics and streams`)
}

const stayReason = (e: LedgerEntry | null | undefined): StayReason | null => (e?.state === 'done' ? null : e?.state === 'claimed' ? 'in_doubt' : 'not_replayed')

/** Windows of replayed source messages ReplayedSources keeps: 100,000 records, far beyond what a replay tells copies over (plan.ts SendingMemory). */
const KEPT_WINDOWS = 50

/**
 * Source messages (identity.ts sourceKey: topic, partition, offset, key and payload) of the
 * replayed records met in the last KEPT_WINDOWS windows. A writer may dead-letter one source
 * message more than once; replay sends it once, from the first copy, and skips the later copies
 * as already_replayed (plan.ts SendingMemory). Since 2026-12-01 the ledger knows each copy by
 * its source key; a ledger written before does not, and for it this is the rule: a copy is
 * taken as replayed when a replayed copy came before it, so it is not left behind (a Kafka cut
 * stopped at it) while its first copy is deleted, to be sent again by the next replay. Bounded,
 * so memory stays flat; a copy further apart stays, as a message not replayed.
 */
class ReplayedSources {
  private readonly seen = new Set<string>()
  private readonly windows: string[][] = []

  nextWindow(): void {
    this.windows.push([])
    if (this.windows.length > KEPT_WINDOWS) for (const k of this.windows.shift()!) this.seen.delete(k)
  }

  /** Whether the source message `key` was replayed from a record met before. */
  replayed(key: string | null): boolean {
    return key !== null && this.seen.has(key)
  }

  /** A replayed record's source message, remembered. */
  add(key: string | null): void {
    if (key === null || this.seen.has(key)) return
    this.seen.add(key)
    this.windows[this.windows.length - 1].push(key)
  }
}

/** Reads the DLQ in windows and hands each window with its ledger entries on. */
async function* withLedger(deps: PurgeDeps, signal?: AbortSignal, until?: string | null): AsyncGenerator<Array<{r: DecodedRecord; stay: StayReason | null}>> {
  const kind = deps.reader.info.kind
  const sources = new ReplayedSources()
  let window: DecodedRecord[] = []
  const flush = async () => {
    const keys = window.map((r) => ledgerKey(r, kind))
    // A record's source message (identity.ts sourceKey) is replayed once any copy of it is.
    const srcs = window.map(sourceKey)
    const entries = await readWithSources(deps.ledger, keys, srcs)
    sources.nextWindow()
    const out = window.map((r, i) => {
      let stay = r.unreadable !== null ? ('not_replayed' as const) : stayReason(decidingEntry(entries.get(keys[i]) ?? null, srcs[i] === null ? null : (entries.get(srcs[i]!) ?? null)))
      if (stay === null) sources.add(srcs[i])
      else if (stay === 'not_replayed' && sources.replayed(srcs[i])) stay = null
      return {r, stay}
    })
    window = []
    return out
  }
  for await (const r of deps.reader.scan({filter: MATCH_ALL, signal})) {
    if (until !== undefined && until !== null && comparePositions(r.position, until) > 0) break
    window.push(r)
    if (window.length >= WINDOW) yield await flush()
  }
  if (window.length > 0) yield await flush()
}

/** What a purge would delete and what stays, per partition or for the stream. Deletes nothing. */
export async function planPurge(deps: PurgeDeps, opts: {signal?: AbortSignal} = {}): Promise<PurgePlan> {
  checkPurgeable(deps.reader)
  const base = {source: deps.reader.info.display, ledger: deps.ledger.where, kind: deps.purger.kind}
  if (deps.purger.kind === 'kafka') {
    const parts = new Map<number, KafkaPartPlan & {last: number | null}>()
    let scanned = 0
    for await (const win of withLedger(deps, opts.signal)) {
      for (const {r, stay} of win) {
        scanned++
        const {partition, offset} = kafkaPosition(r.position)
        let p = parts.get(partition)
        if (!p) parts.set(partition, (p = {partition, delete: 0, before: null, stays: 0, stoppedAt: null, last: null}))
        if (p.stoppedAt !== null) {
          p.stays++
          continue
        }
        if (stay === null) {
          p.delete++
          p.last = offset
          continue
        }
        p.stoppedAt = {position: r.position, why: stay}
        p.stays++
        p.before = p.delete > 0 ? offset : null
      }
    }
    const partitions: KafkaPartPlan[] = [...parts.values()]
      .sort((a, b) => a.partition - b.partition)
      .map(({last, ...p}) => ({...p, before: p.delete === 0 ? null : p.stoppedAt ? p.before : last! + 1}))
    if (partitions.some((p) => p.before !== null)) {
      const groups = await deps.purger.groups()
      for (const p of partitions) {
        if (p.before === null) continue
        const behind = groups.flatMap((g) => {
          const at = g.committed.get(p.partition)
          return at === undefined || at >= p.before! ? [] : [{name: g.name, committed: at, unread: Math.min(p.delete, p.before! - at)}]
        })
        if (behind.length > 0) p.groups = behind
      }
    }
    return {...base, scanned, delete: sum(partitions, 'delete'), stays: sum(partitions, 'stays'), partitions}
  }

  const purger = deps.purger
  const groups = await purger.groups()
  const g = groups.map((x) => ({name: x.name, pending: 0, unread: 0, lastDelivered: x.lastDelivered}))
  const stream: RedisStreamPlan = {stream: deps.reader.info.name ?? deps.reader.info.display, delete: 0, stays: 0, staysBy: {}, firstKept: null, through: null, groups: []}
  let scanned = 0
  for await (const win of withLedger(deps, opts.signal)) {
    const doomed = new Set<string>()
    for (const {r, stay} of win) {
      scanned++
      stream.through = r.position
      if (stay === null) {
        doomed.add(r.position)
        continue
      }
      stream.stays++
      stream.staysBy[stay] = (stream.staysBy[stay] ?? 0) + 1
      stream.firstKept ??= {position: r.position, why: stay}
    }
    stream.delete += doomed.size
    if (doomed.size === 0) continue
    for (const x of g) {
      x.pending += (await purger.pendingAmong(x.name, win[0].r.position, win.at(-1)!.r.position, doomed)).size
      for (const id of doomed) if (comparePositions(id, x.lastDelivered) > 0) x.unread++
    }
  }
  stream.groups = g.map(({lastDelivered: _, ...x}) => x)
  return {...base, scanned, delete: stream.delete, stays: stream.stays, stream}
}

/** Carries out a plan: Kafka cuts at the planned offsets; Redis deletes, window by window, the replayed entries up to the last one planned. */
export async function executePurge(plan: PurgePlan, deps: PurgeDeps, opts: {signal?: AbortSignal} = {}): Promise<PurgeResult> {
  checkPurgeable(deps.reader)
  if (deps.purger.kind === 'kafka') {
    const cuts = new Map<number, number>()
    for (const p of plan.partitions ?? []) if (p.before !== null && p.delete > 0) cuts.set(p.partition, p.before)
    if (cuts.size === 0) return {deleted: 0, logStart: []}
    const after = await deps.purger.deleteBefore(cuts)
    return {deleted: plan.delete, logStart: [...after].map(([partition, offset]) => ({partition, offset})).sort((a, b) => a.partition - b.partition)}
  }
  const purger = deps.purger
  if (!plan.stream || plan.stream.delete === 0) return {deleted: 0}
  const groups = (await purger.groups()).map((x) => x.name)
  let deleted = 0
  // The ledger is read again as the entries are deleted: `done` never goes back, so an entry
  // planned for deletion is still replayed; only entries up to the plan's last one are touched.
  for await (const win of withLedger(deps, opts.signal, plan.stream.through)) {
    const ids = win.filter((x) => x.stay === null).map((x) => x.r.position)
    if (ids.length > 0) deleted += await purger.deleteEntries(ids, groups)
  }
  return {deleted}
}

function kafkaPosition(p: string): {partition: number; offset: number} {
  const [a, b] = p.split(':')
  return {partition: Number(a), offset: Number(b)}
}

const sum = <T>(xs: T[], k: keyof T) => xs.reduce((n, x) => n + (x[k] as number), 0)

/** A DLQ in a store: what a purge works on. */
export type PurgeSource = Exclude<SourceSpec, {kind: 'file'}>

/**
 * The store SOURCE names, or a usage error for a file DLQ. The one place files are refused:
 * every purge step needs a purger, and a purger opens only on what this returns.
 */
export function purgeSource(source: string): PurgeSource {
  const spec = parseSource(source)
  if (spec.kind === 'file') {
    throw new UsageError(`purge: ${source} is a file DLQ; its files belong to the service that writes them (it rotates and deletes them itself), so dlq never removes messages from them`)
  }
  return spec
}

/** The purger of a DLQ in a store. */
export async function openPurger(spec: PurgeSource): Promise<DlqPurger> {
  const {openStorePurger} = await import('../backends/registry.js')
  return openStorePurger(spec)
}
