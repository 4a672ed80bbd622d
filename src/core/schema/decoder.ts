import {UnavailableError} from '../errors.js'
import type {DecodedRecord} from '../record.js'
import {avroDecoder} from './avro.js'
import {jsonSchemaDecoder, SchemaMismatch} from './json-schema.js'
import {messageIndexes, protobufDecoder} from './protobuf.js'
import {wireSchemaId, type RecordSchemas, type SchemaFormat, type SchemaLookup, type SchemaSource, type SchemaValue} from './types.js'

export type DecodeMode = 'auto' | 'off' | 'required'

const NONE: number[] = []

type Ready =
  | {ok: true; format: SchemaFormat; decode: (body: Buffer) => unknown; fromCache: boolean}
  | {ok: false; format: SchemaFormat | null; error: string; unreachable?: boolean}

/**
 * Decodes the payloads and keys of records that are in the Confluent wire format, with schemas
 * from a registry. Each schema id is looked up once per command (the source caches on disk across
 * commands) and compiled once; `tryDecode` is synchronous once the ids a record needs are loaded,
 * so filters can run on decoded values inside a store's read loop. A failure never fails the
 * read: the record keeps its raw bytes and gets a `decodeError` — except that in `required` mode
 * an unreachable registry is exit 4.
 */
export class SchemaDecoder {
  private readonly ready = new Map<number, Ready>()
  private readonly loading = new Map<number, Promise<void>>()
  /** Ids whose cached schema did not fit a payload: asked of the registry once more. */
  private readonly refresh = new Set<number>()
  /** Set once the registry could not be reached: later ids are not tried (each would time out again). */
  private down: string | null = null

  constructor(
    readonly source: SchemaSource,
    readonly mode: 'auto' | 'required' = 'auto',
  ) {}

  /** `--decode required`: exit 4 up front when the registry cannot be used at all. */
  async probe(): Promise<void> {
    const problem = await this.source.ping()
    if (problem !== null) throw new UnavailableError(`schema registry ${this.source.display} is unreachable (${problem}); --decode required needs it`)
  }

  /** The ids `rec` needs that are not loaded yet; empty once its payload and key are decoded (or noted). */
  tryDecode(rec: DecodedRecord): number[] {
    if (rec.decoded !== undefined) return NONE
    // Most keys and many payloads are not in the wire format: no work, no allocation.
    const p = wireSchemaId(rec.payload) !== null
    const k = wireSchemaId(rec.key) !== null
    if (!p && !k) return NONE
    const missing: number[] = []
    const payload = p ? this.one(rec.payload, rec.payloadTruncated, missing) : null
    const key = k ? this.one(rec.key, false, missing) : null
    if (missing.length > 0) return missing
    const decoded: RecordSchemas = {}
    if (payload) decoded.payload = payload
    if (key) decoded.key = key
    rec.decoded = decoded
    return NONE
  }

  /** Decodes `rec`, loading the schemas it needs first. */
  async decode(rec: DecodedRecord): Promise<void> {
    await this.decodeAll([rec])
  }

  /** Decodes records, loading the schemas they need together. */
  async decodeAll(records: Iterable<DecodedRecord>): Promise<void> {
    let todo = [...records]
    // Round 2 only when a cached schema did not fit and is asked of the registry again.
    for (let round = 0; round < 3 && todo.length > 0; round++) {
      const ids: number[] = []
      const next: DecodedRecord[] = []
      for (const r of todo) {
        const missing = this.tryDecode(r)
        if (missing.length > 0) {
          ids.push(...missing)
          next.push(r)
        }
      }
      if (ids.length === 0) return
      await this.load(ids)
      todo = next
    }
    for (const r of todo) this.tryDecode(r)
  }

  /** Looks the ids up (in parallel, each once) and compiles them. */
  async load(ids: Iterable<number>): Promise<void> {
    const waits: Promise<void>[] = []
    for (const id of new Set(ids)) {
      if (this.ready.has(id)) continue
      let p = this.loading.get(id)
      if (!p) {
        p = this.fetch(id).finally(() => this.loading.delete(id))
        this.loading.set(id, p)
      }
      waits.push(p)
    }
    await Promise.all(waits)
  }

  private async fetch(id: number): Promise<void> {
    let found: SchemaLookup
    if (this.down !== null) found = {kind: 'unreachable', message: this.down}
    else {
      try {
        found = await this.source.lookup(id, this.refresh.has(id) ? {fresh: true} : undefined)
      } catch (error) {
        found = {kind: 'unreachable', message: (error as Error).message}
      }
    }
    if (found.kind === 'unreachable') {
      this.down ??= found.message
      if (this.mode === 'required') {
        throw new UnavailableError(`schema registry ${this.source.display} is unreachable (${found.message}); --decode required needs it`)
      }
      this.ready.set(id, {ok: false, format: null, unreachable: true, error: `registry unreachable (${found.message})`})
      return
    }
    if (found.kind === 'missing') {
      this.ready.set(id, {ok: false, format: null, error: `the registry has no schema ${id}: not Confluent wire format, or another registry's id`})
      return
    }
    const s = found.schema
    try {
      this.ready.set(id, {ok: true, format: s.format, decode: compile(s.format, s.schema, s.references), fromCache: s.fromCache === true && !this.refresh.has(id)})
    } catch (error) {
      this.ready.set(id, {ok: false, format: s.format, error: `schema ${id} could not be compiled: ${(error as Error).message}`})
    }
  }

  private one(buf: Buffer | null, truncated: boolean, missing: number[]): SchemaValue | null {
    const id = wireSchemaId(buf)
    if (id === null) return null
    const r = this.ready.get(id)
    if (r === undefined) {
      missing.push(id)
      return null
    }
    if (!r.ok) return {schemaId: id, format: r.format, decodeError: r.error}
    const body = buf!.subarray(5)
    const out: SchemaValue = {schemaId: id, format: r.format}
    if (r.format === 'protobuf') {
      try {
        out.messageIndexes = messageIndexes(body).indexes
      } catch {
        // the decode below says what is wrong
      }
    }
    try {
      out.value = r.decode(body)
    } catch (error) {
      if (r.fromCache) {
        // The disk cache may hold another registry's schema under this id (a dev registry reset).
        this.ready.delete(id)
        this.refresh.add(id)
        missing.push(id)
        return null
      }
      if (error instanceof SchemaMismatch && error.value !== undefined) out.value = error.value
      const why = (error as Error).message
      out.decodeError = truncated ? 'the payload here is only a preview (cut); it cannot be decoded' : `does not match schema ${id} (${r.format}): ${why}`
    }
    return out
  }
}

function compile(format: SchemaFormat, schema: string, references: Array<{name: string; schema: string}>): (body: Buffer) => unknown {
  switch (format) {
    case 'avro':
      return avroDecoder(
        schema,
        references.map((r) => r.schema),
      )
    case 'protobuf':
      return protobufDecoder(schema, references)
    case 'json':
      return jsonSchemaDecoder(schema, references).decode
  }
}
