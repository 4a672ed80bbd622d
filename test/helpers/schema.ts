import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {Ajv} from 'ajv'
import addFormatsModule from 'ajv-formats'
import {ROOT} from './cli.js'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv
const ajv = new Ajv({allErrors: true, strict: true, strictRequired: false})
addFormats(ajv)
const dir = join(ROOT, 'schemas')
for (const f of readdirSync(dir)) ajv.addSchema(JSON.parse(readFileSync(join(dir, f), 'utf8')), f)

/** Asserts that a --json document matches its checked-in schema (schemas/NAME.schema.json). */
export function expectSchema(name: string, doc: unknown): void {
  const validate = ajv.getSchema(`${name}.schema.json`)
  if (!validate) throw new Error(`no schema ${name}`)
  if (!validate(doc)) throw new Error(`${name} schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(doc, null, 2).slice(0, 2000)}`)
}
