import {copyFileSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {FIXTURES, dlq, dlqJson} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {KAFKA_BROKERS, REDIS_URL, needService, uniqueName} from '../helpers/services.js'
import {KafkaFixture} from '../kafka-fixtures.js'

/**
 * A --store that names something other than a settings store (a mistyped DLQ_STORE next to
 * `global-target set dfe.dlq`) is refused, for reading and writing, and nothing goes into it.
 */
const ENV = {DLQ_STORE: '', DLQ_CONFIG: '/nonexistent/dlq-config.json', DLQ_ACTOR: 'ci-bot@runner-7'}

const kafka = await needService('kafka')
const redis = await needService('redis')
const fx = new KafkaFixture()
afterAll(() => fx.close())

const EVERY_COMMAND = [
  ['global-target', 'get'],
  ['global-target', 'history'],
  ['global-target', 'set', 'orders.dlq'],
  ['global-target', 'clear'],
  ['policy', 'set', 'orders', '--dlq', 'global'],
  ['policy', 'list'],
]

async function endOffset(topic: string): Promise<bigint> {
  const [t] = await fx.admin.listOffsets({topics: [{name: topic, partitions: [{partitionIndex: 0, timestamp: -1n /* latest */}]}]})
  return t.partitions[0].offset
}

describe.runIf(kafka.available)('kafka: a topic that is not a settings topic', () => {
  const store = (topic: string) => `kafka://${KAFKA_BROKERS}/${topic}`

  it('one holding DLQ messages: every command exits 4 naming the topic and what it holds, and nothing is produced', async () => {
    const topic = await fx.topic('settings-foreign', 1)
    await fx.produce(topic, [{value: 'dlq-msg-1'}, {value: 'dlq-msg-2'}])
    for (const args of EVERY_COMMAND) {
      const r = dlqJson([...args, '--store', store(topic)], {env: ENV})
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(4)
      expectSchema('error', r.json)
      expect(r.json.error.code).toBe('unavailable')
      expect(r.json.error.message).toContain(
        `topic "${topic}" is not a dlq settings topic: it holds 2 records at offsets 0 to 1, and the one at offset 0 is not a settings write (no key and a value of 9 bytes that is not JSON)`,
      )
      expect(r.json.error.message).toMatch(/check --store \/ DLQ_STORE/)
    }
    expect(await endOffset(topic)).toBe(2n)
  }, 120_000)

  it('one where something else wrote after dlq: refused from that record on', async () => {
    const topic = await fx.topic('settings-polluted', 1)
    expect(dlqJson(['global-target', 'set', 'orders.dlq', '--store', store(topic)], {env: ENV}).code).toBe(0)
    await fx.produce(topic, [{key: 'global-target', value: '{"topic":"evil"}'}])
    const r = dlqJson(['global-target', 'set', 'payments.dlq', '--store', store(topic)], {env: ENV})
    expect(r.code, r.stderr).toBe(4)
    expect(r.json.error.message).toMatch(/the one at offset 1 is not a settings write \(a key of 13 bytes and a value of 16 bytes: a JSON object that is not a dlq settings write\)/)
    expect(await endOffset(topic)).toBe(2n)
  }, 60_000)

  it('one whose log no longer starts at 0: a DLQ is "not a settings topic", a settings topic "records were deleted"', async () => {
    const foreign = await fx.topic('settings-foreign-trunc', 1)
    await fx.produce(foreign, [{value: 'a'}, {value: 'b'}, {value: 'c'}])
    const settings = await fx.topic('settings-trunc', 1)
    for (const t of ['a', 'b']) expect(dlqJson(['global-target', 'set', t, '--store', store(settings)], {env: ENV}).code).toBe(0)
    await fx.admin.deleteRecords({
      topics: [
        {name: foreign, partitions: [{partition: 0, offset: 1n}]},
        {name: settings, partitions: [{partition: 0, offset: 1n}]},
      ],
    })
    const f = dlqJson(['global-target', 'set', 'orders.dlq', '--store', store(foreign)], {env: ENV})
    expect(f.code, f.stderr).toBe(4)
    expect(f.json.error.message).toMatch(/is not a dlq settings topic: it holds 2 records at offsets 1 to 2, and the one at offset 1 is not a settings write/)
    expect(await endOffset(foreign)).toBe(3n)
    const s = dlqJson(['global-target', 'get', '--store', store(settings)], {env: ENV})
    expect(s.code, s.stderr).toBe(1)
    expect(s.json.error.message).toMatch(/no longer starts at offset 0 \(log start 1\): records were deleted from it/)
  }, 60_000)

  it('an empty one that does not keep its whole log: reading warns, writing is refused with the fix', async () => {
    const topic = await fx.topic('settings-layout', 1, {'retention.ms': '604800000', 'cleanup.policy': 'compact'})
    const got = dlqJson(['global-target', 'get', '--store', store(topic)], {env: ENV})
    expect(got.code, got.stderr).toBe(0)
    expectSchema('global-target', got.json)
    expect(got.json.version).toBe(0)
    const problem = `topic "${topic}" is not set up as a settings topic (cleanup.policy=compact, retention.ms=604800000)`
    expect(got.stderr).toContain(`warning: ${problem}`)
    expect(got.stderr).toContain(`--entity-name ${topic} --add-config cleanup.policy=delete,retention.ms=-1,retention.bytes=-1`)

    const set = dlq(['global-target', 'set', 'orders.dlq', '--store', store(topic)], {env: ENV})
    expect(set.code, set.stderr).toBe(4)
    expect(set.stderr).toContain(`Error: ${problem}`)
    expect(set.stderr).toMatch(/Nothing was written/)
    // Said once, as the error: not also as a warning.
    expect(set.stderr).not.toMatch(/warning:/)
    expect(await endOffset(topic)).toBe(0n)
  }, 60_000)
})

describe.runIf(redis.available)('redis: keys under the store prefix that are not dlq settings', () => {
  it('a stream, or a hash of other fields, is refused and left as it was; nothing else is written', async () => {
    const {Redis} = await import('ioredis')
    const client = new Redis(REDIS_URL)
    const prefixes: string[] = []
    const space = () => {
      const p = uniqueName('dlq-settings-foreign')
      prefixes.push(p)
      return {prefix: p, uri: `${REDIS_URL}/0/${p}`, key: (name: string) => `{${p}}:${name}`}
    }
    try {
      // The setting's own key is a stream: reads and writes both say so.
      const a = space()
      await client.xadd(a.key('setting:global-target'), '*', 'data', '{}')
      for (const args of [
        ['global-target', 'get'],
        ['global-target', 'set', 'orders.dlq'],
      ]) {
        const r = dlqJson([...args, '--store', a.uri], {env: ENV})
        expect(r.code, r.stderr).toBe(4)
        expect(r.json.error.message).toContain(`key "${a.key('setting:global-target')}" holds a stream, not dlq settings`)
      }
      expect(await client.xlen(a.key('setting:global-target'))).toBe(1)

      // The history key is a stream: refused before the setting is written (a Lua script is not rolled back).
      const b = space()
      await client.xadd(b.key('history:global-target'), '*', 'data', '{}')
      const set = dlqJson(['global-target', 'set', 'orders.dlq', '--store', b.uri], {env: ENV})
      expect(set.code, set.stderr).toBe(4)
      expect(set.json.error.message).toContain(`key "${b.key('history:global-target')}" holds a stream`)
      expect(await client.exists(b.key('setting:global-target'), b.key('keys'))).toBe(0)
      expect(dlqJson(['global-target', 'history', '--store', b.uri], {env: ENV}).code).toBe(4)

      // A hash of someone else's: its fields are not joined by ours.
      const c = space()
      await client.hset(c.key('setting:policy:orders'), 'owner', 'billing')
      const policy = dlqJson(['policy', 'set', 'orders', '--dlq', 'global', '--store', c.uri], {env: ENV})
      expect(policy.code, policy.stderr).toBe(4)
      expect(policy.json.error.message).toContain(`key "${c.key('setting:policy:orders')}" holds a hash with other fields`)
      expect(await client.hgetall(c.key('setting:policy:orders'))).toEqual({owner: 'billing'})
      expect(await client.exists(c.key('history:policy:orders'), c.key('keys'))).toBe(0)
      expect(dlqJson(['policy', 'get', 'orders', '--store', c.uri], {env: ENV}).code).toBe(4)
    } finally {
      for (const p of prefixes) {
        const keys = await client.keys(`{${p}}:*`)
        if (keys.length > 0) await client.del(...keys)
      }
      client.disconnect()
    }
  }, 60_000)
})

describe('file: a file that is not a dlq settings file', () => {
  it('a DLQ file or another JSON document: exit 4 like the other stores, and the file is left as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-settings-foreign-'))
    const ndjson = join(dir, 'dlq.ndjson')
    copyFileSync(join(FIXTURES, 'hyperi.ndjson'), ndjson)
    const other = join(dir, 'config.json')
    writeFileSync(other, '{"settings": null}')
    for (const [file, message] of [
      [ndjson, /is not valid JSON .*it was not written by dlq/],
      [other, /is not a dlq settings file/],
    ] as const) {
      const before = readFileSync(file)
      for (const args of EVERY_COMMAND) {
        const r = dlqJson([...args, '--store', file], {env: ENV})
        expect(r.code, `${file} ${args.join(' ')}: ${r.stderr}`).toBe(4)
        expect(r.json.error.message).toMatch(message)
      }
      expect(readFileSync(file).equals(before)).toBe(true)
    }
  })
})
