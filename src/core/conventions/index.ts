import {numberOrRaw, textOrBase64} from '../bytes.js'
import {noSource, type DecodedRecord, type MetadataValue, type RawHeader, type RawRecord} from '../record.js'
import {arroyo} from './arroyo.js'
import {connect} from './connect.js'
import {fibril} from './fibril.js'
import {HeaderView} from './header-view.js'
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

const RESERVED_PREFIXES = HEADER_CONVENTIONS.flatMap((c) => c.reserved.prefixes ?? [])
const RESERVED_NAMES = new Set(HEADER_CONVENTIONS.flatMap((c) => c.reserved.names ?? []))
const NUMERIC = new Set(HEADER_CONVENTIONS.flatMap((c) => c.numeric))

/**
 * System metadata of every convention, whatever convention a record was detected as:
 * replay strips all of it, and a user may not publish it.
 */
export function isSystemHeader(name: string): boolean {
  if (RESERVED_NAMES.has(name)) return true
  for (const p of RESERVED_PREFIXES) if (name.startsWith(p)) return true
  return false
}

export function splitHeaders(headers: RawHeader[]): {user: RawHeader[]; system: RawHeader[]} {
  const user: RawHeader[] = []
  const system: RawHeader[] = []
  for (const h of headers) (isSystemHeader(h.key) ? system : user).push(h)
  return {user, system}
}

/** System headers decoded for display: numbers as numbers, repeated names as arrays in order. */
export function decodeMetadata(system: RawHeader[]): Record<string, MetadataValue> {
  const out: Record<string, MetadataValue> = {}
  for (const h of system) {
    const v: MetadataValue = h.value === null ? null : NUMERIC.has(h.key) ? numberOrRaw(h.value) : textOrBase64(h.value)
    if (!(h.key in out)) out[h.key] = v
    else {
      const prev = out[h.key]
      out[h.key] = Array.isArray(prev) ? [...prev, v] : [prev, v]
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

/** Turns a hyperi JSON entry (already parsed) into the normalised record. */
export function decodeHyperiEntry(position: string, o: Record<string, unknown>, storeTimestamp: number | null): DecodedRecord {
  const f = decodeHyperi(o)
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
    retries: Number.isFinite(f.retries) ? f.retries : null,
    deadLetteredAt: Number.isFinite(f.timestamp) ? f.timestamp : null,
    convention: 'hyperi',
    metadata: f.metadata,
    unreadable: f.problem ? `hyperi-rustlib entry: ${f.problem}` : null,
  }
}

/**
 * The store-independent decoder: every backend hands its raw records here, so Kafka, Redis
 * and files agree on what a record means.
 */
export function decodeRaw(raw: RawRecord): DecodedRecord {
  if (raw.headers.length === 0) {
    const entry = parseHyperiValue(raw.value)
    if (entry) return decodeHyperiEntry(raw.position, entry, raw.timestamp)
  }

  const {user, system} = splitHeaders(raw.headers)
  const metadata = decodeMetadata(system)
  const base: DecodedRecord = {
    position: raw.position,
    timestamp: raw.timestamp,
    key: raw.key,
    payload: raw.value,
    payloadTruncated: false,
    payloadSize: raw.value?.length ?? null,
    userHeaders: user,
    source: noSource(),
    reason: null,
    retries: null,
    deadLetteredAt: null,
    convention: 'unknown',
    metadata,
    unreadable: null,
  }

  if (system.length > 0) {
    const view = new HeaderView(raw.headers)
    for (const c of HEADER_CONVENTIONS) {
      if (!c.detect(view)) continue
      const f = c.decode(view, raw)
      base.convention = c.name
      base.source = f.source
      base.reason = f.reason
      base.retries = f.retries
      base.deadLetteredAt = f.deadLetteredAt
      if (f.key !== undefined) base.key = f.key
      if (f.notes) Object.assign(metadata, f.notes)
      return base
    }
  }

  const hint = topicHint(raw.dlqTopic)
  if (hint) metadata['dlq.source-topic-hint'] = hint
  return base
}
