import type {DecodedRecord} from '../../src/core/record.js'

/** A decoded record at `position` with a small JSON payload (for reducer and screen tests). */
export function rec(position: number | string, extra: Partial<DecodedRecord> = {}): DecodedRecord {
  const p = String(position)
  return {
    position: p,
    timestamp: 1_795_341_600_000,
    key: Buffer.from(`k${p}`),
    payload: Buffer.from(JSON.stringify({n: Number(p)})),
    payloadTruncated: false,
    payloadSize: null,
    userHeaders: [],
    source: {topic: 'orders', partition: 0, offset: Number(p) || 0, group: null},
    reason: 'timeout',
    retries: 1,
    deadLetteredAt: null,
    convention: 'hyperi',
    metadata: {},
    unreadable: null,
    ...extra,
  }
}

export const range = (from: number, n: number): DecodedRecord[] => Array.from({length: n}, (_, i) => rec(from + i))
