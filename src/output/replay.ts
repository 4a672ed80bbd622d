import {DlqError} from '../core/errors.js'
import type {ReplayCounts, ResultItem} from '../core/replay/execute.js'
import {PlanTally, lostText, type PlanItem, type PlanSummary, type TimestampPolicy} from '../core/replay/plan.js'
import {layoutText} from '../core/sink.js'
import {compactDiff, editJson} from './edit-diff.js'
import {escapeText, jsonString, safeJson} from './escape.js'
import {renderTable, type Column} from './table.js'

/**
 * Replay's output is written as it is produced, so memory does not grow with the selection:
 * `--json` documents are opened, filled item by item and closed (their summary or counts come
 * after the items), and a table lists at most `rows` positions, then says what it left out.
 */
export const DEFAULT_TABLE_ROWS = 200

/** Table rows rendered per cli-table3 call when every row is asked for. */
const TABLE_CHUNK = 1000
const FLUSH_BYTES = 1 << 16

export interface PlanHead {
  source: string
  sink: string
  ledger: string
}

const targetText = (t: {topic: string; partition: number | null; offset?: string | null} | null, doubt: string | null = null) =>
  t === null ? '-' : `${t.topic}${t.partition === null ? '' : `/${t.partition}${doubt ? '?' : ''}`}${t.offset ? `@${t.offset}` : ''}`

const TIME_WORDS = {
  now: 'the time of the replay (--timestamp original keeps the failed record\'s own time)',
  original: "the failed record's own time where recorded, else the DLQ record's time",
  dlq: "the DLQ record's time",
}

/** How a target's partition was chosen, in words: a Redis stream has none. */
function targetPartText(t: {partition: number | null; partitionBy: string | null; doubtful: number}): string {
  if (t.partitionBy === null) return ' (stream)'
  if (t.partitionBy === 'store') return ' (no key, and no recorded partition that the target has: the broker chooses)'
  if (t.partitionBy === 'recorded') {
    const doubt = t.doubtful > 0 ? ` — ${t.doubtful} doubtful: the recorded partition may be the offset (rust-arroyo); check, or use --to` : ''
    return ` partition ${t.partition} (recorded)${doubt}`
  }
  return ` partition ${t.partition} (no recorded partition that the target has: ${t.partitionBy} of the key, as the original producer)`
}

/** The entry layout of a stream target, in words (its value field is data from the target: escaped). */
function layoutWords(t: PlanSummary['byTarget'][number]): string {
  if (t.layout === null) return ''
  return `, layout ${escapeText(layoutText({name: t.layout, valueField: t.valueField}))}${LAYOUT_WORDS[t.layout]}`
}

const LAYOUT_WORDS = {
  dlq: " (dlq's own: key, value and headers kept exactly)",
  watermill: ' (what the Watermill subscriber reads: uuid, msgpack metadata, payload)',
  payload: " (one field payload: what hyperi-rustlib's transport reads)",
  fields: ' (like the newest entry: value, key, one field per header)',
}

/** What a plan sends without (PlanSummary.dropped), in words, its header names escaped: for the plan's summary and browse's confirmation. */
export function droppedText(d: NonNullable<PlanSummary['dropped']>): string {
  const what = [d.keys > 0 ? `the key of ${d.keys}` : '', d.headers.length > 0 ? `headers ${d.headers.map(escapeText).join(', ')}` : ''].filter(Boolean).join(' and ')
  return `${what} (${d.messages} message${d.messages === 1 ? '' : 's'})`
}

/** A few lines saying what will be sent where: for the confirmation and the end of a dry run. */
export function renderPlanSummary(head: PlanHead, s: PlanSummary): string {
  const lines = [`Replay ${s.send} message${s.send === 1 ? '' : 's'} from ${escapeText(head.source)} to ${escapeText(head.sink)}:`]
  for (const t of s.byTarget) lines.push(`  ${t.count} → ${escapeText(t.topic)}${targetPartText(t)}${layoutWords(t)}`)
  if (s.removedHeaders.length > 0) lines.push(`  metadata removed: ${s.removedHeaders.map(escapeText).join(', ')}`)
  if (s.dropped) lines.push(`  NOT SENT: ${droppedText(s.dropped)}: the layout asked for has no place for them`)
  if (s.edited) lines.push(`  edited: ${s.edited} of them ${s.edited === 1 ? 'is' : 'are'} sent changed (--set, --set-header, --drop-header, --transform), as the plan shows; the ledger records it`)
  if (s.send > 0) lines.push(`  record time: ${TIME_WORDS[s.timestamp ?? 'now']}`)
  const skips = Object.entries(s.skipped)
  if (skips.length > 0) lines.push(`  skipped: ${skips.map(([r, n]) => `${n} ${r}`).join(', ')}`)
  lines.push(`  ledger: ${escapeText(head.ledger)}`)
  return lines.join('\n') + '\n'
}

export function planItemJson(it: PlanItem): unknown {
  return {
    position: it.position,
    action: it.action,
    reason: it.reason,
    detail: it.detail,
    target: it.target,
    partitionBy: it.partitionBy,
    doubt: it.doubt,
    layout: it.layout?.name ?? null,
    ...(it.layout?.valueField === undefined ? {} : {layoutValueField: it.layout.valueField}),
    headersKept: it.headersKept,
    headersRemoved: it.headersRemoved,
    ...(it.edit ? {edit: editJson(it.edit)} : {}),
    ...(it.dropped ? {dropped: it.dropped} : {}),
  }
}

/**
 * `safeJson(r)` of one result item, byte for byte, written member by member: a replay writes
 * one per message, and JSON.stringify's walk of the object (then safeJson's pass over its text)
 * was most of the output's cost. Strings go through `jsonString`, so nothing untrusted passes
 * unescaped; an item of another shape than the declared one is left to safeJson.
 */
export function resultItemJson(r: ResultItem): string {
  const t = r.target
  if (typeof r.position !== 'string' || typeof r.outcome !== 'string' || !nullOr(r.reason, 'string') || !nullOr(r.error, 'string')) return safeJson(r)
  let target = 'null'
  if (t !== null) {
    if (typeof t !== 'object' || typeof t.topic !== 'string' || !nullOr(t.offset, 'string') || !(t.partition === null || Number.isFinite(t.partition))) return safeJson(r)
    target = `{"topic":${topicJson(t.topic)},"partition":${t.partition === null ? 'null' : String(t.partition)},"offset":${t.offset === null ? 'null' : jsonString(t.offset)}}`
  }
  return `{"position":${jsonString(r.position)},"outcome":${r.outcome === 'replayed' ? '"replayed"' : jsonString(r.outcome)},"target":${target},"reason":${r.reason === null ? 'null' : jsonString(r.reason)},"error":${r.error === null ? 'null' : jsonString(r.error)}}`
}

/** The last topic written and its JSON: a replay names the same few topics over and over. */
let lastTopic = ''
let lastTopicJson = '""'
function topicJson(topic: string): string {
  if (topic !== lastTopic) {
    lastTopicJson = jsonString(topic)
    lastTopic = topic
  }
  return lastTopicJson
}

const nullOr = (v: unknown, type: 'string') => v === null || typeof v === type

/**
 * The members resultItemJson writes, in its order: adding one to ResultItem (or its target) without
 * writing it there fails to compile, as does writing one that is not there.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const RESULT_MEMBERS_WRITTEN: Same<keyof ResultItem, 'position' | 'outcome' | 'target' | 'reason' | 'error'> &
  Same<keyof NonNullable<ResultItem['target']>, 'topic' | 'partition' | 'offset'> = true

/**
 * `safeJson(planItemJson(it))`, byte for byte, written member by member (a dry run writes one per
 * message); an item with an edit, or of another shape than declared, is left to safeJson.
 */
export function planItemText(it: PlanItem): string {
  const t = it.target
  const l = it.layout
  if (
    it.edit !== undefined ||
    it.dropped !== undefined ||
    typeof it.position !== 'string' ||
    typeof it.action !== 'string' ||
    !nullOr(it.reason, 'string') ||
    !nullOr(it.detail, 'string') ||
    !nullOr(it.partitionBy, 'string') ||
    !nullOr(it.doubt, 'string') ||
    !(t === null || (typeof t === 'object' && typeof t.topic === 'string' && (t.partition === null || Number.isFinite(t.partition)))) ||
    !(l === null || (typeof l === 'object' && typeof l.name === 'string' && (l.valueField === undefined || typeof l.valueField === 'string'))) ||
    !stringArray(it.headersKept) ||
    !stringArray(it.headersRemoved)
  ) {
    return safeJson(planItemJson(it))
  }
  const target = t === null ? 'null' : `{"topic":${topicJson(t.topic)},"partition":${t.partition === null ? 'null' : String(t.partition)}}`
  const layout = l === null ? 'null' : `${jsonString(l.name)}${l.valueField === undefined ? '' : `,"layoutValueField":${jsonString(l.valueField)}`}`
  return (
    `{"position":${jsonString(it.position)},"action":${jsonString(it.action)},"reason":${orNull(it.reason)},"detail":${orNull(it.detail)},` +
    `"target":${target},"partitionBy":${orNull(it.partitionBy)},"doubt":${orNull(it.doubt)},"layout":${layout},` +
    `"headersKept":${jsonStrings(it.headersKept)},"headersRemoved":${jsonStrings(it.headersRemoved)}}`
  )
}

const orNull = (s: string | null) => (s === null ? 'null' : jsonString(s))
const stringArray = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === 'string')
function jsonStrings(a: string[]): string {
  if (a.length === 0) return '[]'
  let out = '['
  for (let i = 0; i < a.length; i++) out += (i === 0 ? '' : ',') + jsonString(a[i])
  return out + ']'
}

function errorJson(error: Error): unknown {
  const message = error.message.replace(/^Error: /, '')
  return error instanceof DlqError ? {code: error.code, exitCode: error.exitCode, message} : {code: 'failure', exitCode: 1, message}
}

/**
 * Writes to stdout in ~64 KiB pieces and tells the producer when to wait: a pipe to a slow
 * reader (`| less`, `| jq`) would otherwise queue the whole document in memory.
 */
export type Write = (text: string) => boolean

class Buffered {
  private parts: string[] = []
  private size = 0
  private full = false
  constructor(private readonly write: Write) {}

  /** Resolves once stdout has taken what was written (at once when it never pushed back). */
  drained(): Promise<void> {
    if (!this.full) return Promise.resolve()
    this.full = false
    return new Promise((resolve) => {
      if (!process.stdout.writableNeedDrain) resolve()
      else process.stdout.once('drain', resolve)
    })
  }

  add(text: string): void {
    this.parts.push(text)
    this.size += text.length
    if (this.size >= FLUSH_BYTES) this.flush()
  }
  flush(): void {
    if (this.parts.length === 0) return
    if (!this.write(this.parts.join(''))) this.full = true
    this.parts = []
    this.size = 0
  }
}

/** Rows of one table, rendered chunk by chunk, at most `limit` of them (null: all). */
class StreamedTable {
  private chunk: string[][] = []
  shown = 0
  hidden = 0
  constructor(
    private readonly out: Buffered,
    private readonly columns: Column[],
    private readonly limit: number | null,
  ) {}

  row(cells: string[], force = false): void {
    if (this.limit !== null && this.shown >= this.limit && !force) {
      this.hidden++
      return
    }
    this.shown++
    this.chunk.push(cells)
    if (this.chunk.length >= TABLE_CHUNK) this.flush()
  }

  get full(): boolean {
    return this.limit !== null && this.shown >= this.limit
  }

  flush(): void {
    if (this.chunk.length === 0) return
    const width = Math.max(8, ...this.chunk.map((r) => r[0].length))
    this.out.add(renderTable([{...this.columns[0], width}, ...this.columns.slice(1)], this.chunk) + '\n')
    this.chunk = []
  }
}

const NO_CELLS: string[] = []
const PLAN_COLUMNS: Column[] = [{head: 'POSITION'}, {head: 'ACTION', width: 6}, {head: 'TARGET', width: 30}, {head: 'HEADERS KEPT', width: 24}, {head: 'METADATA REMOVED', width: 36}, {head: 'NOTE'}]
const RESULT_COLUMNS: Column[] = [{head: 'POSITION'}, {head: 'OUTCOME', width: 8}, {head: 'TARGET', width: 36}, {head: 'REASON'}]

export interface StreamWriter<T> {
  /** Whether anything was written yet (an error after that must close the document, not start one). */
  readonly started: boolean
  item(x: T): void
  /** Closes the output with the summary or counts of everything written. */
  end(): void
  /** Closes the output after an error part-way: `--json` ends with `"error": {…}`. */
  fail(error: Error): void
  /** Wait for this before producing more: stdout has taken what was written so far. */
  drained(): Promise<void>
}

/** `--dry-run`: the plan, item by item, then its summary. */
export function planWriter(write: Write, head: PlanHead, opts: {json: boolean; rows: number | null; timestamp?: TimestampPolicy}): StreamWriter<PlanItem> {
  const out = new Buffered(write)
  const tally = new PlanTally(opts.timestamp ?? 'now')
  let started = false
  let first = true
  const open = () => {
    if (started) return
    started = true
    if (opts.json) out.add(`{\n  "dryRun": true,\n  "source": ${safeJson(head.source)},\n  "sink": ${safeJson(head.sink)},\n  "ledger": ${safeJson(head.ledger)},\n  "items": [`)
  }
  const table = new StreamedTable(out, PLAN_COLUMNS, opts.rows)
  const close = (error: Error | null) => {
    open()
    const summary: PlanSummary = tally.summary()
    if (opts.json) {
      out.add(`${first ? '' : '\n  '}],\n  "summary": ${safeJson(summary, 2).replace(/\n/g, '\n  ')}${error ? `,\n  "error": ${safeJson(errorJson(error))}` : ''}\n}\n`)
    } else {
      table.flush()
      if (table.hidden > 0) out.add(`… ${table.hidden} more position${table.hidden === 1 ? '' : 's'} not listed (--rows all lists every one; --json gives the whole plan)\n`)
      out.add(`${renderPlanSummary(head, summary)}\nDry run: nothing was sent.\n`)
    }
    out.flush()
  }
  return {
    get started() {
      return started
    },
    item(it) {
      open()
      tally.add(it)
      if (opts.json) {
        out.add(`${first ? '\n    ' : ',\n    '}${planItemText(it)}`)
        first = false
        return
      }
      // A row past --rows is only counted: its diff is not worth computing.
      if (table.full) return table.row([])
      const note = [it.edit ? `edited: ${compactDiff(it.edit)}` : '', it.reason ? `${it.reason}${it.detail ? `: ${it.detail}` : ''}` : '', it.dropped ? `NOT SENT: ${lostText(it.dropped)}` : '', it.layout ? `layout ${layoutText(it.layout)}` : ''].filter(Boolean).join('; ')
      table.row([it.position, it.action, targetText(it.target, it.doubt), it.headersKept.join(', ') || '-', it.headersRemoved.join(', ') || '-', note])
    },
    end: () => close(null),
    fail: (error) => close(error),
    drained: () => out.drained(),
  }
}

/**
 * The replay's result, position by position, then the counts. A table shows the first
 * `rows` positions and, after them, up to as many that did not end well (failed or in doubt),
 * so a failure far into a large replay is still on screen.
 */
export function resultWriter(write: Write, opts: {json: boolean; rows: number | null}): StreamWriter<ResultItem> & {readonly counts: ReplayCounts} {
  const out = new Buffered(write)
  const c: ReplayCounts = {requested: 0, replayed: 0, skipped: 0, failed: 0}
  let started = false
  let first = true
  let extra = 0
  const open = () => {
    if (started) return
    started = true
    if (opts.json) out.add('{\n  "items": [')
  }
  const table = new StreamedTable(out, RESULT_COLUMNS, opts.rows)
  const close = (error: Error | null) => {
    open()
    if (opts.json) {
      const counts = `"requested": ${c.requested},\n  "replayed": ${c.replayed},\n  "skipped": ${c.skipped},\n  "failed": ${c.failed}`
      out.add(`${first ? '' : '\n  '}],\n  ${counts}${error ? `,\n  "error": ${safeJson(errorJson(error))}` : ''}\n}\n`)
    } else {
      table.flush()
      if (table.hidden > 0) out.add(`… ${table.hidden} more position${table.hidden === 1 ? '' : 's'} not listed (--rows all lists every one; --json gives them all)\n`)
      out.add(`${c.requested} requested: ${c.replayed} replayed, ${c.skipped} skipped, ${c.failed} failed\n`)
    }
    out.flush()
  }
  return {
    get started() {
      return started
    },
    get counts() {
      return {...c}
    },
    item(r) {
      open()
      c.requested++
      c[r.outcome]++
      if (opts.json) {
        out.add(`${first ? '\n    ' : ',\n    '}${resultItemJson(r)}`)
        first = false
        return
      }
      const bad = r.outcome === 'failed' || r.reason === 'in_doubt'
      const extraRow = table.full && bad && opts.rows !== null && extra < opts.rows
      // A row past --rows is only counted: its cells are not worth building.
      if (table.full && !extraRow) return table.row(NO_CELLS)
      const cells = [r.position, r.outcome, targetText(r.target), [r.reason, r.error].filter(Boolean).join(': ')]
      if (extraRow) {
        extra++
        table.row(cells, true)
      } else table.row(cells)
    },
    end: () => close(null),
    fail: (error) => close(error),
    drained: () => out.drained(),
  }
}
