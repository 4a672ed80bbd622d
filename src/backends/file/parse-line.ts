import {fromTextOrBase64, utf8OrNull} from '../../core/bytes.js'
import {decodeHyperiEntry, decodeRaw} from '../../core/conventions/index.js'
import {looksLikeHyperi} from '../../core/conventions/hyperi.js'
import {exactSource} from '../../core/exact-json.js'
import {decodeDlqMessage, looksLikeDlqMessage, MAX_PAYLOAD_LIMIT} from '../../core/message.js'
import {blankRecord, noSource, type DecodedRecord, type RawHeader} from '../../core/record.js'
import {validTime} from '../../core/time.js'

/**
 * One NDJSON line → one record. A line may be a hyperi-rustlib entry, a record of dlq's own
 * NDJSON output, or a Kafka-style record (`key`, `value`/`payload`, `headers`, `timestamp`,
 * as written by `kcat -J` and most exporters). Anything else is an unreadable record: shown
 * with what was wrong, never dropped.
 */
function isBlank(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false
  }
  return true
}

export function parseLine(line: Buffer, position: string, partial: boolean): DecodedRecord | null {
  const rec = parseLineRaw(line, position, partial)
  if (rec !== null) checkTimes(rec)
  return rec
}

/**
 * A time that cannot be one (beyond what a Date holds, or negative: -1 is Kafka's "none")
 * becomes unknown, as the Kafka reader does; the stored number is kept in metadata.
 */
function checkTimes(rec: DecodedRecord): void {
  if (rec.timestamp !== null && validTime(rec.timestamp) === null) {
    rec.metadata['dlq.invalid-timestamp'] = Number.isFinite(rec.timestamp) ? rec.timestamp : String(rec.timestamp)
    rec.timestamp = null
  }
  if (rec.deadLetteredAt !== null && validTime(rec.deadLetteredAt) === null) rec.deadLetteredAt = null
}

function parseLineRaw(line: Buffer, position: string, partial: boolean): DecodedRecord | null {
  if (isBlank(line)) return null
  let text = line.toString('utf8')
  if (text.includes('\uFFFD') && utf8OrNull(line) === null) return unreadable(position, line, 'line is not valid UTF-8')
  let o: unknown
  try {
    o = JSON.parse(text)
  } catch (error) {
    const why = partial
      ? 'incomplete last line: no newline at end of file (it may still be being written)'
      : `invalid JSON: ${(error as Error).message}`
    return unreadable(position, line, why)
  }
  text = ''
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return unreadable(position, line, 'line is JSON but not an object')
  const obj = o as Record<string, unknown>
  if (looksLikeHyperi(obj)) {
    const rec = decodeHyperiEntry(position, obj, null, line)
    if (rec.unreadable && rec.payload === null) attachLine(rec, line)
    return rec
  }
  if (looksLikeDlqMessage(obj)) return decodeDlqMessage(position, exactSource(obj, line))
  if (looksLikeKafkaRecord(obj)) return decodeKafkaStyle(position, obj, line)
  return unreadable(
    position,
    line,
    'unrecognised JSON object: expected a hyperi-rustlib entry (timestamp, service, reason, attempts, payload), a dlq record, or a Kafka-style record (key, value, headers)',
  )
}

function looksLikeKafkaRecord(o: Record<string, unknown>): boolean {
  if ('headers' in o && ('value' in o || 'payload' in o || 'key' in o)) return true
  return ('value' in o || 'payload' in o) && ('key' in o || 'topic' in o || 'offset' in o || 'partition' in o)
}

function bytesField(o: Record<string, unknown>, name: string, problems: string[]): Buffer | null {
  const v = o[name]
  if (v === undefined || v === null) return null
  const buf = fromTextOrBase64(v)
  if (buf === null) problems.push(`field "${name}" is neither text nor {"base64": …}`)
  return buf
}

function headersField(v: unknown, problems: string[]): RawHeader[] {
  const out: RawHeader[] = []
  const push = (key: unknown, value: unknown) => {
    if (typeof key !== 'string') {
      problems.push('a header name is not a string')
      return
    }
    if (value === null || value === undefined) {
      out.push({key, value: null})
      return
    }
    const buf = fromTextOrBase64(value)
    if (buf === null) problems.push(`header "${key}" is neither text nor {"base64": …}`)
    else out.push({key, value: buf})
  }
  if (v === undefined || v === null) return out
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string' || x === null) && v.length % 2 === 0) {
      // kcat -J: ["name", "value", "name2", "value2", …]
      for (let i = 0; i < v.length; i += 2) push(v[i], v[i + 1])
    } else {
      for (const h of v) {
        if (Array.isArray(h) && h.length === 2) push(h[0], h[1])
        else if (h && typeof h === 'object') push((h as Record<string, unknown>).key ?? (h as Record<string, unknown>).name, (h as Record<string, unknown>).value)
        else problems.push('field "headers" holds an entry that is not a [name, value] pair')
      }
    }
  } else if (typeof v === 'object') {
    for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
      if (Array.isArray(value)) for (const one of value) push(key, one)
      else push(key, value)
    }
  } else problems.push('field "headers" is not an object or array')
  return out
}

function timeField(o: Record<string, unknown>, problems: string[]): number | null {
  const v = o.timestamp ?? o.ts
  if (v === undefined || v === null) return null
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string') {
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v)
    if (!Number.isNaN(t)) return t
  }
  problems.push('field "timestamp" is not epoch ms or an ISO time')
  return null
}

function decodeKafkaStyle(position: string, o: Record<string, unknown>, line: Buffer): DecodedRecord {
  const problems: string[] = []
  const value = 'value' in o ? bytesField(o, 'value', problems) : bytesField(o, 'payload', problems)
  const rec = decodeRaw({
    position,
    key: bytesField(o, 'key', problems),
    value,
    headers: headersField(o.headers, problems),
    timestamp: timeField(o, problems),
    dlqTopic: typeof o.topic === 'string' ? o.topic : null,
  })
  if (typeof o.partition === 'number' && typeof o.offset === 'number') rec.metadata['dlq.exported-from'] = `${o.partition}:${o.offset}`
  if (problems.length > 0) {
    rec.unreadable = `Kafka-style record: ${problems.join('; ')}`
    if (rec.payload === null) attachLine(rec, line)
  }
  return rec
}

function attachLine(rec: DecodedRecord, line: Buffer): void {
  rec.payload = Buffer.from(line.subarray(0, MAX_PAYLOAD_LIMIT))
  rec.payloadSize = line.length
  rec.payloadTruncated = line.length > MAX_PAYLOAD_LIMIT
}

/** A line that is not a DLQ entry: its bytes (up to 1 MiB) become the payload so the user can see them. */
export function unreadable(position: string, line: Buffer, why: string, fullLength = line.length): DecodedRecord {
  const rec: DecodedRecord = {...blankRecord(position), unreadable: why}
  attachLine(rec, line)
  rec.payloadSize = fullLength
  rec.payloadTruncated = fullLength > rec.payload!.length
  return rec
}
