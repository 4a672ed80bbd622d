import type {RawHeader, RawRecord} from '../../src/core/record.js'

export const text = (s: string) => Buffer.from(s, 'utf8')
export const i32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
export const i64 = (n: number | bigint) => {
  const b = Buffer.alloc(8)
  b.writeBigInt64BE(BigInt(n))
  return b
}

/** A raw record with headers given as [name, value] pairs (strings become UTF-8 bytes). */
export function raw(headers: Array<[string, string | Buffer | null]>, extra: Partial<RawRecord> = {}): RawRecord {
  const hs: RawHeader[] = headers.map(([key, v]) => ({key, value: v === null ? null : typeof v === 'string' ? text(v) : v}))
  return {position: '0:1', key: text('k1'), value: text('{"a":1}'), headers: hs, timestamp: 1_764_000_000_000, dlqTopic: 'some-dlq', ...extra}
}
