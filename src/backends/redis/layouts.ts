/**
 * Stream entry layouts: how the field/value pairs of one Redis stream entry become a record.
 *
 * dlq's own layout (version 1), written by the Redis sink and documented in docs/redis.md.
 * Every value is stored as raw bytes (Redis strings are binary-safe), so nothing is
 * re-encoded except the headers list:
 *
 *   _dlq     "1"      marks the layout and its version; always the first field
 *   key      bytes    the message key; the field is absent when the key is null
 *                     (an empty field is an empty key, not a null one)
 *   value    bytes    the payload; absent when the value is null
 *   headers  JSON     [[name, value], …] in the original order, repeated names repeated;
 *                     value is a string (the bytes were UTF-8), {"base64": "…"} (they were
 *                     not) or null (a null header); the field is absent when there are none
 *   ts       decimal  the message's own timestamp, epoch ms (e.g. the Kafka record time);
 *                     absent when unknown. The record time shown is the entry id's time
 *                     (when it reached this stream), so --since/--until can seek by id;
 *                     `ts` is shown as metadata "dlq.original-timestamp".
 *   meta     JSON     optional, for writers that know what happened to the message:
 *                     {"source": {"topic", "partition", "offset", "group"}, "reason",
 *                     "retries", "deadLetteredAt" (epoch ms), "convention", "metadata": {…}};
 *                     every member optional, and each one given wins over what the headers say;
 *                     a record with `meta` and no header convention has convention "dlq"
 *   other fields are kept and shown as metadata "redis.field.NAME"
 *
 * Replay writes an entry in the layout its consumer reads (docs/redis.md, "Replay layouts"),
 * encoded here beside its decoder so each can be round-tripped: `encodeEntry` below.
 *
 * Reading this layout back gives exactly the bytes of key, value and every header, with
 * nulls and order kept: any Kafka-style record survives a round trip through a stream.
 * Headers keep their system metadata, so a Spring or Fibril record copied into a stream is
 * recognised again by the same conventions as in Kafka.
 *
 * Other layouts recognised, in this order:
 * - Watermill (`_watermill_message_uuid`): `payload` is the value, `metadata` a msgpack map
 *   of string to string that becomes the headers (so the poison-queue headers are found),
 *   the uuid becomes the `_watermill_message_uuid` header as Watermill's Kafka marshaler has it.
 * - hyperi-rustlib: a `data` field holding a hyperi JSON entry.
 * - Anything else: the first of `payload`, `value`, `body`, `message`, `data` is the value
 *   (a single field of another name is the value too), a `key` field the key, and every
 *   other field a header, in entry order — so header-style conventions (Fibril fields,
 *   `reason_poisoned`, …) are recognised in streams too.
 */
import {decode as msgpackDecode} from '@msgpack/msgpack'
import {createHash} from 'node:crypto'
import {fromTextOrBase64, textOrBase64, utf8OrNull} from '../../core/bytes.js'
import {decodeRaw} from '../../core/conventions/index.js'
import type {DecodedRecord, MetadataValue, RawHeader} from '../../core/record.js'
import type {OutgoingMessage, StreamLayout} from '../../core/sink.js'
import {idTime} from './ids.js'

export const DLQ_MARKER = '_dlq'
export const DLQ_LAYOUT_VERSION = '1'
const WATERMILL_UUID = '_watermill_message_uuid'
const GENERIC_VALUE_FIELDS = ['payload', 'value', 'body', 'message', 'data']

/** One entry's fields as Redis returns them: name, value, name, value, … */
export type EntryFields = Buffer[]

interface Field {
  name: string
  value: Buffer
  /** The name's bytes when they are not UTF-8 (`name` is then their latin1 text): what replay writes back. */
  bytes?: Buffer
}

function pairs(flat: EntryFields): Field[] {
  const out: Field[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const text = utf8OrNull(flat[i])
    out.push(text !== null ? {name: text, value: flat[i + 1]} : {name: flat[i].toString('latin1'), value: flat[i + 1], bytes: flat[i]})
  }
  return out
}

/** A field kept as a header, with the bytes of a name that is not UTF-8. */
const asHeader = (f: Field): RawHeader => (f.bytes ? {key: f.name, value: f.value, keyBytes: f.bytes} : {key: f.name, value: f.value})

/** Decodes one stream entry into the normalised record (position = entry id). */
export function decodeEntry(id: string, flat: EntryFields, stream: string): DecodedRecord {
  const fields = pairs(flat)
  const first = fields[0]?.name
  if (first === DLQ_MARKER || fields.some((f) => f.name === DLQ_MARKER)) return decodeDlqLayout(id, fields, stream)
  if (fields.some((f) => f.name === WATERMILL_UUID)) return decodeWatermill(id, fields, stream)
  const data = fields.find((f) => f.name === 'data')
  if (data) {
    const rec = decodeRaw({position: id, key: null, value: data.value, headers: [], timestamp: idTime(id), dlqTopic: stream})
    if (rec.convention === 'hyperi') {
      for (const f of fields) if (f !== data) rec.metadata[`redis.field.${f.name}`] = textOrBase64(f.value)
      return rec
    }
  }
  return decodeGeneric(id, fields, stream)
}

function decodeGeneric(id: string, fields: Field[], stream: string): DecodedRecord {
  let valueField: Field | undefined
  for (const name of GENERIC_VALUE_FIELDS) {
    valueField = fields.find((f) => f.name === name)
    if (valueField) break
  }
  if (!valueField && fields.length === 1) valueField = fields[0]
  const keyField = fields.find((f) => f.name === 'key')
  const headers: RawHeader[] = []
  for (const f of fields) if (f !== valueField && f !== keyField) headers.push(asHeader(f))
  return decodeRaw({position: id, key: keyField?.value ?? null, value: valueField?.value ?? null, headers, timestamp: idTime(id), dlqTopic: stream})
}

function decodeWatermill(id: string, fields: Field[], stream: string): DecodedRecord {
  const headers: RawHeader[] = []
  let value: Buffer | null = null
  let problem: string | null = null
  let rawMetadata: Buffer | null = null
  for (const f of fields) {
    if (f.name === 'payload') value = f.value
    else if (f.name === 'metadata') {
      const m = msgpackMap(f.value)
      if (typeof m === 'string') {
        problem = `Watermill entry: field "metadata" ${m}`
        rawMetadata = f.value
      } else headers.push(...m)
    } else headers.push(asHeader(f))
  }
  const rec = decodeRaw({position: id, key: null, value, headers, timestamp: idTime(id), dlqTopic: stream})
  if (rec.convention === 'unknown') rec.metadata['redis.layout'] = 'watermill'
  if (problem) {
    rec.unreadable = problem
    rec.metadata['redis.field.metadata'] = textOrBase64(rawMetadata!)
  }
  return rec
}

/** Watermill's metadata: a msgpack map of string to string. Returns the problem as text otherwise. */
function msgpackMap(buf: Buffer): RawHeader[] | string {
  if (buf.length === 0) return []
  let m: unknown
  try {
    // Values raw: Go strings are bytes, and a value that is not UTF-8 must survive byte for byte.
    m = msgpackDecode(buf, {rawStrings: true})
  } catch (error) {
    return `is not msgpack (${(error as Error).message})`
  }
  if (m === null) return []
  if (typeof m !== 'object' || Array.isArray(m) || m instanceof Uint8Array) return 'is msgpack but not a map'
  const out: RawHeader[] = []
  for (const [key, v] of m instanceof Map ? m.entries() : Object.entries(m as Record<string, unknown>)) {
    const name = typeof key === 'string' ? key : String(key)
    if (v === null || v === undefined) out.push({key: name, value: null})
    else if (v instanceof Uint8Array) out.push({key: name, value: Buffer.from(v)})
    else if (typeof v === 'string') out.push({key: name, value: Buffer.from(v, 'utf8')})
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out.push({key: name, value: Buffer.from(String(v))})
    else out.push({key: name, value: Buffer.from(JSON.stringify(v))})
  }
  return out
}

// ---- dlq's own layout ----

function decodeDlqLayout(id: string, fields: Field[], stream: string): DecodedRecord {
  const problems: string[] = []
  let key: Buffer | null = null
  let value: Buffer | null = null
  let headers: RawHeader[] = []
  let ts: number | null = null
  let meta: Record<string, unknown> | null = null
  let version: string | null = null
  const extra: Field[] = []
  for (const f of fields) {
    switch (f.name) {
      case DLQ_MARKER:
        version = f.value.toString('latin1')
        break
      case 'key':
        key = f.value
        break
      case 'value':
        value = f.value
        break
      case 'headers':
        headers = parseHeaders(f.value, problems)
        break
      case 'ts': {
        const t = f.value.toString('latin1')
        if (/^-?\d{1,16}$/.test(t)) ts = Number(t)
        else problems.push('field "ts" is not epoch ms')
        break
      }
      case 'meta':
        meta = parseJsonObject(f.value, 'meta', problems)
        break
      default:
        extra.push(f)
    }
  }
  if (version !== DLQ_LAYOUT_VERSION) problems.push(`layout version "${version}" is not one this dlq knows (${DLQ_LAYOUT_VERSION})`)
  const rec = decodeRaw({position: id, key, value, headers, timestamp: idTime(id), dlqTopic: stream})
  if (ts !== null) rec.metadata['dlq.original-timestamp'] = ts
  for (const f of extra) rec.metadata[`redis.field.${f.name}`] = textOrBase64(f.value)
  if (meta) applyMeta(rec, meta, problems)
  if (problems.length > 0) rec.unreadable = `dlq layout: ${problems.join('; ')}`
  return rec
}

function parseJsonObject(buf: Buffer, name: string, problems: string[]): Record<string, unknown> | null {
  try {
    const o = JSON.parse(buf.toString('utf8'))
    if (o && typeof o === 'object' && !Array.isArray(o)) return o
  } catch {
    // reported below
  }
  problems.push(`field "${name}" is not a JSON object`)
  return null
}

function parseHeaders(buf: Buffer, problems: string[]): RawHeader[] {
  let list: unknown
  try {
    list = JSON.parse(buf.toString('utf8'))
  } catch {
    list = undefined
  }
  if (!Array.isArray(list)) {
    problems.push('field "headers" is not a JSON array of [name, value] pairs')
    return []
  }
  const out: RawHeader[] = []
  for (const h of list) {
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string') {
      problems.push('field "headers" holds something that is not a [name, value] pair')
      continue
    }
    if (h[1] === null) {
      out.push({key: h[0], value: null})
      continue
    }
    const v = fromTextOrBase64(h[1])
    if (v === null) problems.push(`header "${h[0]}" is neither text, {"base64": …} nor null`)
    else out.push({key: h[0], value: v})
  }
  return out
}

const intOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null)
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null)

function applyMeta(rec: DecodedRecord, meta: Record<string, unknown>, problems: string[]): void {
  const src = meta.source
  if (src && typeof src === 'object' && !Array.isArray(src)) {
    const s = src as Record<string, unknown>
    rec.source = {
      topic: strOrNull(s.topic) ?? rec.source.topic,
      partition: intOrNull(s.partition) ?? rec.source.partition,
      offset: intOrNull(s.offset) ?? rec.source.offset,
      group: strOrNull(s.group) ?? rec.source.group,
    }
    if (rec.source.topic !== null) delete rec.metadata['dlq.source-topic-hint']
  } else if (src !== undefined && src !== null) problems.push('meta.source is not an object')
  rec.reason = strOrNull(meta.reason) ?? rec.reason
  rec.retries = intOrNull(meta.retries) ?? rec.retries
  rec.deadLetteredAt = intOrNull(meta.deadLetteredAt) ?? rec.deadLetteredAt
  const m = meta.metadata
  if (m && typeof m === 'object' && !Array.isArray(m)) Object.assign(rec.metadata, m as Record<string, MetadataValue>)
  const conv = strOrNull(meta.convention)
  if (conv !== null) rec.metadata['dlq.original-convention'] = conv
  if (rec.convention === 'unknown') rec.convention = 'dlq'
}

/** The XADD field/value list of one message in dlq's own layout. */
export function encodeDlqEntry(msg: Pick<OutgoingMessage, 'key' | 'value' | 'headers' | 'timestamp'>): Array<string | Buffer> {
  const args: Array<string | Buffer> = [DLQ_MARKER, DLQ_LAYOUT_VERSION]
  if (msg.key !== null) args.push('key', msg.key)
  if (msg.value !== null) args.push('value', msg.value)
  if (msg.headers.length > 0) {
    args.push('headers', JSON.stringify(msg.headers.map((h) => [h.key, h.value === null ? null : textOrBase64(h.value)])))
  }
  if (msg.timestamp !== null && Number.isFinite(msg.timestamp)) args.push('ts', String(Math.trunc(msg.timestamp)))
  return args
}

// ---- replay layouts: what a consumer of the target stream reads ----

type Outgoing = Pick<OutgoingMessage, 'key' | 'value' | 'headers' | 'timestamp' | 'layout'>

/**
 * The layout an entry shows, for writing more entries like it: dlq's own, Watermill's, a single
 * `payload` field (hyperi-rustlib's transport), or a generic field layout whose value field has
 * one of the names decodeGeneric looks for first. Any other entry (e.g. a lone `init 1` that
 * created the stream) does not say where a value goes: dlq's own layout, which keeps everything.
 */
export function detectLayout(flat: EntryFields): StreamLayout {
  const fields = pairs(flat)
  if (fields.some((f) => f.name === DLQ_MARKER)) return {name: 'dlq'}
  if (fields.some((f) => f.name === WATERMILL_UUID)) return {name: 'watermill'}
  if (fields.length === 1 && fields[0].name === 'payload') return {name: 'payload'}
  const valueField = GENERIC_VALUE_FIELDS.find((n) => fields.some((f) => f.name === n))
  return valueField === undefined ? {name: 'dlq'} : {name: 'fields', valueField}
}

/** The XADD field/value list of one message in its layout (dlq's own when it has none). */
export function encodeEntry(msg: Outgoing): Array<string | Buffer> {
  switch (msg.layout?.name) {
    case 'watermill':
      return encodeWatermillEntry(msg)
    case 'payload':
      return ['payload', msg.value ?? EMPTY]
    case 'fields':
      return encodeFieldsEntry(msg, msg.layout.valueField ?? 'value')
    default:
      return encodeDlqEntry(msg)
  }
}

const EMPTY = Buffer.alloc(0)

/**
 * What watermill-redisstream's marshaler writes and its subscriber reads back: the uuid, a msgpack
 * `map[string]string` of the metadata (empty field when there is none) and the payload. The uuid
 * is the `_watermill_message_uuid` header (a Watermill message keeps its own); a message without one
 * gets one derived from its bytes, so the in-doubt lookup finds the same entry again. The key is
 * not written: a Watermill Redis message has none. A null header or value is written empty (a Go
 * string cannot be nil), a repeated header name repeated (Go keeps the last).
 */
function encodeWatermillEntry(msg: Outgoing): Array<string | Buffer> {
  let uuid: Buffer | null = null
  const metadata: Array<[Buffer, Buffer]> = []
  for (const h of msg.headers) {
    if (h.key === WATERMILL_UUID) uuid = h.value ?? EMPTY
    else metadata.push([h.keyBytes ?? Buffer.from(h.key, 'utf8'), h.value ?? EMPTY])
  }
  return [WATERMILL_UUID, uuid ?? derivedUuid(msg), 'metadata', metadata.length === 0 ? EMPTY : msgpackStrMap(metadata), 'payload', msg.value ?? EMPTY]
}

/**
 * The generic layout decodeGeneric reads: the value in `valueField`, the key in `key` (absent when
 * null), then one field per header in order, a repeated name repeated. A stream field cannot be
 * null: a null value or null header is written as an empty field.
 */
function encodeFieldsEntry(msg: Outgoing, valueField: string): Array<string | Buffer> {
  const args: Array<string | Buffer> = [valueField, msg.value ?? EMPTY]
  if (msg.key !== null) args.push('key', msg.key)
  for (const h of msg.headers) args.push(h.keyBytes ?? h.key, h.value ?? EMPTY)
  return args
}

/**
 * msgpack of a Go `map[string]string` as vmihailenco/msgpack writes it: a map header and every key
 * and value as a str (not bin: values are raw bytes, which Go strings may be, UTF-8 or not).
 */
export function msgpackStrMap(entries: Array<[Buffer, Buffer]>): Buffer {
  const parts: Buffer[] = []
  const n = entries.length
  if (n < 16) parts.push(Buffer.from([0x80 | n]))
  else if (n < 0x10000) parts.push(Buffer.from([0xde, n >> 8, n & 0xff]))
  else {
    const h = Buffer.alloc(5)
    h[0] = 0xdf
    h.writeUInt32BE(n, 1)
    parts.push(h)
  }
  for (const [k, v] of entries) parts.push(strHeader(k.length), k, strHeader(v.length), v)
  return Buffer.concat(parts)
}

function strHeader(len: number): Buffer {
  if (len < 32) return Buffer.from([0xa0 | len])
  if (len < 0x100) return Buffer.from([0xd9, len])
  if (len < 0x10000) return Buffer.from([0xda, len >> 8, len & 0xff])
  const h = Buffer.alloc(5)
  h[0] = 0xdb
  h.writeUInt32BE(len, 1)
  return h
}

/** A uuid (version 8, RFC 9562 "custom") from the message's bytes: the same message always gets the same one. */
function derivedUuid(msg: Outgoing): string {
  const h = createHash('sha256')
  for (const b of [msg.key, msg.value]) h.update(b === null ? '-' : `${b.length}:`).update(b ?? EMPTY)
  for (const x of msg.headers) h.update(`${x.key.length}:${x.key}`).update(x.value === null ? '-' : `${x.value.length}:`).update(x.value ?? EMPTY)
  const b = h.digest().subarray(0, 16)
  b[6] = (b[6] & 0x0f) | 0x80
  b[8] = (b[8] & 0x3f) | 0x80
  const x = b.toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`
}
