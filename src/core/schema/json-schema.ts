import {Ajv, type ValidateFunction} from 'ajv'

/**
 * JSON Schema payloads: after the 5-byte prefix the payload is JSON text. It is parsed, then
 * validated against the registered schema with ajv (compiled once per schema; a schema ajv cannot
 * compile, e.g. a draft it does not know, is not validated, and says so). A payload that is not
 * JSON, or that breaks its schema, is a mismatch: the value is still shown when it parsed.
 */
export class SchemaMismatch extends Error {
  constructor(
    message: string,
    /** What could be read all the same (JSON that parsed but broke its schema). */
    readonly value?: unknown,
  ) {
    super(message)
  }
}

export function jsonSchemaDecoder(schema: string, references: Array<{name: string; schema: string}>): {decode: (body: Buffer) => unknown; note: string | null} {
  let validate: ValidateFunction | null = null
  let note: string | null = null
  try {
    const parsed = JSON.parse(schema)
    // A reference is another schema this one points to by its name ($ref: "name").
    const refs = references.map((r) => ({...JSON.parse(r.schema), $id: r.name}))
    validate = new Ajv({strict: false, validateSchema: false, schemas: refs}).compile({...parsed, $schema: undefined})
  } catch (error) {
    note = `schema not validated (${(error as Error).message.split('\n')[0]})`
  }
  return {
    note,
    decode(body) {
      let value: unknown
      try {
        value = JSON.parse(body.toString('utf8'))
      } catch (error) {
        throw new SchemaMismatch(`not JSON: ${(error as Error).message}`)
      }
      if (validate && !validate(value)) {
        const e = validate.errors?.[0]
        throw new SchemaMismatch(`does not match its schema: ${e ? `${e.instancePath || '/'} ${e.message}` : 'invalid'}`, value)
      }
      return value
    },
  }
}
