/**
 * The two shapes every store and every convention meet in.
 *
 * RawRecord is what a store hands over: bytes as they were stored, nothing interpreted.
 * DecodedRecord is what the conventions make of it: the normalised fields plus the exact
 * bytes replay needs (original payload, key and user headers). DlqMessage (see message.ts)
 * is the JSON shape users see, made from a DecodedRecord with output limits applied.
 */
export interface RawHeader {
  key: string
  value: Buffer | null
}

export interface RawRecord {
  /** The position in the DLQ, in the store's own notation (product.md, "Positions"). */
  position: string
  key: Buffer | null
  value: Buffer | null
  headers: RawHeader[]
  /** Epoch ms the store gives the record (Kafka timestamp, Redis id time, entry time). */
  timestamp: number | null
  /** The DLQ's own topic or stream name, used only as a hint when no convention matches. */
  dlqTopic?: string | null
}

export type ConventionName =
  | 'hyperi'
  | 'fibril'
  | 'karafka'
  | 'arroyo'
  | 'spring'
  | 'spring-cloud-stream'
  | 'connect'
  | 'streams'
  | 'smallrye'
  | 'watermill'
  | 'dlq'
  | 'unknown'

export interface SourceRef {
  topic: string | null
  partition: number | null
  offset: number | null
  group: string | null
}

export type MetadataValue = string | number | boolean | null | {base64: string} | MetadataValue[]

export interface DecodedRecord {
  position: string
  timestamp: number | null
  /** The original message key (for Karafka 2.4.x from its `original_key` header). */
  key: Buffer | null
  /** The original payload bytes, exactly as replay must send them. */
  payload: Buffer | null
  /** When the stored payload is only a preview (a truncated `dlq` export), replay must refuse it. */
  payloadTruncated: boolean
  /** Size of the original payload when known even though the bytes are not all here. */
  payloadSize: number | null
  /** Headers that belong to the user: every convention's system metadata removed. */
  userHeaders: RawHeader[]
  source: SourceRef
  reason: string | null
  retries: number | null
  deadLetteredAt: number | null
  convention: ConventionName
  metadata: Record<string, MetadataValue>
  /** Set when the stored bytes could not be read as a DLQ entry; the record is shown, not dropped. */
  unreadable: string | null
}

export const noSource = (): SourceRef => ({topic: null, partition: null, offset: null, group: null})
