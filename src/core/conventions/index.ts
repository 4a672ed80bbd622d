import {numberOrRaw, textOrBase64} from '../bytes.js'
import {blankRecord, NOT_ORIGINAL, type DecodedRecord, type MetadataValue, type RawHeader, type RawRecord} from '../record.js'
import {arroyo} from './arroyo.js'
import {connect} from './connect.js'
import {fibril} from './fibril.js'
import {HeaderView} from './header-view.js'
import {reasonOf} from './error-info.js'
import {exactSource} from '../exact-json.js'
import {decodeHyperi, looksLikeHyperi} from './hyperi.js'
import {karafka25, karafkaLegacy} from './karafka.js'
import {smallrye} from './smallrye.js'
import {spring} from './spring.js'
import {springCloudStream} from './spring-cloud-stream.js'
import {streams} from './streams.js'
import {topicHint} from './topic-hint.js'
import type {HeaderConvention} from './types.js'
import {watermill} from './watermill.js'

/** conventions.md "Detection, in order", rule 2: first match wins. */
export const HEADER_CONVENTIONS: readonly HeaderConvention[] = [
  spring,
  springCloudStream,
  connect,
  streams,
  smallrye,
  fibril,
  karafka25,
  karafkaLegacy,
  arroyo,
  watermill,
]

/** Whether a header is system metadata of the given convention (only that convention's names count). */
export function isSystemHeader(c: HeaderConvention, name: string): boolean {
  if (c.reserved.names?.includes(name)) return true
  for (const p of c.reserved.prefixes ?? []) if (name.startsWith(p)) return true
  return false
}

/** Splits a record's headers into the user's and the detected convention's system metadata. */
export function splitHeaders(c: HeaderConvention | null, headers: RawHeader[]): {user: RawHeader[]; system: RawHeader[]} {
  if (c === null) return {user: headers, system: []}
  const user: RawHeader[] = []
  const system: RawHeader[] = []
  for (const h of headers) (isSystemHeader(c, h.key) ? system : user).push(h)
  return {user, system}
}

/** The convention a record's headers follow (detection order rule 2), or null. */
export function detectConvention(headers: RawHeader[]): {convention: HeaderConvention; view: HeaderView} | null {
  if (headers.length === 0) return null
  const view = new HeaderView(headers)
  for (const c of HEADER_CONVENTIONS) if (c.detect(view)) return {convention: c, view}
  return null
}

/** System headers decoded for display: numbers as numbers, repeated names as arrays in order. */
export function decodeMetadata(c: HeaderConvention | null, system: RawHeader[]): Record<string, MetadataValue> {
  const out: Record<string, MetadataValue> = {}
  for (const h of system) {
    const v: MetadataValue = h.value === null ? null : c?.numeric.includes(h.key) ? numberOrRaw(h.value) : textOrBase64(h.value)
    if (!(h.key in out)) out[h.key] = v
    else {
      // Pushed, not copied: a record may repeat a name tens of thousands of times (quadratic otherwise).
      const prev = out[h.key]
      if (Array.isArray(prev)) prev.push(v)
      else out[h.key] = [prev, v]
    }
  }
  return out
}

/** A hyperi entry is plain JSON in the value: test cheaply before parsing. */
function parseHyperiValue(value: Buffer | null): Record<string, unknown> | null {
  if (value === null || value.length < 2 || value[0] !== 0x7b /* { */) return null
  if (value.indexOf('"service"') < 0 || value.indexOf('"attempts"') < 0) return null
  try {
    const o = JSON.parse(value.toString('utf8'))
    return o && typeof o === 'object' && !Array.isArray(o) && looksLikeHyperi(o) ? o : null
  } catch {
    return null
  }
}

/**
 * Turns a hyperi JSON entry (already parsed) into the normalised record. `text` is the entry's
 * JSON, needed only when a source number is beyond 2^53 (JSON.parse rounds it; the crate writes i64).
 */
export function decodeHyperiEntry(position: string, o: Record<string, unknown>, storeTimestamp: number | null, text?: Buffer | string): DecodedRecord {
  const f = decodeHyperi(exactSource(o, text))
  const ts = Number.isFinite(f.timestamp) ? f.timestamp : storeTimestamp
  return {
    position,
    timestamp: ts,
    key: null,
    payload: f.payload,
    payloadTruncated: false,
    payloadSize: f.payload?.length ?? null,
    userHeaders: [],
    source: f.source,
    reason: f.reason === '' && f.problem ? null : f.reason,
    error: null,
    retries: Number.isFinite(f.retries) ? f.retries : null,
    // The crate stamps the entry when it dead-letters the message.
    deadLetteredAt: Number.isFinite(f.timestamp) ? f.timestamp : null,
    originalTimestamp: null,
    convention: 'hyperi',
    metadata: f.metadata,
    unreadable: f.problem ? `hyperi-rustlib entry: ${f.problem}` : null,
    notOriginal: null,
  }
}

/**
 * The store-independent decoder: every backend hands its raw records here, so Kafka, Redis
 * and files agree on what a record means.
 */
export function decodeRaw(raw: RawRecord): DecodedRecord {
  if (raw.headers.length === 0) {
    const entry = parseHyperiValue(raw.value)
    if (entry) return decodeHyperiEntry(raw.position, entry, raw.timestamp, raw.value!)
  }

  const found = detectConvention(raw.headers)
  const c = found?.convention ?? null
  const {user, system} = splitHeaders(c, raw.headers)
  const metadata = decodeMetadata(c, system)
  const base: DecodedRecord = {
    ...blankRecord(raw.position),
    timestamp: raw.timestamp,
    key: raw.key,
    payload: raw.value,
    payloadSize: raw.value?.length ?? null,
    userHeaders: user,
    metadata,
  }

  if (found) {
    const {view} = found
    const f = found.convention.decode(view, raw)
    base.convention = found.convention.name
    base.source = f.source
    base.error = f.error ?? null
    base.reason = f.reason ?? reasonOf(base.error)
    base.retries = f.retries
    base.deadLetteredAt = f.deadLetteredAt
    base.originalTimestamp = f.originalTimestamp ?? null
    if (found.convention.recordTime === 'failure') base.deadLetteredAt ??= raw.timestamp
    if (found.convention.recordTime === 'original') base.originalTimestamp ??= raw.timestamp
    if (f.key !== undefined) base.key = f.key
    if (f.notOriginal !== undefined) {
      base.notOriginal = f.notOriginal
      // Shown where every view shows metadata; an export read back takes the fact from here (message.ts).
      metadata[NOT_ORIGINAL] = f.notOriginal
    }
    if (view.warnings.length > 0) metadata['dlq.warning'] = view.warnings.join('; ')
  }

  // A hint whenever the source topic is unknown, whatever convention matched (Arroyo records no topic).
  if (base.source.topic === null) {
    const hint = topicHint(raw.dlqTopic)
    if (hint) metadata['dlq.source-topic-hint'] = hint
  }
  return base
}
