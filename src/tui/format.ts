import {utf8OrNull} from '../core/bytes.js'
import {headersView, isoTime, previewBytes} from '../core/message.js'
import type {DecodedRecord, MetadataValue} from '../core/record.js'
import {escapeText, truncate} from '../output/escape.js'

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

export function listColumns(width: number, positionWidth: number): ListColumns {
  // 2 for the marks, 5 separating spaces.
  const rest = Math.max(0, width - 2 - 5)
  const position = Math.min(Math.max(8, positionWidth), 22)
  const time = rest >= 100 ? 19 : 8
  const topic = rest >= 100 ? 20 : 14
  const reason = rest >= 100 ? 22 : 14
  const key = rest >= 100 ? 12 : 8
  const preview = Math.max(0, rest - position - time - topic - reason - key)
  return {position, time, topic, reason, key, preview}
}

const pad = (s: string, w: number) => {
  const t = truncate(s, w)
  return t.length >= w ? t : t + ' '.repeat(w - Array.from(t).length)
}

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
  return oneLine(r.payload, Math.max(16, width * 2))
}

/** The list line of a record (without the marks), exactly `width - 2` characters. */
export function listLine(r: DecodedRecord, c: ListColumns): string {
  return [
    pad(escapeText(r.position), c.position),
    pad(listTime(r.timestamp, c.time), c.time),
    pad(escapeText(sourceTopic(r)), c.topic),
    pad(escapeText(r.unreadable !== null ? 'unreadable' : (r.reason ?? '-')), c.reason),
    pad(oneLine(r.key, c.key * 2), c.key),
    c.preview > 0 ? pad(payloadPreview(r, c.preview), c.preview) : '',
  ].join(' ')
}

export function listHeader(c: ListColumns): string {
  return [pad('POSITION', c.position), pad('TIME', c.time), pad('SOURCE', c.topic), pad('REASON', c.reason), pad('KEY', c.key), c.preview > 0 ? pad('PAYLOAD', c.preview) : ''].join(' ')
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

/** Hex dump lines: offset, 16 bytes, printable ASCII. */
export function hexDump(buf: Buffer, maxLines = Number.POSITIVE_INFINITY): string[] {
  const lines: string[] = []
  for (let off = 0; off < buf.length && lines.length < maxLines; off += 16) {
    const row = buf.subarray(off, off + 16)
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0'))
    const left = hex.slice(0, 8).join(' ')
    const right = hex.slice(8).join(' ')
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
    lines.push(`${off.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`)
  }
  return lines
}

export type PayloadFormat = 'json' | 'text' | 'hex' | 'none'

/** Payload lines for the detail pane: pretty JSON, text, or hex (asked for, or because it is binary). */
export function payloadLines(payload: Buffer | null, hex: boolean): {format: PayloadFormat; lines: string[]} {
  if (payload === null) return {format: 'none', lines: ['(no payload)']}
  if (payload.length === 0) return {format: 'text', lines: ['(empty)']}
  const text = hex ? null : utf8OrNull(payload)
  if (text === null) return {format: 'hex', lines: hexDump(payload)}
  const t = text.trimStart()
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      const pretty = JSON.stringify(JSON.parse(text), null, 2)
      return {format: 'json', lines: pretty.split('\n').map(escapeText)}
    } catch {
      // a cut preview or not JSON at all: shown as text
    }
  }
  return {format: 'text', lines: text.split('\n').map((l) => escapeText(l.endsWith('\r') ? l.slice(0, -1) : l))}
}

export interface DetailView {
  /** The title line of the pane. */
  title: string
  lines: string[]
}

/**
 * The detail pane of one record: normalised fields, user headers, decoded metadata, then
 * the payload. `full` is the record read again without the preview cut, when loaded.
 */
export function detailView(r: DecodedRecord, opts: {hex: boolean; full: DecodedRecord | null; loadingFull: boolean; previewLimit: number}): DetailView {
  const lines: string[] = []
  const field = (name: string, value: string) => lines.push(`${name.padEnd(15)} ${value}`)
  field('position', escapeText(r.position))
  field('timestamp', isoTime(r.timestamp) ?? '-')
  field('key', r.key === null ? '-' : oneLine(r.key, 512))
  const s = r.source
  field('source', `topic ${escapeText(s.topic ?? '-')}  partition ${s.partition ?? '-'}  offset ${s.offset ?? '-'}  group ${escapeText(s.group ?? '-')}`)
  field('reason', escapeText(r.reason ?? '-'))
  field('retries', r.retries === null ? '-' : String(r.retries))
  field('dead-lettered', isoTime(r.deadLetteredAt) ?? '-')
  field('convention', r.convention)
  if (r.unreadable !== null) field('UNREADABLE', escapeText(r.unreadable))

  const headers = headersView(r.userHeaders)
  const names = Object.keys(headers)
  lines.push('', `headers (${names.length})`)
  for (const name of names) {
    const v = headers[name]
    const vals = Array.isArray(v) ? v : [v]
    for (const one of vals) lines.push(`  ${escapeText(name)}: ${one === null ? 'null' : typeof one === 'string' ? escapeText(one) : `base64:${one.base64}`}`)
  }
  const meta = Object.entries(r.metadata)
  lines.push('', `metadata (${meta.length})`)
  for (const [k, v] of meta) lines.push(`  ${escapeText(k)}: ${escapeText(metadataText(v))}`)

  const rec = opts.full ?? r
  const size = rec.payloadSize ?? rec.payload?.length ?? 0
  const shownBytes = rec.payload?.length ?? 0
  const cut = rec.payload !== null && shownBytes < size
  const {format, lines: body} = payloadLines(rec.payload, opts.hex)
  let head = `payload (${formatSize(size)}, ${format})`
  if (cut && rec.payloadTruncated) head += ` — only a ${formatSize(shownBytes)} preview is stored in the DLQ`
  else if (cut) head += opts.loadingFull ? ' — loading the full payload…' : ` — first ${formatSize(shownBytes)} shown; p loads it all`
  lines.push('', head, ...body)
  if (cut && format !== 'hex') lines.push('…')

  const title = `${escapeText(r.position)}  ${escapeText(sourceTopic(r))}  ${escapeText(r.reason ?? '')}`.trim()
  return {title, lines}
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
