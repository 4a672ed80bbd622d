import {utf8OrNull} from '../core/bytes.js'
import {headersView, isoTime, previewBytes} from '../core/message.js'
import type {DecodedRecord, MetadataValue} from '../core/record.js'
import type {SchemaValue} from '../core/schema/types.js'
import {escapeText, safeJson} from '../output/escape.js'
import {schemaNote} from '../output/records.js'
import {displayWidth, fitEnd, sliceColumns, wrapColumns} from './text.js'

/**
 * Everything the TUI shows of a record, made terminal-safe here: every string that comes
 * from a DLQ passes through escapeText, binary data becomes a hex dump.
 */

export interface ListColumns {
  position: number
  time: number
  topic: number
  reason: number
  key: number
  preview: number
}

/** How wide the loaded records' fields are (display columns), so columns use the room they need. */
export interface ColumnNeeds {
  position: number
  topic: number
  reason: number
  key: number
}

/** Columns before each row: the cursor mark, the selected/replayed mark, a space. */
export const MARK_WIDTH = 3

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n))

/**
 * Column widths for a terminal `width` wide. Position, time and key take what they need
 * (within bounds); source and reason share the rest with the payload preview by what the
 * loaded records need, so a wide terminal shows whole reasons instead of a fixed 22 columns.
 */
export function listColumns(width: number, needs: ColumnNeeds): ListColumns {
  const rest = Math.max(0, width - MARK_WIDTH - 5)
  const wide = rest >= 88
  const position = clamp(needs.position, 8, 24)
  const time = wide ? 19 : 8
  const key = clamp(needs.key, 3, wide ? 24 : 10)
  const room = Math.max(0, rest - position - time - key)
  const topic = clamp(needs.topic, 6, Math.max(12, Math.floor(room * 0.3)))
  const reason = clamp(needs.reason, 6, Math.max(14, Math.floor(room * 0.45)))
  const preview = Math.max(0, room - topic - reason)
  return {position, time, topic, reason, key, preview}
}

const needsCache = new WeakMap<DecodedRecord[], ColumnNeeds>()

/** The widest field of each column among `records` (cached per page array). */
export function columnNeeds(records: DecodedRecord[]): ColumnNeeds {
  const hit = needsCache.get(records)
  if (hit) return hit
  const n: ColumnNeeds = {position: 0, topic: 0, reason: 0, key: 0}
  for (const r of records) {
    n.position = Math.max(n.position, displayWidth(escapeText(r.position)))
    n.topic = Math.max(n.topic, displayWidth(escapeText(sourceTopic(r))))
    n.reason = Math.max(n.reason, displayWidth(reasonText(r)))
    n.key = Math.max(n.key, r.key === null ? 1 : Math.min(24, displayWidth(oneLine(r.key, 48))))
  }
  needsCache.set(records, n)
  return n
}

export function mergeNeeds(all: ColumnNeeds[]): ColumnNeeds {
  const n: ColumnNeeds = {position: 0, topic: 0, reason: 0, key: 0}
  for (const x of all) {
    n.position = Math.max(n.position, x.position)
    n.topic = Math.max(n.topic, x.topic)
    n.reason = Math.max(n.reason, x.reason)
    n.key = Math.max(n.key, x.key)
  }
  return n
}

/** Times are UTC (the header says so): `2026-11-22 10:00:00`, or `10:00:00` when narrow. */
function listTime(ms: number | null, width: number): string {
  const iso = isoTime(ms)
  if (iso === null) return '-'
  return width >= 19 ? iso.slice(0, 19).replace('T', ' ') : iso.slice(11, 19)
}

function sourceTopic(r: DecodedRecord): string {
  if (r.source.topic !== null) return r.source.topic + (r.source.partition === null ? '' : `/${r.source.partition}`)
  const hint = r.metadata['dlq.source-topic-hint']
  return typeof hint === 'string' ? `(${hint}?)` : '-'
}

const reasonText = (r: DecodedRecord): string => escapeText(r.unreadable !== null ? 'unreadable' : (r.reason ?? '-'))

/** One line of text for bytes: escaped text, or hex when they are not UTF-8. */
export function oneLine(buf: Buffer | null, max: number): string {
  if (buf === null) return '-'
  const shown = previewBytes(buf, max)
  const text = utf8OrNull(shown)
  if (text === null) return 'hex:' + buf.subarray(0, Math.ceil(max / 2)).toString('hex')
  return escapeText(text)
}

export function payloadPreview(r: DecodedRecord, width: number): string {
  if (r.unreadable !== null) return `UNREADABLE: ${escapeText(r.unreadable)}`
  if (r.payload === null) return r.payloadSize === null ? '(null)' : `(${r.payloadSize} bytes)`
  const d = r.decoded?.payload
  if (d && d.decodeError === undefined && d.value !== undefined) return escapeText(safeJson(d.value) ?? 'null').slice(0, Math.max(16, width * 2))
  return (d ? `[${schemaNote(d)}] ` : '') + oneLine(r.payload, Math.max(16, width * 2))
}

/** Detail lines for a value decoded with its registry schema (or why it was not), shown before the raw bytes. */
function decodedLines(what: string, v: SchemaValue): Line[] {
  const which = `${v.format ?? 'unknown format'}, schema ${v.schemaId}${v.messageIndexes && v.messageIndexes.join(',') !== '0' ? `, message [${v.messageIndexes.join(',')}]` : ''}`
  const out: Line[] = [['', 0]]
  if (v.decodeError !== undefined) out.push(...multiline(`${what} not decoded (${which}): `, v.decodeError, '  '))
  if (v.value !== undefined) {
    out.push([`${what} decoded (${which})${v.decodeError !== undefined ? ', as read' : ''}`, 0])
    for (const l of textLines(safeJson(v.value, 2) ?? 'null')) out.push([l, Math.min(leading(l), 40)])
  }
  return out
}

/** The list line of a record (without the marks), exactly as wide as the columns. */
export function listLine(r: DecodedRecord, c: ListColumns): string {
  return [
    fitEnd(escapeText(r.position), c.position),
    fitEnd(listTime(r.timestamp, c.time), c.time),
    fitEnd(escapeText(sourceTopic(r)), c.topic),
    fitEnd(reasonText(r), c.reason),
    fitEnd(oneLine(r.key, c.key * 2), c.key),
    c.preview > 0 ? fitEnd(payloadPreview(r, c.preview), c.preview) : '',
  ].join(' ')
}

export function listHeader(c: ListColumns): string {
  return [
    fitEnd('POSITION', c.position),
    fitEnd('TIME UTC', c.time),
    fitEnd('SOURCE', c.topic),
    fitEnd('REASON', c.reason),
    fitEnd('KEY', c.key),
    c.preview > 0 ? fitEnd('PAYLOAD', c.preview) : '',
  ].join(' ')
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

function metadataText(v: MetadataValue): string {
  if (v === null) return 'null'
  if (typeof v === 'object' && !Array.isArray(v)) return `base64:${v.base64}`
  if (Array.isArray(v)) return v.map(metadataText).join(', ')
  return String(v)
}

/** Width of one hex dump row: offset, 16 bytes in two groups, the printable ASCII. */
export const HEX_ROW_WIDTH = 78

/** The hex dump row of the 16 bytes at `off`. */
export function hexRow(buf: Buffer, off: number): string {
  const row = buf.subarray(off, off + 16)
  const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0'))
  const left = hex.slice(0, 8).join(' ')
  const right = hex.slice(8).join(' ')
  const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
  return `${off.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`
}

/** Hex dump lines (the first `maxLines`). The detail pane never builds these for a whole payload: it asks hexRow for the rows on screen. */
export function hexDump(buf: Buffer, maxLines = Number.POSITIVE_INFINITY): string[] {
  const lines: string[] = []
  for (let off = 0; off < buf.length && lines.length < maxLines; off += 16) lines.push(hexRow(buf, off))
  return lines
}

export type PayloadFormat = 'json' | 'text' | 'hex' | 'none'

/**
 * The text and JSON views format at most this much of a payload (the hex view shows all of
 * it, row by row as it scrolls into sight); a larger payload says so and is saved whole with `s`.
 */
export const TEXT_VIEW_BYTES = 1024 * 1024

/** Splits text into escaped lines (CRLF counts as one break). */
const textLines = (text: string): string[] => text.split('\n').map((l) => escapeText(l.endsWith('\r') ? l.slice(0, -1) : l))

/** Payload lines for text and JSON; null when the payload is shown as hex (asked for, or binary). */
export function payloadText(payload: Buffer, hex: boolean): {format: 'json' | 'text'; lines: string[]; cut: boolean} | null {
  if (hex) return null
  const cut = payload.length > TEXT_VIEW_BYTES
  const shown = cut ? previewBytes(payload, TEXT_VIEW_BYTES) : payload
  const text = utf8OrNull(shown)
  if (text === null) return null
  const t = text.trimStart()
  if (!cut && (t.startsWith('{') || t.startsWith('['))) {
    try {
      return {format: 'json', lines: textLines(JSON.stringify(JSON.parse(text), null, 2)), cut}
    } catch {
      // a cut preview or not JSON at all: shown as text
    }
  }
  return {format: 'text', lines: textLines(text), cut}
}

/**
 * The detail of one record as rows for a pane `width` columns wide: rows are produced on
 * demand, so a hex dump of a 50 MB payload costs only the rows on screen.
 */
export interface DetailDoc {
  title: string
  rows: number
  row(i: number): string
  /** The widest row (display columns), for horizontal scrolling. */
  width: number
}

export interface DetailOptions {
  hex: boolean
  full: DecodedRecord | null
  loadingFull: boolean
  previewLimit: number
  /** Break long lines into rows (else they are cut, and scroll sideways). */
  wrap: boolean
  width: number
}

/** A text value that may span lines (stack traces, exception messages): first line after `label`, the rest indented. */
function multiline(label: string, value: string, indent: string): Line[] {
  const parts = value.split(/\r?\n/)
  while (parts.length > 1 && parts.at(-1) === '') parts.pop()
  return [
    [`${label}${escapeText(parts[0])}`, displayWidth(label)],
    ...parts.slice(1).map((l): Line => {
      const text = `${indent}${escapeText(l.replace(/\t/g, '    '))}`
      return [text, leading(text)]
    }),
  ]
}

/** A line of the detail and the indent its wrapped rows get. */
type Line = [text: string, indent: number]
const leading = (s: string): number => s.length - s.trimStart().length

/**
 * The detail pane of one record: normalised fields, user headers, decoded metadata, then
 * the payload. `full` is the record read again without the preview cut, when loaded.
 */
export function detailDoc(r: DecodedRecord, opts: DetailOptions): DetailDoc {
  const lines: Line[] = []
  const field = (name: string, value: string) => lines.push([`${name.padEnd(15)} ${value}`, 16])
  const plain = (...texts: string[]) => lines.push(...texts.map((t): Line => [t, leading(t)]))
  field('position', escapeText(r.position))
  field('timestamp', isoTime(r.timestamp) ?? '-')
  field('key', r.key === null ? '-' : oneLine(r.key, 512))
  const s = r.source
  field('source', `topic ${escapeText(s.topic ?? '-')}  partition ${s.partition ?? '-'}  offset ${s.offset ?? '-'}  group ${escapeText(s.group ?? '-')}`)
  lines.push(...multiline(`${'reason'.padEnd(15)} `, r.reason ?? '-', ' '.repeat(16)))
  field('retries', r.retries === null ? '-' : String(r.retries))
  field('dead-lettered', isoTime(r.deadLetteredAt) ?? '-')
  field('convention', r.convention)
  if (r.unreadable !== null) field('UNREADABLE', escapeText(r.unreadable))

  const headers = headersView(r.userHeaders)
  const names = Object.keys(headers)
  plain('', `headers (${names.length})`)
  for (const name of names) {
    const v = headers[name]
    const vals = Array.isArray(v) ? v : [v]
    for (const one of vals) {
      if (one === null || typeof one !== 'string') plain(`  ${escapeText(name)}: ${one === null ? 'null' : `base64:${one.base64}`}`)
      else lines.push(...multiline(`  ${escapeText(name)}: `, one, '      '))
    }
  }
  const meta = Object.entries(r.metadata)
  plain('', `metadata (${meta.length})`)
  for (const [k, v] of meta) lines.push(...multiline(`  ${escapeText(k)}: `, metadataText(v), '      '))

  if (r.decoded?.key) lines.push(...decodedLines('key', r.decoded.key))
  if (r.decoded?.payload) lines.push(...decodedLines('payload', r.decoded.payload))

  const rec = opts.full ?? r
  const size = rec.payloadSize ?? rec.payload?.length ?? 0
  const shownBytes = rec.payload?.length ?? 0
  const cut = rec.payload !== null && shownBytes < size
  const payload = rec.payload
  const text = payload === null ? null : payload.length === 0 ? {format: 'text' as const, lines: ['(empty)'], cut: false} : payloadText(payload, opts.hex)
  const format: PayloadFormat = payload === null ? 'none' : text === null ? 'hex' : text.format
  let head = `payload (${formatSize(size)}, ${format})`
  if (cut && rec.payloadTruncated) head += ` — only a ${formatSize(shownBytes)} preview is stored in the DLQ`
  else if (cut) head += opts.loadingFull ? ' — loading the full payload…' : ` — first ${formatSize(shownBytes)} shown; p loads it all`
  plain('', head)
  if (payload === null) plain('(no payload)')
  else if (text !== null) {
    for (const l of text.lines) lines.push([l, Math.min(leading(l), 40)])
    if (text.cut) plain(`… the text view stops after ${formatSize(TEXT_VIEW_BYTES)} of ${formatSize(payload.length)}: x shows all of it as hex, s saves it to a file`)
    else if (cut) plain('…')
  }

  const title = `${escapeText(r.position)}  ${escapeText(sourceTopic(r))}  ${escapeText(r.reason ?? '')}`.split('\\n')[0].trim()
  const width = Math.max(1, opts.width)
  const head_ = opts.wrap ? lines.flatMap(([l, indent]) => wrapColumns(l, width, indent)) : lines.map(([l]) => l)
  const hexBuf = payload !== null && text === null ? payload : null
  const hexRows = hexBuf ? Math.ceil(hexBuf.length / 16) : 0
  // A hex row is wrapped only when the pane is narrower than a row: each then takes `per` rows.
  const per = opts.wrap && width < HEX_ROW_WIDTH ? Math.ceil(HEX_ROW_WIDTH / width) : 1
  let widest = hexBuf ? HEX_ROW_WIDTH : 0
  if (!opts.wrap) for (const [l] of lines) widest = Math.max(widest, displayWidth(l))
  return {
    title,
    rows: head_.length + hexRows * per,
    width: opts.wrap ? width : widest,
    row(i: number): string {
      if (i < head_.length) return head_[i] ?? ''
      const j = i - head_.length
      if (!hexBuf || j >= hexRows * per) return ''
      const line = hexRow(hexBuf, Math.floor(j / per) * 16)
      return per === 1 ? line : sliceColumns(line, (j % per) * width, width)
    },
  }
}

/** A view into a much larger buffer (a reader's chunk) would keep the whole chunk alive. */
const pinsMore = (b: Buffer) => b.buffer.byteLength > 2 * b.length + 4096

/**
 * A record as the window holds it: the payload cut to `limit` bytes and copied, so the
 * window's memory is bounded by pages × page size × limit whatever the payloads weigh.
 */
export function slimRecord(r: DecodedRecord, limit: number): DecodedRecord {
  const key = r.key !== null && pinsMore(r.key) ? Buffer.from(r.key) : r.key
  if (r.payload === null || (r.payload.length <= limit && !pinsMore(r.payload))) return key === r.key ? r : {...r, key}
  return {...r, key, payload: Buffer.from(previewBytes(r.payload, limit)), payloadSize: r.payloadSize ?? r.payload.length}
}
