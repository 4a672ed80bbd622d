import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {dlqAsync as cliAsync, type CliResult} from '../helpers/cli.js'
import {KAFKA_BROKERS, REDIS_URL, needService, uniqueName} from '../helpers/services.js'

/** The built CLI as a child process that does not block the test runner (for races), with no settings store of the environment's. */
export const dlqAsync = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => cliAsync(args, {DLQ_STORE: '', ...env})

export type StoreKind = 'file' | 'redis' | 'kafka'
export const STORE_KINDS: StoreKind[] = ['file', 'redis', 'kafka']

/** A fresh, empty store of that kind: its own temp file, Redis key prefix or Kafka topic. */
export async function freshStore(kind: StoreKind): Promise<{uri: string; available: boolean; topic?: string}> {
  if (kind === 'file') return {uri: join(mkdtempSync(join(tmpdir(), 'dlq-settings-')), 'settings.json'), available: true}
  const service = await needService(kind)
  if (kind === 'redis') return {uri: `${REDIS_URL}/0/${uniqueName('dlq-settings-test')}`, available: service.available}
  const topic = uniqueName('dlq-settings-test')
  return {uri: `kafka://${KAFKA_BROKERS}/${topic}`, available: service.available, topic}
}

/** Removes what a test store left on the services (Kafka topic, Redis keys); files live in tmp. */
export async function dropStore(kind: StoreKind, store: {uri: string; available: boolean; topic?: string}): Promise<void> {
  if (!store.available) return
  if (kind === 'kafka') {
    const {Admin} = await import('@platformatic/kafka')
    const admin = new Admin({clientId: 'dlq-settings-test', bootstrapBrokers: KAFKA_BROKERS.split(',')})
    try {
      await admin.deleteTopics({topics: [store.topic!]}).catch(() => {})
    } finally {
      await admin.close()
    }
  } else if (kind === 'redis') {
    const {Redis} = await import('ioredis')
    const prefix = store.uri.slice(store.uri.lastIndexOf('/') + 1)
    const client = new Redis(REDIS_URL, {lazyConnect: true})
    try {
      await client.connect()
      const keys = await client.keys(`{${prefix}}:*`)
      if (keys.length > 0) await client.del(...keys)
    } finally {
      client.disconnect()
    }
  }
}
