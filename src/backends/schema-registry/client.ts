import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import {join} from 'node:path'
import {activeProfile, type TlsSettings} from '../../core/config.js'
import {UsageError} from '../../core/errors.js'
import type {RegisteredSchema, SchemaFormat, SchemaLookup, SchemaSource} from '../../core/schema/types.js'
import {redactUri} from '../../core/source.js'
import {cacheDir} from '../file/line-index.js'

/** A registry that does not answer within this is unreachable (a read goes on without it). */
export const REQUEST_TIMEOUT_MS = 10_000

export interface RegistrySettings {
  /** Base URL of the Confluent API (…/apis/ccompat/v7 for Apicurio), credentials removed. */
  base: URL
  display: string
  authorization: string | null
  tls: TlsSettings
}

/**
 * Where the registry is and how to log in: the URL from --schema-registry / DLQ_SCHEMA_REGISTRY,
 * else the active profile's schemaRegistry.url; user and password from the URL, else
 * DLQ_SCHEMA_REGISTRY_USERNAME / _PASSWORD, else the profile. Null when no registry is named.
 */
export function registrySettings(flag: string | undefined, env = process.env): RegistrySettings | null {
  const profile = activeProfile().schemaRegistry ?? {}
  const text = flag || profile.url
  if (!text) return null
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`--schema-registry ${redactUri(text)}: not a URL (give http://host:port or https://host:port/path)`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--schema-registry ${redactUri(text)}: use http:// or https://`)
  const user = url.username ? decodeURIComponent(url.username) : env.DLQ_SCHEMA_REGISTRY_USERNAME || profile.username || null
  const password = url.password ? decodeURIComponent(url.password) : env.DLQ_SCHEMA_REGISTRY_PASSWORD || profile.password || null
  url.username = ''
  url.password = ''
  url.pathname = url.pathname.replace(/\/+$/, '')
  url.search = ''
  url.hash = ''
  return {
    base: url,
    display: url.toString().replace(/\/$/, ''),
    authorization: user !== null || password !== null ? `Basic ${Buffer.from(`${user ?? ''}:${password ?? ''}`).toString('base64')}` : null,
    tls: profile.tls ?? {},
  }
}

interface Answer {
  status: number
  body: any
}

const FORMATS: Record<string, SchemaFormat> = {AVRO: 'avro', PROTOBUF: 'protobuf', JSON: 'json'}

class Unreachable extends Error {}

/**
 * The registry's Confluent API, read-only: `GET /schemas/ids/{id}` and, for references,
 * `GET /subjects/{subject}/versions/{version}`. Each schema is fetched once per process and kept
 * on disk under the cache directory (keyed by the registry's URL), so the next command asks again
 * only for ids it has not seen.
 */
export class SchemaRegistryClient implements SchemaSource {
  readonly display: string
  /** HTTP requests made, for the benchmark and tests. */
  requests = 0
  private readonly memory = new Map<number, Promise<SchemaLookup>>()
  private readonly versions = new Map<string, Promise<{schema: string; references: RefSpec[]; format: SchemaFormat}>>()
  private readonly dir: string
  private readonly agent: http.Agent

  constructor(private readonly settings: RegistrySettings) {
    this.display = settings.display
    this.dir = join(cacheDir(), 'schemas', createHash('sha256').update(settings.display).digest('hex').slice(0, 16))
    const tls = settings.tls
    this.agent =
      settings.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ca: tls.ca ? readPem(tls.ca, 'ca') : undefined,
            cert: tls.cert ? readPem(tls.cert, 'cert') : undefined,
            key: tls.key ? readPem(tls.key, 'key') : undefined,
            rejectUnauthorized: !tls.insecure,
          })
        : new http.Agent({keepAlive: true})
  }

  lookup(id: number, opts: {fresh?: boolean} = {}): Promise<SchemaLookup> {
    let hit = opts.fresh ? undefined : this.memory.get(id)
    if (!hit) {
      hit = this.load(id, opts.fresh ?? false)
      this.memory.set(id, hit)
    }
    return hit
  }

  async ping(): Promise<string | null> {
    try {
      const a = await this.get('/schemas/types')
      return a.status === 200 ? null : httpProblem(a, '/schemas/types')
    } catch (error) {
      return (error as Error).message
    }
  }

  close(): void {
    this.agent.destroy()
  }

  private async load(id: number, fresh: boolean): Promise<SchemaLookup> {
    const file = join(this.dir, `${id}.json`)
    if (!fresh) {
      try {
        const cached = JSON.parse(readFileSync(file, 'utf8')) as RegisteredSchema
        if (cached.id === id && typeof cached.schema === 'string') return {kind: 'found', schema: {...cached, fromCache: true}}
      } catch {
        // not cached (or unreadable): ask the registry
      }
    }
    try {
      const a = await this.get(`/schemas/ids/${id}`)
      if (a.status === 404 && a.body?.error_code === 40403) return {kind: 'missing', message: `schema ${id} not found`}
      if (a.status !== 200) return {kind: 'unreachable', message: httpProblem(a, `/schemas/ids/${id}`)}
      const format = FORMATS[a.body.schemaType ?? 'AVRO']
      if (!format || typeof a.body.schema !== 'string') return {kind: 'unreachable', message: `schema ${id}: unexpected answer (schemaType ${String(a.body.schemaType)})`}
      const references = await this.references(a.body.references ?? [], new Set())
      const schema: RegisteredSchema = {id, format, schema: a.body.schema, references}
      this.save(file, schema)
      return {kind: 'found', schema}
    } catch (error) {
      if (error instanceof Unreachable) return {kind: 'unreachable', message: error.message}
      throw error
    }
  }

  /** The referenced schemas, transitively, dependencies first, each name once. */
  private async references(refs: RefSpec[], seen: Set<string>): Promise<Array<{name: string; schema: string}>> {
    const out: Array<{name: string; schema: string}> = []
    for (const ref of refs) {
      if (seen.has(ref.name)) continue
      seen.add(ref.name)
      const v = await this.version(ref.subject, ref.version)
      out.push(...(await this.references(v.references, seen)), {name: ref.name, schema: v.schema})
    }
    return out
  }

  private version(subject: string, version: number): Promise<{schema: string; references: RefSpec[]; format: SchemaFormat}> {
    const key = `${subject}\u0000${version}`
    let hit = this.versions.get(key)
    if (!hit) {
      const path = `/subjects/${encodeURIComponent(subject)}/versions/${version}`
      hit = this.get(path).then((a) => {
        if (a.status !== 200 || typeof a.body?.schema !== 'string') throw new Unreachable(`reference ${subject} version ${version}: ${httpProblem(a, path)}`)
        return {schema: a.body.schema, references: a.body.references ?? [], format: FORMATS[a.body.schemaType ?? 'AVRO'] ?? 'avro'}
      })
      this.versions.set(key, hit)
    }
    return hit
  }

  private save(file: string, schema: RegisteredSchema): void {
    try {
      mkdirSync(this.dir, {recursive: true})
      const tmp = `${file}.${process.pid}.tmp`
      writeFileSync(tmp, JSON.stringify({...schema, fromCache: undefined}))
      renameSync(tmp, file)
    } catch {
      // a cache that cannot be written only costs a fetch next time
    }
  }

  private get(path: string): Promise<Answer> {
    const url = new URL(this.settings.base.toString().replace(/\/$/, '') + path)
    this.requests++
    return new Promise((resolve, reject) => {
      const lib = url.protocol === 'https:' ? https : http
      const req = lib.request(
        url,
        {
          method: 'GET',
          agent: this.agent,
          headers: {
            accept: 'application/vnd.schemaregistry.v1+json, application/json',
            ...(this.settings.authorization ? {authorization: this.settings.authorization} : {}),
          },
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', (e) => reject(new Unreachable(e.message)))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let body: any = null
            try {
              body = JSON.parse(text)
            } catch {
              body = null
            }
            resolve({status: res.statusCode ?? 0, body})
          })
        },
      )
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)))
      req.on('error', (e: NodeJS.ErrnoException) => reject(new Unreachable(`${this.display}: ${e.code ?? e.message}`)))
      req.end()
    })
  }
}

interface RefSpec {
  name: string
  subject: string
  version: number
}

function httpProblem(a: Answer, path: string): string {
  if (a.status === 401 || a.status === 403) return `HTTP ${a.status}: the registry refused the credentials`
  const msg = typeof a.body?.message === 'string' ? `: ${a.body.message.slice(0, 200)}` : ''
  if (a.status === 404) return `HTTP 404 for ${path}${msg} (is the URL the registry's Confluent API, e.g. …/apis/ccompat/v7 for Apicurio?)`
  return `HTTP ${a.status}${msg}`
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new UsageError(`profile schemaRegistry.tls.${what}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
}
