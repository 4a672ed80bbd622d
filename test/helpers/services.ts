import {Socket} from 'node:net'

/**
 * Real services for integration tests, on loopback only (scripts/services.sh starts them).
 * In CI (CI=true) an unreachable service fails the test file; elsewhere its tests are
 * skipped with a loud warning so a developer knows what did not run.
 */
export const REDIS_URL = process.env.DLQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379'
export const KAFKA_BROKERS = process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092'

for (const [name, value] of [
  ['DLQ_TEST_REDIS_URL', REDIS_URL],
  ['DLQ_TEST_KAFKA_BROKERS', KAFKA_BROKERS],
]) {
  if (!/^(redis:\/\/)?127\.0\.0\.1:\d+(\/\d+)?$/.test(value.split(',')[0])) throw new Error(`${name}=${value}: tests only ever talk to 127.0.0.1`)
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

export async function needService(kind: 'redis' | 'kafka'): Promise<Service> {
  const address = kind === 'redis' ? REDIS_URL : KAFKA_BROKERS
  const hostPort = address.replace(/^redis:\/\//, '').split(',')[0].split('/')[0]
  const [host, port] = hostPort.split(':')
  const available = await reachable(host, Number(port))
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
