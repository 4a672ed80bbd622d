import {spawn, type ChildProcess} from 'node:child_process'
import {createServer, Socket} from 'node:net'

/**
 * Real services for integration tests (Redis, Kafka, the schema registry), on loopback only
 * (scripts/services.sh starts them).
 * In CI (CI=true) an unreachable service fails the test file; elsewhere its tests are
 * skipped with a loud warning so a developer knows what did not run.
 */
export const REDIS_URL = process.env.DLQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379'
export const KAFKA_BROKERS = process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092'
/** The registry's Confluent-compatible API (Apicurio serves it under /apis/ccompat/v7). */
export const SCHEMA_REGISTRY_URL = process.env.DLQ_TEST_SCHEMA_REGISTRY ?? 'http://127.0.0.1:18081/apis/ccompat/v7'

for (const [name, value] of [
  ['DLQ_TEST_REDIS_URL', REDIS_URL],
  ['DLQ_TEST_KAFKA_BROKERS', KAFKA_BROKERS],
]) {
  if (!/^(redis:\/\/)?127\.0\.0\.1:\d+(\/\d+)?$/.test(value.split(',')[0])) throw new Error(`${name}=${value}: tests only ever talk to 127.0.0.1`)
}
if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(SCHEMA_REGISTRY_URL)) {
  throw new Error(`DLQ_TEST_SCHEMA_REGISTRY=${SCHEMA_REGISTRY_URL}: tests only ever talk to 127.0.0.1`)
}

function reachable(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket()
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(timeoutMs, () => done(false))
    s.once('error', () => done(false))
    s.connect(port, host, () => done(true))
  })
}

export interface Service {
  available: boolean
  /** redis://127.0.0.1:PORT or 127.0.0.1:PORT */
  address: string
}

/** The registry's port opens a moment before it serves: ready is an HTTP 200 from its API. */
async function registryReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/subjects`, {signal: AbortSignal.timeout(3000)})
    await res.arrayBuffer()
    return res.status === 200
  } catch {
    return false
  }
}

export async function needService(kind: 'redis' | 'kafka' | 'registry'): Promise<Service> {
  const address = kind === 'redis' ? REDIS_URL : kind === 'kafka' ? KAFKA_BROKERS : SCHEMA_REGISTRY_URL
  let available: boolean
  if (kind === 'registry') {
    available = await registryReady(address)
  } else {
    const hostPort = address.replace(/^redis:\/\//, '').split(',')[0].split('/')[0]
    const [host, port] = hostPort.split(':')
    available = await reachable(host, Number(port))
  }
  if (!available) {
    const msg = `${kind} is not reachable at ${address}; start it with: bash scripts/services.sh up ${kind}`
    if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI=true and ${msg}`)
    console.warn(`\n\u26a0\u26a0\u26a0 SKIPPING ${kind.toUpperCase()} TESTS: ${msg} \u26a0\u26a0\u26a0\n`)
  }
  return {available, address}
}

/** A name no other test (or earlier run) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

/** A loopback port free a moment ago (so nothing listens on it now: a refused connection, or a port to start a server on). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A Redis of this test's own, durable (every write fsync'd), so it can be killed and restarted. */
export async function startRedis(port: number, dir: string, extra: string[] = []): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', ...extra], {stdio: 'ignore'})
  const {Redis} = await import('ioredis')
  for (let i = 0; i < 100; i++) {
    const c = new Redis({port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null})
    c.on('error', () => undefined)
    try {
      await c.connect()
      await c.ping()
      c.disconnect()
      return p
    } catch {
      c.disconnect()
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error('own redis-server did not start')
}

/** Polls `ok` every 50 ms for up to `ms`; fails naming `what` (and what was seen) when it never holds. */
export async function until(ok: () => boolean, what: () => string, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > end) throw new Error(`waited ${ms} ms for ${what()}`)
}
