import {decodeBase64Strict} from '../bytes.js'
import type {SourceRef} from '../record.js'

/** hyperi-rustlib `dlq`: one JSON object per entry, original payload in standard base64. */
export interface HyperiFields {
  timestamp: number
  reason: string
  retries: number
  payload: Buffer | null
  source: SourceRef
  metadata: {service: string; destination?: string}
  /** Why the entry is corrupt even though it has the hyperi shape, or null. */
  problem: string | null
}

type Obj = Record<string, unknown>

/** Quick shape test (rule 1 of the detection order) before any field is trusted. */
export function looksLikeHyperi(o: Obj): boolean {
  return 'service' in o && 'reason' in o && 'attempts' in o && 'payload' in o && 'timestamp' in o
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)
const isInt64 = (v: unknown): v is number | bigint => isInt(v) || typeof v === 'bigint'


/**
 * Reads a hyperi entry. A field of the wrong type is named in `problem` (the entry is then
 * shown as unreadable with what could be read); unknown fields are tolerated.
 */
export function decodeHyperi(o: Obj): HyperiFields {
  const problems: string[] = []
  const want = (field: string, ok: boolean, type: string) => {
    if (!ok) problems.push(`field "${field}" is not ${type}`)
  }
  want('timestamp', isInt(o.timestamp), 'an integer (epoch ms)')
  want('service', typeof o.service === 'string', 'a string')
  want('reason', typeof o.reason === 'string', 'a string')
  want('attempts', isInt(o.attempts) && (o.attempts as number) >= 0, 'a non-negative integer')
  want('payload', typeof o.payload === 'string', 'a string')
  if (o.destination !== undefined) want('destination', typeof o.destination === 'string', 'a string')

  const source: SourceRef = {topic: null, partition: null, offset: null, group: null}
  if (o.source !== undefined && o.source !== null) {
    const s = o.source as Obj
    if (typeof s !== 'object' || Array.isArray(s)) problems.push('field "source" is not an object')
    else {
      if (s.topic !== undefined) want('source.topic', typeof s.topic === 'string', 'a string')
      if (s.partition !== undefined && s.partition !== null) want('source.partition', isInt(s.partition), 'an integer')
      if (s.offset !== undefined && s.offset !== null) want('source.offset', isInt64(s.offset), 'an integer')
      if (typeof s.topic === 'string') source.topic = s.topic
      if (isInt(s.partition)) source.partition = s.partition
      if (isInt64(s.offset)) source.offset = s.offset
    }
  }

  let payload: Buffer | null = null
  if (typeof o.payload === 'string') {
    payload = decodeBase64Strict(o.payload)
    if (payload === null) problems.push('field "payload" is not valid standard base64')
  }

  const metadata: HyperiFields['metadata'] = {service: typeof o.service === 'string' ? o.service : String(o.service)}
  if (typeof o.destination === 'string') metadata.destination = o.destination
  return {
    timestamp: isInt(o.timestamp) ? o.timestamp : NaN,
    reason: typeof o.reason === 'string' ? o.reason : '',
    retries: isInt(o.attempts) ? o.attempts : NaN,
    payload,
    source,
    metadata,
    problem: problems.length > 0 ? problems.join('; ') : null,
  }
}
