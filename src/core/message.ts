import {fromTextOrBase64, textOrBase64, utf8OrNull, type TextOrBase64} from './bytes.js'
import {NOT_ORIGINAL, type ConventionName, type DecodedRecord, type ErrorInfo, type MetadataValue, type RawHeader, type SourceRef} from './record.js'
import type {RecordSchemas, SchemaValue} from './schema/types.js'

/** The normalised record users see (product.md), one per message, in `--json` and NDJSON. */
export interface DlqMessage {
  position: string
  timestamp: string | null
  key: TextOrBase64 | null
  headers: Record<string, TextOrBase64 | null | Array<TextOrBase64 | null>>
  /**
   * Present only when a repeated header name is interleaved with others (`a, b, a`), which the
   * `headers` object cannot order: every header as `[name, value]` in stored order, so an export
   * read back (and replayed) keeps the exact order.
   */
  headerOrder?: Array<[string, TextOrBase64 | null]>
  payload: PayloadView | null
  source: SourceRef
  reason: string | null
  error: ErrorInfo | null
  retries: number | null
  deadLetteredAt: string | null
  originalTimestamp: string | null
  convention: ConventionName
  metadata: Record<string, MetadataValue>
  /** Present only for a record that could not be read as a DLQ entry: what was wrong. */
  unreadable?: string
  /**
   * Present only when the payload or key is in the Confluent wire format and a registry was given:
   * what its schema made of it (`value`), or why it could not be decoded (`decodeError`). The raw
   * bytes stay in `payload` / `key`.
   */
  decoded?: RecordSchemas
}

export interface PayloadView {
  size: number
  text?: string
  base64?: string
  truncated: boolean
}

export interface PayloadOptions {
  /** Bytes of payload to include; the rest is cut and `truncated` set. */
  payloadLimit: number
  /** Leave the payload bytes out entirely (size only). */
  noPayload?: boolean
}

export const DEFAULT_PAYLOAD_LIMIT = 4096
export const MAX_PAYLOAD_LIMIT = 1024 * 1024

export function isoTime(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}

/** Cuts at most `limit` bytes without splitting a UTF-8 sequence when the bytes are text. */
export function previewBytes(buf: Buffer, limit: number): Buffer {
  if (buf.length <= limit) return buf
  let end = limit
  // Step back over continuation bytes (10xxxxxx) so a multi-byte character is not split.
  let back = 0
  while (end > 0 && back < 3 && (buf[end] & 0xc0) === 0x80) {
    end--
    back++
  }
  return buf.subarray(0, end)
}

export function payloadView(rec: DecodedRecord, opts: PayloadOptions): PayloadView | null {
  if (rec.payload === null) return rec.payloadSize === null ? null : {size: rec.payloadSize, truncated: true}
  const size = rec.payloadSize ?? rec.payload.length
  if (opts.noPayload) return {size, truncated: size > 0}
  const shown = previewBytes(rec.payload, opts.payloadLimit)
  const truncated = rec.payloadTruncated || shown.length < size
  const text = utf8OrNull(shown)
  return text === null ? {size, base64: shown.toString('base64'), truncated} : {size, text, truncated}
}

export function headersView(headers: RawHeader[]): DlqMessage['headers'] {
  const out: DlqMessage['headers'] = {}
  for (const h of headers) {
    const v = h.value === null ? null : textOrBase64(h.value)
    if (!(h.key in out)) out[h.key] = v
    else {
      const prev = out[h.key]
      out[h.key] = Array.isArray(prev) ? [...prev, v] : [prev as TextOrBase64 | null, v]
    }
  }
  return out
}

/** Whether some header name comes back after another name: the `headers` object loses that order. */
function interleaved(headers: RawHeader[]): boolean {
  const closed = new Set<string>()
  let last: string | null = null
  for (const h of headers) {
    if (h.key !== last) {
      if (closed.has(h.key)) return true
      if (last !== null) closed.add(last)
      last = h.key
    }
  }
  return false
}

export function toMessage(rec: DecodedRecord, opts: PayloadOptions): DlqMessage {
  const msg: DlqMessage = {
    position: rec.position,
    timestamp: isoTime(rec.timestamp),
    key: rec.key === null ? null : textOrBase64(rec.key),
    headers: headersView(rec.userHeaders),
    ...(interleaved(rec.userHeaders) ? {headerOrder: rec.userHeaders.map((h): [string, TextOrBase64 | null] => [h.key, h.value === null ? null : textOrBase64(h.value)])} : {}),
    payload: payloadView(rec, opts),
    source: {...rec.source, doubt: rec.source.doubt ?? null},
    reason: rec.reason,
    error: rec.error,
    retries: rec.retries,
    deadLetteredAt: isoTime(rec.deadLetteredAt),
    originalTimestamp: isoTime(rec.originalTimestamp),
    convention: rec.convention,
    metadata: rec.metadata,
  }
  if (rec.unreadable !== null) msg.unreadable = rec.unreadable
  if (rec.decoded) msg.decoded = decodedView(rec.decoded, opts)
  return msg
}

/** With --no-payload the decoded payload's value is left out too (its schema id and format stay). */
function decodedView(d: RecordSchemas, opts: PayloadOptions): RecordSchemas {
  const out: RecordSchemas = {}
  if (d.payload) out.payload = opts.noPayload ? withoutValue(d.payload) : d.payload
  if (d.key) out.key = d.key
  return out
}

function withoutValue(v: SchemaValue): SchemaValue {
  const {value: _value, ...rest} = v
  return rest
}

// ---- reading dlq's own NDJSON back (convention "dlq") ----

/** The conventions a record of dlq's own can have had where it was first read (every one but dlq's own and unknown). */
const ORIGINS: Record<Exclude<ConventionName, 'dlq' | 'unknown'>, true> = {
  hyperi: true,
  fibril: true,
  karafka: true,
  arroyo: true,
  spring: true,
  'spring-cloud-stream': true,
  connect: true,
  streams: true,
  smallrye: true,
  watermill: true,
}

/**
 * The convention a record is replayed by. A record of dlq's own (an export read back, a Redis
 * entry in dlq's layout) shows `dlq`, but it is the message its first convention described:
 * that convention's consumer reads it back and that convention's producer chose its key's
 * partition, so replay lays it out and partitions it by the convention noted in
 * `dlq.original-convention`, and plans it as the record read from the DLQ itself.
 */
export function replayConvention(r: Pick<DecodedRecord, 'convention' | 'metadata'>): ConventionName {
  if (r.convention !== 'dlq') return r.convention
  const origin = r.metadata['dlq.original-convention']
  return typeof origin === 'string' && Object.hasOwn(ORIGINS, origin) ? (origin as ConventionName) : 'dlq'
}

type Obj = Record<string, unknown>

/** dlq's own export: the normalised record shape above. */
export function looksLikeDlqMessage(o: Obj): boolean {
  return typeof o.convention === 'string' && 'position' in o && 'source' in o && 'payload' in o && 'headers' in o
}

const intOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null)
const int64OrNull = (v: unknown): number | bigint | null => (typeof v === 'bigint' ? v : intOrNull(v))
const partOrNull = (v: unknown): {class: string | null; message: string | null} | null =>
  v && typeof v === 'object' ? {class: strOrNull((v as Obj).class), message: strOrNull((v as Obj).message)} : null
function errorOrNull(v: unknown): ErrorInfo | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null
  const e = v as Obj
  return {class: strOrNull(e.class), message: strOrNull(e.message), cause: partOrNull(e.cause), stage: strOrNull(e.stage)}
}
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const timeOrNull = (v: unknown): number | null => {
  if (typeof v !== 'string') return null
  const t = Date.parse(v)
  return Number.isNaN(t) ? null : t
}

function headersFrom(v: unknown, problems: string[], ordered?: unknown[]): RawHeader[] {
  const out: RawHeader[] = []
  if (ordered) {
    for (const pair of ordered) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
        problems.push('field "headerOrder" holds something that is not [name, value]')
        continue
      }
      const buf = pair[1] === null ? null : fromTextOrBase64(pair[1])
      if (pair[1] !== null && buf === null) problems.push(`header "${pair[0]}" is neither text nor {"base64": …}`)
      else out.push({key: pair[0], value: buf})
    }
    return out
  }
  if (v === null || v === undefined) return out
  if (typeof v !== 'object' || Array.isArray(v)) {
    problems.push('field "headers" is not an object')
    return out
  }
  for (const [key, value] of Object.entries(v as Obj)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one === null) out.push({key, value: null})
      else {
        const buf = fromTextOrBase64(one)
        if (buf === null) problems.push(`header "${key}" is neither text nor {"base64": …}`)
        else out.push({key, value: buf})
      }
    }
  }
  return out
}

/**
 * Reads a record written by `dlq inspect --output ndjson` back without loss. The record keeps
 * its fields; where it was read from originally is kept in metadata (`dlq.original-position`,
 * `dlq.original-convention`) unless an earlier round trip already put it there.
 */
export function decodeDlqMessage(position: string, o: Obj): DecodedRecord {
  const problems: string[] = []
  // An unreadable record stays unreadable: its payload is the corrupt line or the entry that
  // could not be read, and replaying that as a message would send the wrapper, not a message.
  let unreadable: string | null = null
  if (typeof o.unreadable === 'string') unreadable = o.unreadable
  else if (o.unreadable !== undefined && o.unreadable !== null) problems.push('field "unreadable" is not a string')
  let payload: Buffer | null = null
  let payloadTruncated = false
  let payloadSize: number | null = null
  if (o.payload !== null) {
    const p = o.payload as Obj
    if (typeof p !== 'object' || Array.isArray(p)) problems.push('field "payload" is not an object')
    else {
      payloadSize = intOrNull(p.size)
      payloadTruncated = p.truncated === true
      if (typeof p.text === 'string') payload = Buffer.from(p.text, 'utf8')
      else if (p.base64 !== undefined) {
        payload = fromTextOrBase64({base64: p.base64})
        if (payload === null) problems.push('field "payload.base64" is not valid base64')
      } else if (payloadSize !== null && payloadSize > 0) {
        payloadTruncated = true
      } else payload = Buffer.alloc(0)
    }
  }

  let key: Buffer | null = null
  if (o.key !== null && o.key !== undefined) {
    key = fromTextOrBase64(o.key)
    if (key === null) problems.push('field "key" is neither text nor {"base64": …}')
  }

  const s = (o.source && typeof o.source === 'object' ? o.source : {}) as Obj
  const metadata: Record<string, MetadataValue> =
    o.metadata && typeof o.metadata === 'object' && !Array.isArray(o.metadata) ? {...(o.metadata as Record<string, MetadataValue>)} : {}
  if (!('dlq.original-position' in metadata)) metadata['dlq.original-position'] = String(o.position)
  if (!('dlq.original-convention' in metadata)) metadata['dlq.original-convention'] = String(o.convention)

  return {
    position,
    timestamp: timeOrNull(o.timestamp),
    key,
    payload,
    payloadTruncated,
    payloadSize: payloadSize ?? payload?.length ?? null,
    userHeaders: Array.isArray(o.headerOrder) ? headersFrom(null, problems, o.headerOrder) : headersFrom(o.headers, problems),
    source: {topic: strOrNull(s.topic), partition: intOrNull(s.partition), offset: int64OrNull(s.offset), group: strOrNull(s.group), ...(typeof s.doubt === 'string' ? {doubt: s.doubt} : {})},
    reason: strOrNull(o.reason),
    error: errorOrNull(o.error),
    retries: intOrNull(o.retries),
    deadLetteredAt: timeOrNull(o.deadLetteredAt),
    originalTimestamp: timeOrNull(o.originalTimestamp),
    convention: 'dlq',
    metadata,
    unreadable: problems.length > 0 ? [unreadable, `dlq record: ${problems.join('; ')}`].filter((x) => x !== null).join('; ') : unreadable,
    // An export of a record that does not hold the original message holds it no more: the fact travels in its metadata.
    notOriginal: strOrNull(metadata[NOT_ORIGINAL]),
  }
}
