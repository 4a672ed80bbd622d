import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {BIN, dlqJsonAsync, ROOT} from '../helpers/cli.js'
import {ledgerDone, waitForNextClaim} from '../helpers/ledger.js'
import {closeRedisSpace, emptyStream, openRedisSpace} from '../helpers/redis-space.js'
import {needService} from '../helpers/services.js'

/**
 * dlq itself killed (SIGKILL: the OOM killer, a lost CI runner, kill -9) in the middle of a
 * replay, with a batch claimed and on its way: nothing of its own clean-up runs. The same
 * command run again must finish the job with every message in the target once, in the order
 * of its source partition — the claims the dead process left are looked up in the target.
 */
const redis = await needService('redis')
const kafka = await needService('kafka')
const N = 20_000
const dir = mkdtempSync(join(tmpdir(), 'dlq-crash-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** A file DLQ of N entries from source partitions 0–2 of `topic`, payload `p<partition>:<n>`. */
function dlqFile(name: string, topic: string): {src: string; payloads: string[]} {
  const payloads: string[] = []
  const lines: string[] = []
  for (let i = 0; i < N; i++) {
    const payload = `p${i % 3}:${i}`
    payloads.push(payload)
    lines.push(JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'timeout', attempts: 1, payload: Buffer.from(payload).toString('base64'), source: {topic, partition: i % 3, offset: i}}))
  }
  const src = join(dir, `${name}.ndjson`)
  writeFileSync(src, lines.join('\n') + '\n')
  return {src, payloads}
}

/** Starts the replay, and kills it with SIGKILL once a few thousand are done and the next batch is claimed. */
async function killMidway(args: string[], ledger: string): Promise<number> {
  const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, stdio: 'ignore'})
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)))
  for (const until = Date.now() + 60_000; ledgerDone(ledger) < 3000 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10))
  waitForNextClaim(ledger)
  child.kill('SIGKILL')
  expect(await exited).toBe('SIGKILL')
  const done = ledgerDone(ledger)
  // Killed part-way: some sent, not all (else the test proves nothing).
  expect(done).toBeGreaterThanOrEqual(3000)
  expect(done).toBeLessThan(N)
  return done
}

/**
 * The rerun: what the ledger had done is skipped, and the batch the dead process had claimed
 * is skipped too when the lookup found it in the target, sent when not; nothing fails.
 */
function expectRerun(result: any, done: number): void {
  const count = (outcome: string) => result.items.filter((i: any) => i.outcome === outcome).length
  expect(result.failed).toBe(0)
  expect(count('skipped')).toBeGreaterThanOrEqual(done)
  expect(result.items.filter((i: any) => i.outcome === 'skipped').every((i: any) => i.reason === 'already_replayed')).toBe(true)
  expect(count('skipped') + count('replayed')).toBe(N)
}

/** Each payload once; per source partition in the DLQ's order. */
function expectEachOnceInOrder(landed: string[], payloads: string[]): void {
  expect(landed.length).toBe(N)
  expect(new Set(landed).size).toBe(N)
  for (const p of ['p0', 'p1', 'p2']) {
    expect(landed.filter((x) => x.startsWith(`${p}:`))).toEqual(payloads.filter((x) => x.startsWith(`${p}:`)))
  }
}

describe.runIf(redis.available)('dlq killed mid-replay to Redis', () => {
  it('the same command again lands every message once, in order', async () => {
    const {client, prefix, sink} = await openRedisSpace(redis.address, 'crash')
    try {
      await emptyStream(client, `${prefix}orders`)
      const {src, payloads} = dlqFile('to-redis', 'orders')
      const ledger = join(dir, 'to-redis.ledger.ndjson')
      const args = ['replay', src, '--all', '--sink', sink, '--ledger', ledger, '--yes']
      const done = await killMidway([...args, '--rate', '5000'], ledger)
      const again = await dlqJsonAsync(args)
      expect(again.code, again.stderr).toBe(0)
      expectRerun(again.json, done)
      const entries = (await client.xrangeBuffer(`${prefix}orders`, '-', '+')) as Array<[Buffer, Buffer[]]>
      // The payload is the value of the entry's one field.
      expectEachOnceInOrder(entries.map(([, f]) => f[f.length - 1].toString()), payloads)
      // A third run has nothing to do.
      const third = await dlqJsonAsync(args)
      expect(third.code).toBe(0)
      expect(third.json.replayed).toBe(0)
    } finally {
      await closeRedisSpace(client, prefix)
    }
  }, 180_000)
})

describe.runIf(kafka.available)('dlq killed mid-replay to Kafka', async () => {
  const {KafkaFixture, KAFKA_URI, BROKERS} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())

  it('the same command again lands every message once, in its source partition, in order', async () => {
    const topic = await fx.topic('crash-orders', 3)
    const {src, payloads} = dlqFile('to-kafka', topic)
    const ledger = join(dir, 'to-kafka.ledger.ndjson')
    const args = ['replay', src, '--all', '--sink', KAFKA_URI, '--ledger', ledger, '--yes']
    const done = await killMidway([...args, '--rate', '5000'], ledger)
    const again = await dlqJsonAsync(args)
    expect(again.code, again.stderr).toBe(0)
    expectRerun(again.json, done)
    const landed: string[] = []
    for (const p of [0, 1, 2]) {
      const got = spawnSync('kcat', ['-C', '-b', BROKERS[0], '-t', topic, '-p', String(p), '-o', 'beginning', '-e', '-q', '-f', '%s\n'], {encoding: 'utf8', maxBuffer: 1 << 26})
      expect(got.status, got.stderr).toBe(0)
      const here = got.stdout.split('\n').filter(Boolean)
      // Back to the partition it came from.
      expect(here.every((x) => x.startsWith(`p${p}:`))).toBe(true)
      landed.push(...here)
    }
    expectEachOnceInOrder(landed, payloads)
    const third = await dlqJsonAsync(args)
    expect(third.code).toBe(0)
    expect(third.json.replayed).toBe(0)
  }, 180_000)
})
