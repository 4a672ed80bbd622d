import type {RawHeader} from './record.js'
import type {SourceInfo} from './reader.js'

/** One message as replay sends it: exact bytes, user headers only. */
export interface OutgoingMessage {
  topic: string
  /** The partition to write to, or null to let the store choose (Kafka: murmur2 of the key). */
  partition: number | null
  key: Buffer | null
  value: Buffer | null
  headers: RawHeader[]
  timestamp: number | null
}

export interface SentMessage {
  topic: string
  partition: number | null
  /** Kafka offset or Redis entry id, as acknowledged by the store. */
  offset: string
}

/** What replay needs to know of a target before sending to it. */
export interface TargetInfo {
  exists: boolean
  /** Partitions of a Kafka topic; null for stores without partitions. */
  partitions: number | null
  /**
   * The largest record the target accepts (Kafka: the topic's max.message.bytes), when known: a
   * larger message is skipped as too_large in the plan instead of failing its whole batch.
   */
  maxMessageBytes?: number | null
}

/**
 * Where replay writes (Kafka topic, Redis stream). `send` resolves only once the store has
 * acknowledged every message, in order, and rejects if any was not: the caller treats all
 * unacknowledged messages of the batch as in doubt.
 */
export interface DlqSink {
  readonly info: SourceInfo
  /**
   * How many `send` calls may be unacknowledged at once (default 1). More than one only
   * for a sink that writes them in call order on one connection, so that a failure leaves
   * at most a suffix of what was handed to it unwritten.
   */
  readonly maxInFlight?: number
  /** Whether the target exists, and how many partitions it has (null for stores without partitions). */
  describeTarget(topic: string): Promise<TargetInfo>
  send(batch: OutgoingMessage[]): Promise<SentMessage[]>
  /**
   * The target's current end (Kafka: next offset of the partition; Redis: last entry id),
   * recorded in the ledger before a send so a later run can look for an in-doubt message.
   */
  mark?(topic: string, partition: number | null): Promise<string | null>
  /**
   * Looks for a message with exactly these bytes (key, value, headers) written after `mark`.
   * Returns where it is, null when it is certainly not there, or undefined when this sink cannot
   * tell (the mark was recorded by another kind of sink).
   */
  find?(message: OutgoingMessage, mark: string | null): Promise<SentMessage | null | undefined>
  close(): Promise<void>
}

/**
 * Thrown by a sink when it knows the batch was not written at all (e.g. the connection was
 * refused before anything was sent), so replay may release its claims instead of leaving
 * the messages in doubt.
 */
export class NotSentError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message)
    this.name = 'NotSentError'
  }
}
