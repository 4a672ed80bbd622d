import {utf8OrNull} from '../core/bytes.js'
import type {InspectResult} from '../core/inspect.js'
import {isoTime, previewBytes, toMessage, type PayloadOptions} from '../core/message.js'
import type {DecodedRecord} from '../core/record.js'
import type {SchemaValue} from '../core/schema/types.js'
import {escapeText, hexPreview, safeJson} from './escape.js'
import {renderTable, terminalWidth, type Column} from './table.js'

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

/**
 * `topic/partition@offset`. A `?` marks what dlq only guesses or doubts: a topic taken from the DLQ's
 * name (`orders?`), a recorded partition that may be wrong (`/1?`, Arroyo); `?` alone is unknown.
 */
function sourceCell(r: DecodedRecord): string {
  const s = r.source
  const hint = r.metadata['dlq.source-topic-hint']
  const topic = s.topic ?? (typeof hint === 'string' ? `${hint}?` : '?')
  if (s.topic === null && s.partition === null && s.offset === null) return typeof hint === 'string' ? `(${hint}?)` : '-'
  return `${topic}${s.partition === null ? '' : `/${s.partition}${s.doubt ? '?' : ''}`}${s.offset === null ? '' : `@${s.offset}`}`
}

function bytesCell(buf: Buffer | null, max: number): string {
  if (buf === null) return '-'
  const shown = previewBytes(buf, max)
  const text = utf8OrNull(shown)
  return text === null ? hexPreview(buf, Math.floor(max / 2)) : text + (shown.length < buf.length ? '…' : '')
}

/** A decoded value as compact JSON; a value that could not be decoded is a short note before the raw bytes. */
function schemaCell(v: SchemaValue | undefined, raw: () => string, max: number): string {
  if (v === undefined) return raw()
  if (v.decodeError === undefined && v.value !== undefined) {
    const text = safeJson(v.value) ?? 'null'
    return text.length > max ? text.slice(0, max) + '…' : text
  }
  return `[${schemaNote(v)}] ${raw()}`
}

/** Why a value in the wire format is shown raw, in a few words (the JSON output has the whole reason). */
export function schemaNote(v: SchemaValue): string {
  const e = v.decodeError ?? ''
  if (/^registry unreachable/.test(e)) return `schema ${v.schemaId}: registry unreachable`
  if (/has no schema/.test(e)) return `no schema ${v.schemaId}`
  if (/only a preview/.test(e)) return `cut: not decoded`
  if (/could not be compiled/.test(e)) return `schema ${v.schemaId}: unusable`
  return `does not match schema ${v.schemaId}`
}

function payloadCell(r: DecodedRecord, opts: PayloadOptions): string {
  if (r.payload === null) return r.payloadSize === null ? '(null)' : `(${r.payloadSize} bytes, not included)`
  if (opts.noPayload) return `(${r.payloadSize ?? r.payload.length} bytes)`
  const max = Math.min(opts.payloadLimit, 512)
  return schemaCell(r.decoded?.payload, () => bytesCell(r.payload, max), max)
}

/** wide: which schema decoded the payload (and the key), e.g. `avro 12`, `protobuf 7 [0,1]`. */
function schemaColumn(r: DecodedRecord): string {
  const one = (v: SchemaValue) =>
    v.decodeError !== undefined ? `! ${schemaNote(v)}` : `${v.format} ${v.schemaId}${v.messageIndexes && (v.messageIndexes.length > 1 || v.messageIndexes[0] !== 0) ? ` [${v.messageIndexes.join(',')}]` : ''}`
  const parts = [r.decoded?.payload ? one(r.decoded.payload) : '-', ...(r.decoded?.key ? [`key: ${one(r.decoded.key)}`] : [])]
  return parts.join(' ')
}

function reasonCell(r: DecodedRecord): string {
  if (r.unreadable !== null) return `UNREADABLE: ${r.unreadable}`
  return r.reason ?? '-'
}

function headersCell(r: DecodedRecord): string {
  return r.userHeaders.map((h) => `${h.key}=${h.value === null ? 'null' : bytesCell(h.value, 64)}`).join(' ') || '-'
}

/**
 * `table` fits the terminal (see terminalWidth): the widest columns give way first, and KEY,
 * then RETRIES, then TIME are left out when SOURCE, REASON and PAYLOAD would be cramped. `wide` adds CONVENTION, GROUP and
 * HEADERS and is not cut to the terminal (for a pager or a file); each column keeps its cap.
 */
export function renderRecords(records: DecodedRecord[], format: 'table' | 'wide', opts: PayloadOptions, width?: number): string {
  // hyperi-rustlib entries name the service that wrote them (metadata.service): `wide` shows it.
  const services = format === 'wide' && records.some((r) => typeof r.metadata.service === 'string')
  // Records decoded with a registry schema: `wide` says which schema (SCHEMA).
  const schemas = format === 'wide' && records.some((r) => r.decoded !== undefined)
  return renderTable(recordColumns(format, services, schemas), records.map((r) => recordCells(r, format, opts, services, schemas)), width ?? (format === 'wide' ? Infinity : terminalWidth()))
}

/** The columns of a records table; `services` adds SERVICE, `schemas` SCHEMA (wide only). */
export function recordColumns(format: 'table' | 'wide', services: boolean, schemas = false): Column[] {
  const wide = format === 'wide'
  return [
    {head: 'POSITION', min: Infinity},
    {head: 'TIME', min: 20, optional: true},
    {head: 'SOURCE', max: wide ? 60 : 32, min: 8, comfort: 12},
    // The reason says the most: it keeps twice the share of the others when space is short.
    {head: 'REASON', max: wide ? 80 : 40, min: 8, comfort: 16, weight: 2},
    {head: 'RETRIES', align: 'right', optional: true},
    {head: 'KEY', max: wide ? 40 : 24, min: 6, optional: true},
    ...(services ? [{head: 'SERVICE', max: 40}] : []),
    ...(wide ? [{head: 'CONVENTION'}, {head: 'GROUP', max: 40}, {head: 'HEADERS', max: 80}] : []),
    ...(schemas ? [{head: 'SCHEMA', max: 60}] : []),
    {head: 'PAYLOAD', max: wide ? 200 : 120, min: 8, comfort: 12},
  ]
}

/** One record's cells for recordColumns (raw text: the table escapes it). */
export function recordCells(r: DecodedRecord, format: 'table' | 'wide', opts: PayloadOptions, services: boolean, schemas = false): string[] {
  const wide = format === 'wide'
  return [
    r.position,
    shortTime(r.timestamp),
    sourceCell(r),
    reasonCell(r),
    r.retries === null ? '-' : String(r.retries),
    schemaCell(r.decoded?.key, () => bytesCell(r.key, 64), 64),
    ...(services ? [typeof r.metadata.service === 'string' ? r.metadata.service : '-'] : []),
    ...(wide ? [r.convention, r.source.group ?? '-', headersCell(r)] : []),
    ...(schemas ? [schemaColumn(r)] : []),
    payloadCell(r, opts),
  ]
}

/** The `--json` document of `dlq inspect` (schema: schemas/inspect.schema.json). */
export function inspectJson(result: InspectResult, opts: PayloadOptions): unknown {
  return {
    source: result.source,
    from: result.from,
    limit: result.limit,
    nextOffsetHint: result.next,
    end: result.atEnd,
    scanned: result.scanned,
    items: result.records.map((r) => toMessage(r, opts)),
    unreadable: result.unreadable,
    warnings: result.warnings,
  }
}

export function renderInspect(result: InspectResult, format: OutputFormat, opts: PayloadOptions): Rendered {
  const notes: string[] = []
  for (const u of result.unreadable) notes.push(`warning: record ${escapeText(u.position)} is unreadable: ${escapeText(u.error)}`)
  const out = result.untimedLeftOut
  if (out && out.count > 0) {
    const listed = `${out.positions.map(escapeText).join(', ')}${out.count > out.positions.length ? `, … ${out.count - out.positions.length} more` : ''}`
    const one = out.count === 1
    const [s, its, itIs, it] = one ? ['', 'its', 'it is', 'it'] : ['s', 'their', 'they are', 'them']
    notes.push(`note: ${out.count} unreadable record${s} with no time of ${its} own left out by --since/--until (position${s} ${listed}): without --since/--until ${itIs} shown, and dlq stats counts ${it} in or out of the window by the records around ${it}`)
  }
  notes.push(...decodeNotes(result.records))
  const next = result.next === null ? null : escapeText(result.next)
  const more = result.atEnd ? `end of log (continue later with --from ${next})` : `next page: --from ${next}`

  if (format === 'json') return {stdout: safeJson(inspectJson(result, opts), 2) + '\n', stderr: lines(notes)}
  if (format === 'ndjson') {
    const messages = result.records.map((r) => toMessage(r, opts))
    const cut = messages.filter((m) => m.payload?.truncated && m.payload.size > opts.payloadLimit).length
    if (cut > 0 && !opts.noPayload) notes.push(`warning: ${cut} payload${cut === 1 ? ' was' : 's were'} cut to --payload-limit ${opts.payloadLimit} bytes ("truncated": true); dlq export writes whole payloads`)
    const out = messages.map((m) => safeJson(m)).join('\n')
    return {stdout: out === '' ? '' : out + '\n', stderr: lines([...notes, `${result.records.length} record${result.records.length === 1 ? '' : 's'}; ${more}`])}
  }
  const table = result.records.length === 0 ? 'No messages' + (result.scanned > 0 ? ` matched (${result.scanned} examined)` : '') + '.' : renderRecords(result.records, format, opts)
  return {stdout: `${table}\n${result.records.length} shown, ${result.scanned} examined; ${more}\n`, stderr: lines(notes)}
}

/**
 * One warning per distinct reason a payload or key in the wire format was shown raw, with the
 * positions it concerns (a few, then a count), so an unreachable registry is one line, not fifty.
 */
export function decodeNotes(records: DecodedRecord[]): string[] {
  const byReason = new Map<string, string[]>()
  for (const r of records) {
    for (const [what, v] of [['payload', r.decoded?.payload], ['key', r.decoded?.key]] as const) {
      if (v?.decodeError === undefined) continue
      const reason = `${what} not decoded, shown raw: ${v.decodeError}`
      byReason.set(reason, [...(byReason.get(reason) ?? []), r.position])
    }
  }
  return [...byReason].map(([reason, at]) => {
    const shown = at.slice(0, 5).join(', ') + (at.length > 5 ? ` and ${at.length - 5} more` : '')
    return `warning: ${at.length === 1 ? 'record' : 'records'} ${escapeText(shown)}: ${escapeText(reason)}`
  })
}

function lines(l: string[]): string {
  return l.length === 0 ? '' : l.join('\n') + '\n'
}
