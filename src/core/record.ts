import type {RecordSchemas} from './schema/types.js'

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
  /**
   * The name's bytes, only when they are not valid UTF-8 (a Kafka header name written by a
   * non-Java client): `key` then shows them with U+FFFD, and replay writes these back, so the
   * consumer gets the name it would have got.
   */
  keyBytes?: Buffer
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

/** An integer that is a JS number while it is exact, a bigint beyond 2^53 (hyperi offsets are i64). */
export type Int = number | bigint

export interface SourceRef {
  topic: string | null
  partition: number | null
  offset: Int | null
  group: string | null
  /**
   * Why a recorded field may not be what it says, or null when dlq has no doubt. Shown with a `?`
   * in tables and in the replay plan (e.g. Arroyo's partition when it equals the offset).
   */
  doubt?: string | null
}

/** The failure the writer recorded, in parts, so JSON users and filters can use each part. */
export interface ErrorInfo {
  /** Fully qualified exception class (Java), or the error type the writer names. */
  class: string | null
  message: string | null
  /** The cause the wrapper wraps (Spring: `exception-cause-fqcn`; a stack trace's last `Caused by:`). */
  cause: {class: string | null; message: string | null} | null
  /** Where in the pipeline it failed (Connect: KEY_CONVERTER, VALUE_CONVERTER, TASK_PUT, …). */
  stage: string | null
}

export type MetadataValue = string | number | bigint | boolean | null | {base64: string} | MetadataValue[]

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
  /** The recorded exception in parts; `reason` is its one-line summary. */
  error: ErrorInfo | null
  retries: number | null
  deadLetteredAt: number | null
  /** The failed record's own time (epoch ms) where the convention recorded it. */
  originalTimestamp: number | null
  convention: ConventionName
  metadata: Record<string, MetadataValue>
  /** Set when the stored bytes could not be read as a DLQ entry; the record is shown, not dropped. */
  unreadable: string | null
  /**
   * Set when the writer did not keep the original message in this record (SmallRye's key-failure
   * record holds the key bytes as its value; Kafka Streams frees key and value once a record
   * reached a sink): what it lost, in words. Shown under `metadata` as `dlq.not-original`; replay
   * skips the message (`not_original`) unless a --transform supplies the payload (plan.ts).
   */
  notOriginal: string | null
  /**
   * Which message this is, for the replay ledger: stable for as long as the message exists, and
   * different for a different message at the same position (a file whose old rotated files were
   * deleted, a topic or stream deleted and recreated). Set by the reader; see core/replay/identity.ts.
   */
  identity?: string
  /**
   * Payload and key decoded with their registry schema (Confluent wire format), beside the raw
   * bytes above, which stay as stored. Absent when nothing was in the wire format or decoding is off.
   */
  decoded?: RecordSchemas
}

/** The metadata entry that shows DecodedRecord.notOriginal (and carries it through an export). */
export const NOT_ORIGINAL = 'dlq.not-original'

export const noSource = (): SourceRef => ({topic: null, partition: null, offset: null, group: null})

/** A record with nothing known yet, for decoders to fill in. */
export function blankRecord(position: string): DecodedRecord {
  return {
    position,
    timestamp: null,
    key: null,
    payload: null,
    payloadTruncated: false,
    payloadSize: null,
    userHeaders: [],
    source: noSource(),
    reason: null,
    error: null,
    retries: null,
    deadLetteredAt: null,
    originalTimestamp: null,
    convention: 'unknown',
    metadata: {},
    unreadable: null,
    notOriginal: null,
    // The slot is there from the start: adding the property to each record later (a shape change
    // per record) cost more than decoding its Avro payload.
    decoded: undefined,
  }
}
