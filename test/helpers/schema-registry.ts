import {readFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {CAPTURED, readCapture, type Capture} from './captured.js'

/**
 * The confluent-sr capture (scripts/capture/confluent-sr) put into the test registry: its schemas
 * are registered in capture order (references first), and since the test registry is shared (ids
 * depend on what registered before), the schema ids inside the captured bytes are rewritten to the
 * ids this registry gave. Registering the same schema under the same subject again gives the same id.
 */
export interface CapturedSchema {
  id: number
  subject: string
  version: number
  schemaType: string
  schema: string
  references: Array<{name: string; subject: string; version: number}>
}

export const SR_DIR = join(CAPTURED, 'confluent-sr')

export function capturedSchemas(): {unknownSchemaId: number; schemas: CapturedSchema[]} {
  return JSON.parse(readFileSync(join(SR_DIR, 'schemas.json'), 'utf8'))
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: {'content-type': 'application/vnd.schemaregistry.v1+json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`)
  return JSON.parse(text)
}

/** Registers a schema (with references as {name, subject, version}); returns its id and version. */
export async function register(
  base: string,
  subject: string,
  schemaType: string,
  schema: string,
  references: Array<{name: string; subject: string; version: number}> = [],
): Promise<{id: number; version: number}> {
  const body = {schema, schemaType, references}
  const {id} = await call(base, 'POST', `/subjects/${encodeURIComponent(subject)}/versions`, body)
  const found = await call(base, 'POST', `/subjects/${encodeURIComponent(subject)}`, body)
  return {id, version: found.version}
}

/** Registers the captured schemas; returns captured id → this registry's id. */
export async function registerCaptured(base: string): Promise<Map<number, number>> {
  const ids = new Map<number, number>()
  const versions = new Map<string, number>()
  for (const s of capturedSchemas().schemas) {
    const refs = s.references.map((r) => ({...r, version: versions.get(`${r.subject}@${r.version}`) ?? r.version}))
    const got = await register(base, s.subject, s.schemaType, s.schema, refs)
    ids.set(s.id, got.id)
    versions.set(`${s.subject}@${s.version}`, got.version)
  }
  return ids
}

/** Bytes with their wire-format schema id replaced when it is one of `ids`. */
export function rewriteId(b64: string | null, ids: Map<number, number>): string | null {
  if (b64 === null) return null
  const buf = Buffer.from(b64, 'base64')
  if (buf.length < 5 || buf[0] !== 0) return b64
  const to = ids.get(buf.readUInt32BE(1))
  if (to === undefined) return b64
  const out = Buffer.from(buf)
  out.writeUInt32BE(to, 1)
  return out.toString('base64')
}

/** The capture with its records moved to `topic` and their schema ids rewritten for this registry. */
export function capturedFor(topic: string, ids: Map<number, number>): Capture {
  const cap = readCapture('confluent-sr')
  return {
    ...cap,
    kafka: cap.kafka.map((r) => ({...r, topic, key: rewriteId(r.key, ids), value: rewriteId(r.value, ids)})),
    truth: cap.truth.map((t) => ({...t, dlq: {...t.dlq, topic}}) as Capture['truth'][number]),
  }
}

export const caseOf = (headers: Record<string, unknown>): string => headers.case as string

export interface RegistryFront {
  /** The registry's URL through the front (same path). */
  url: string
  /** Requests per path so far. */
  count: () => Map<string, number>
  /** The Authorization headers seen ('(none)' for a request without one). */
  auth: () => string[]
  close: () => Promise<void>
}

/**
 * A pass-through front in this process before the registry at `target`, on a free port of
 * 127.0.0.1: plain HTTP, or HTTPS with `tls`. It notes each request's path and credentials.
 * (dlq must then run as a child process that does not block this one: dlqAsync.)
 */
export async function registryFront(target: string, opts: {tls?: {key: Buffer; cert: Buffer}} = {}): Promise<RegistryFront> {
  const base = new URL(target)
  const seen = new Map<string, number>()
  const auths = new Set<string>()
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.set(req.url!, (seen.get(req.url!) ?? 0) + 1)
    auths.add(req.headers.authorization ?? '(none)')
    const up = http.request({host: base.hostname, port: base.port, path: req.url, method: req.method, headers: req.headers}, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  }
  const server = opts.tls ? https.createServer(opts.tls, handle) : http.createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}${base.pathname}`,
    count: () => new Map(seen),
    auth: () => [...auths],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
