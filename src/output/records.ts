import {utf8OrNull} from '../core/bytes.js'
import type {InspectResult} from '../core/inspect.js'
import {isoTime, previewBytes, toMessage, type PayloadOptions} from '../core/message.js'
import type {DecodedRecord} from '../core/record.js'
import {escapeText, hexPreview, safeJson} from './escape.js'
import {renderTable, type Column} from './table.js'

export type OutputFormat = 'table' | 'wide' | 'json' | 'ndjson'
export const OUTPUT_FORMATS: OutputFormat[] = ['table', 'wide', 'json', 'ndjson']

export interface Rendered {
  /** The result, for stdout. */
  stdout: string
  /** Notices about the result, for stderr. */
  stderr: string
}

function shortTime(ms: number | null): string {
  const iso = isoTime(ms)
  return iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
}

function sourceCell(r: DecodedRecord): string {
  const s = r.source
  if (s.topic === null && s.partition === null && s.offset === null) {
    const hint = r.metadata['dlq.source-topic-hint']
    return typeof hint === 'string' ? `(${hint}?)` : '-'
  }
  return `${s.topic ?? '?'}${s.partition === null ? '' : `/${s.partition}`}${s.offset === null ? '' : `@${s.offset}`}`
}

function bytesCell(buf: Buffer | null, max: number): string {
  if (buf === null) return '-'
  const shown = previewBytes(buf, max)
  const text = utf8OrNull(shown)
  return text === null ? hexPreview(buf, Math.floor(max / 2)) : text + (shown.length < buf.length ? '…' : '')
}

function payloadCell(r: DecodedRecord, opts: PayloadOptions): string {
  if (r.payload === null) return r.payloadSize === null ? '(null)' : `(${r.payloadSize} bytes, not included)`
  if (opts.noPayload) return `(${r.payloadSize ?? r.payload.length} bytes)`
  return bytesCell(r.payload, Math.min(opts.payloadLimit, 512))
}

/** Exception class names are long and their end says the most: cut them from the left. */
function reasonCell(r: DecodedRecord, width: number): string {
  if (r.unreadable !== null) return `UNREADABLE: ${r.unreadable}`
  const reason = r.reason ?? '-'
  if (reason.length <= width || !/^[\w$]+(\.[\w$]+)+$/.test(reason)) return reason
  return '…' + reason.slice(reason.length - width + 1)
}

function headersCell(r: DecodedRecord): string {
  return r.userHeaders.map((h) => `${h.key}=${h.value === null ? 'null' : bytesCell(h.value, 64)}`).join(' ') || '-'
}

export function renderRecords(records: DecodedRecord[], format: 'table' | 'wide', opts: PayloadOptions): string {
  const wide = format === 'wide'
  const positionWidth = Math.max(8, ...records.map((r) => r.position.length))
  const reasonWidth = wide ? 40 : 26
  const columns: Column[] = [
    {head: 'POSITION', width: positionWidth},
    {head: 'TIME', width: 20},
    {head: 'SOURCE', width: wide ? 32 : 22},
    {head: 'REASON', width: reasonWidth},
    {head: 'RETRIES', width: 7, align: 'right'},
    {head: 'KEY', width: wide ? 24 : 12},
    ...(wide ? [{head: 'CONVENTION', width: 19}, {head: 'GROUP', width: 16}, {head: 'HEADERS', width: 40}] : []),
    {head: 'PAYLOAD'},
  ]
  const rows = records.map((r) => [
    r.position,
    shortTime(r.timestamp),
    sourceCell(r),
    reasonCell(r, reasonWidth),
    r.retries === null ? '-' : String(r.retries),
    bytesCell(r.key, 64),
    ...(wide ? [r.convention, r.source.group ?? '-', headersCell(r)] : []),
    payloadCell(r, opts),
  ])
  return renderTable(columns, rows)
}

/** The `--json` document of `dlq inspect` (schema: schemas/inspect.schema.json). */
export function inspectJson(result: InspectResult, opts: PayloadOptions): unknown {
  return {
    source: result.source,
    from: result.from,
    limit: result.limit,
    next_offset_hint: result.next,
    end: result.atEnd,
    scanned: result.scanned,
    items: result.records.map((r) => toMessage(r, opts)),
    unreadable: result.unreadable,
  }
}

export function renderInspect(result: InspectResult, format: OutputFormat, opts: PayloadOptions): Rendered {
  const notes: string[] = []
  for (const u of result.unreadable) notes.push(`warning: record ${u.position} is unreadable: ${escapeText(u.error)}`)
  const more = result.atEnd ? `end of log (continue later with --from ${result.next})` : `next page: --from ${result.next}`

  if (format === 'json') return {stdout: safeJson(inspectJson(result, opts), 2) + '\n', stderr: lines(notes)}
  if (format === 'ndjson') {
    const out = result.records.map((r) => safeJson(toMessage(r, opts))).join('\n')
    return {stdout: out === '' ? '' : out + '\n', stderr: lines([...notes, `${result.records.length} record${result.records.length === 1 ? '' : 's'}; ${more}`])}
  }
  const table = result.records.length === 0 ? 'No messages' + (result.scanned > 0 ? ` matched (${result.scanned} examined)` : '') + '.' : renderRecords(result.records, format, opts)
  return {stdout: `${table}\n${result.records.length} shown, ${result.scanned} examined; ${more}\n`, stderr: lines(notes)}
}

function lines(l: string[]): string {
  return l.length === 0 ? '' : l.join('\n') + '\n'
}
