/**
 * Payloads and keys in the Confluent Schema Registry wire format: byte 0 is the magic 0, bytes
 * 1–4 the schema id (big-endian), then the Avro, Protobuf or JSON body (docs/schema-registry.md).
 */
export type SchemaFormat = 'avro' | 'protobuf' | 'json'

/** A schema as the registry serves it, with every schema it references, dependencies first. */
export interface RegisteredSchema {
  id: number
  format: SchemaFormat
  schema: string
  /** Referenced schemas (transitively), each once, dependencies before the schemas that use them. */
  references: Array<{name: string; schema: string}>
  /** Read from the disk cache rather than the registry (a registry reset may have reused the id). */
  fromCache?: boolean
}

export type SchemaLookup =
  | {kind: 'found'; schema: RegisteredSchema}
  /** The registry answered: it has no schema with that id. */
  | {kind: 'missing'; message: string}
  /** The registry could not be asked (connection refused, timeout, 5xx, auth). */
  | {kind: 'unreachable'; message: string}

/** Where schemas come from (the registry client in backends/schema-registry). */
export interface SchemaSource {
  /** The registry URL as it may be shown: never with credentials. */
  readonly display: string
  /** `fresh`: ask the registry even when a cached copy exists. */
  lookup(id: number, opts?: {fresh?: boolean}): Promise<SchemaLookup>
  /** Null when the registry answers, else why it cannot be used. */
  ping(): Promise<string | null>
}

/** What dlq made of one payload or key in the wire format; shown beside the raw bytes, never instead. */
export interface SchemaValue {
  schemaId: number
  format: SchemaFormat | null
  /** Protobuf only: which message of the schema (the wire format's message indexes). */
  messageIndexes?: number[]
  /** The decoded value as JSON (absent when it could not be decoded). */
  value?: unknown
  /** Why the bytes were not decoded (the raw bytes are shown instead). */
  decodeError?: string
}

export interface RecordSchemas {
  payload?: SchemaValue
  key?: SchemaValue
}

/** The schema id of bytes in the wire format, or null when they are not (too short, no magic 0). */
export function wireSchemaId(buf: Buffer | null): number | null {
  if (buf === null || buf.length < 5 || buf[0] !== 0) return null
  return buf.readUInt32BE(1)
}
