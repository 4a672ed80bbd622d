import {UsageError} from './errors.js'
import type {RawHeader} from './record.js'
import type {SourceInfo} from './reader.js'

/**
 * How a message is laid out in a store that has no fixed record shape (a Redis stream entry):
 * `dlq` dlq's own layout, `watermill` what watermill-redisstream reads, `payload` one field
 * `payload` (hyperi-rustlib's transport), `fields` the value in `valueField`, `key`, one field
 * per header. docs/redis.md, "Replay layouts".
 */
export type LayoutName = 'dlq' | 'watermill' | 'payload' | 'fields'
export const LAYOUT_NAMES: LayoutName[] = ['dlq', 'watermill', 'payload', 'fields']
export type LayoutChoice = 'auto' | LayoutName
export const LAYOUT_CHOICES: LayoutChoice[] = ['auto', ...LAYOUT_NAMES]

export interface StreamLayout {
  name: LayoutName
  /** `fields` only: the field that holds the value. */
  valueField?: string
}

/**
 * The layout a message is written in. Watermill and hyperi messages go back in what their
 * consumer reads whatever the stream's newest entry shows (a Watermill subscriber stops on an
 * entry without a uuid; hyperi's transport reads only `payload`); others follow the target
 * stream's newest entry, and dlq's own layout when the stream has none. An explicit choice wins.
 */
export function chooseLayout(requested: LayoutChoice, convention: string, target: StreamLayout | null): StreamLayout {
  if (requested === 'fields') return {name: 'fields', valueField: target?.name === 'fields' ? target.valueField : 'value'}
  if (requested !== 'auto') return {name: requested}
  if (convention === 'watermill') return {name: 'watermill'}
  if (convention === 'hyperi') return {name: 'payload'}
  return target ?? {name: 'dlq'}
}

/** `DLQ_REPLAY_LAYOUT` for callers without a --layout flag (browse); `auto` when unset. */
export function layoutFromEnv(env: string | undefined = process.env.DLQ_REPLAY_LAYOUT): LayoutChoice {
  if (env === undefined || env === '') return 'auto'
  if (!(LAYOUT_CHOICES as string[]).includes(env)) throw new UsageError(`DLQ_REPLAY_LAYOUT=${env}: one of ${LAYOUT_CHOICES.join(', ')}`)
  return env as LayoutChoice
}

/** What the plan says about a layout: `fields` names its value field. */
export const layoutText = (l: StreamLayout): string => (l.name === 'fields' ? `fields (value in "${l.valueField}")` : l.name)

/** One message as replay sends it: exact bytes, user headers only. */
export interface OutgoingMessage {
  topic: string
  /** The partition to write to, or null to let the store choose (Kafka: murmur2 of the key). */
  partition: number | null
  key: Buffer | null
  value: Buffer | null
  headers: RawHeader[]
  timestamp: number | null
  /** How to lay the message out, for sinks with layouts (absent: the sink's own). */
  layout?: StreamLayout
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
  /** For stores with layouts: the layout of the target's newest entry (null: it has none). Absent for stores without layouts. */
  layout?: StreamLayout | null
  /**
   * Why nothing can be written there although the name is taken (a Redis key holding a string):
   * its messages are skipped as target_invalid, the others of the replay still go.
   */
  refused?: string
}

/**
 * Why `name` cannot name a target in a store of `kind`, or null. Kafka's topic rule holds only
 * for Kafka: a Redis stream key may hold any bytes (`demo:dlq`), so only an empty name and
 * control characters (a mistyped or crafted name, never a stream anyone reads) are refused there.
 */
export function targetNameProblem(name: string, kind: string): string | null {
  if (kind === 'redis') {
    if (name === '') return 'a stream name is not empty'
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'a stream name has no control characters'
    return null
  }
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(name) || name === '.' || name === '..') return 'a topic name is 1–249 characters of a-z, A-Z, 0-9, ".", "_" and "-"'
  return null
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
  /** Whether the target exists, how many partitions it has and, for stores with layouts, which one it uses. */
  describeTarget(topic: string): Promise<TargetInfo>
  /**
   * The name really written for a target topic (a Redis sink's `?prefix=` + topic), when the
   * sink changes it. A plan names targets by it, protection checks it, and every other method
   * of the sink takes it as it is.
   */
  targetName?(topic: string): string
  send(batch: OutgoingMessage[]): Promise<SentMessage[]>
  /**
   * The target's current end (Kafka: next offset of the partition; Redis: last entry id),
   * recorded in the ledger before a send so a later run can look for an in-doubt message.
   */
  mark?(topic: string, partition: number | null): Promise<string | null>
  /**
   * Looks for a message with exactly these bytes (key, value, headers, in its layout) written after `mark`.
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
