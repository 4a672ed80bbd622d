import {toMessage, type PayloadOptions} from '../core/message.js'
import type {SourceInfo} from '../core/reader.js'
import type {DecodedRecord} from '../core/record.js'
import {escapeText, safeJson} from './escape.js'
import {recordCells, recordColumns, renderRecords, type OutputFormat, type Rendered} from './records.js'
import {streamTable, terminalWidth, type TablePlan} from './table.js'

/** Widths a followed table is planned with (it cannot wait for the rows to measure them). */
const POSITION_WIDTH: Record<SourceInfo['kind'], number> = {file: 8, directory: 8, services: 16, kafka: 12, redis: 15}
const SIZING: Record<string, number> = {TIME: 20, SOURCE: 20, REASON: 28, RETRIES: 7, KEY: 8, SERVICE: 12, CONVENTION: 19, GROUP: 16, HEADERS: 40, PAYLOAD: 40}

export interface TailOutputOptions {
  format: OutputFormat
  payload: PayloadOptions
  follow: boolean
  source: SourceInfo
  width?: number
}

/**
 * Output of `dlq tail`. Without --follow it is one result (a table, one JSON document, or
 * NDJSON lines). With --follow every record is printed when it arrives: NDJSON a line each,
 * JSON a document each (a stream `jq` reads), and a table whose widths are planned at the
 * start from the terminal, so rows line up without waiting for a page.
 */
export class TailOutput {
  private readonly kept: DecodedRecord[] = []
  private plan: TablePlan | null = null
  private readonly services: boolean
  count = 0

  constructor(private readonly opts: TailOutputOptions) {
    // hyperi-rustlib directories name the writing service: `wide` shows it, as inspect does when it is there.
    this.services = opts.format === 'wide' && (opts.source.kind === 'directory' || opts.source.kind === 'services')
  }

  /** What to print before any record (a followed table's header). */
  start(): Rendered {
    const {format, follow} = this.opts
    if (!follow || (format !== 'table' && format !== 'wide')) return {stdout: '', stderr: ''}
    const columns = recordColumns(format, this.services).map((c) => (c.head === 'POSITION' ? {...c, whole: true} : c))
    // wide is not cut to the terminal: each column gets its cap, as the widest page would give it.
    const room = (c: (typeof columns)[number]) => (format === 'wide' ? (c.max ?? SIZING[c.head]) : Math.min(c.max ?? Infinity, SIZING[c.head] ?? c.head.length))
    const sizing = columns.map((c) => 'x'.repeat(c.head === 'POSITION' ? POSITION_WIDTH[this.opts.source.kind] : (room(c) ?? c.head.length)))
    this.plan = streamTable(columns, [sizing], this.opts.width ?? (format === 'wide' ? Infinity : terminalWidth()))
    return {stdout: this.plan.header + '\n', stderr: ''}
  }

  /** Records as they come: printed now when following, kept for the end otherwise. */
  add(records: DecodedRecord[]): Rendered {
    this.count += records.length
    const stderr = records
      .filter((r) => r.unreadable !== null)
      .map((r) => `warning: record ${escapeText(r.position)} is unreadable: ${escapeText(r.unreadable!)}\n`)
      .join('')
    const {format, follow, payload} = this.opts
    if (format === 'ndjson') return {stdout: records.map((r) => safeJson(toMessage(r, payload)) + '\n').join(''), stderr}
    if (!follow) {
      this.kept.push(...records)
      return {stdout: '', stderr}
    }
    if (format === 'json') return {stdout: records.map((r) => safeJson(toMessage(r, payload), 2) + '\n').join(''), stderr}
    const plan = this.plan!
    return {stdout: records.map((r) => plan.row(recordCells(r, format as 'table' | 'wide', payload, this.services)) + '\n').join(''), stderr}
  }

  /** What is left to print at the end (the whole result without --follow). */
  end(warnings: readonly string[]): Rendered {
    const {format, follow, payload} = this.opts
    if (follow || format === 'ndjson') return {stdout: '', stderr: ''}
    if (format === 'json') {
      const doc = {source: this.opts.source.display, count: this.kept.length, items: this.kept.map((r) => toMessage(r, payload)), warnings: [...warnings]}
      return {stdout: safeJson(doc, 2) + '\n', stderr: ''}
    }
    if (this.kept.length === 0) return {stdout: 'No messages.\n', stderr: ''}
    return {stdout: renderRecords(this.kept, format, payload, this.opts.width) + '\n', stderr: ''}
  }
}
