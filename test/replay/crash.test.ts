import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {BIN, dlqJsonAsync, ROOT} from '../helpers/cli.js'
import {ledgerDone, waitForNextClaim} from '../helpers/ledger.js'
import {closeRedisSpace, emptyStream, openRedisSpace} from '../helpers/redis-space.js'
import {needService} from '../helpers/services.js'
import {shellLine, Tmux} from '../helpers/tmux.js'

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

/**
 * Starts the replay, and kills it with SIGKILL once `progress()` (messages sent so far, as the
 * ledger or the target tells) reaches a few thousand — for a file ledger, the moment the next
 * batch's claim is written, so a send is on its way.
 */
async function killMidway(args: string[], progress: () => number | Promise<number>, ledger?: string): Promise<number> {
  const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, stdio: 'ignore'})
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)))
  for (const until = Date.now() + 60_000; (await progress()) < 3000 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10))
  if (ledger !== undefined) waitForNextClaim(ledger)
  child.kill('SIGKILL')
  expect(await exited).toBe('SIGKILL')
  const done = ledger !== undefined ? ledgerDone(ledger) : 0
  // Killed part-way: some sent, not all (else the test proves nothing).
  expect(await progress()).toBeGreaterThanOrEqual(3000)
  expect(await progress()).toBeLessThan(N)
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

describe.runIf(redis.available)('dlq killed mid-replay from a file DLQ to Redis', () => {
  it('the same command again lands every message once, in order', async () => {
    const {client, prefix, sink} = await openRedisSpace(redis.address, 'crash')
    try {
      await emptyStream(client, `${prefix}orders`)
      const {src, payloads} = dlqFile('to-redis', 'orders')
      const ledger = join(dir, 'to-redis.ledger.ndjson')
      const args = ['replay', src, '--all', '--sink', sink, '--ledger', ledger, '--yes']
      const done = await killMidway([...args, '--rate', '5000'], () => ledgerDone(ledger), ledger)
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

describe.runIf(kafka.available)('dlq killed mid-replay from a file DLQ to Kafka', async () => {
  const {KafkaFixture, KAFKA_URI, BROKERS} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())

  it('the same command again lands every message once, in its source partition, in order', async () => {
    const topic = await fx.topic('crash-orders', 3)
    const {src, payloads} = dlqFile('to-kafka', topic)
    const ledger = join(dir, 'to-kafka.ledger.ndjson')
    const args = ['replay', src, '--all', '--sink', KAFKA_URI, '--ledger', ledger, '--yes']
    const done = await killMidway([...args, '--rate', '5000'], () => ledgerDone(ledger), ledger)
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

describe.runIf(redis.available)('dlq stopped by SIGTERM or SIGHUP mid-replay (timeout, a CI runner cancelling, a closed terminal)', () => {
  it.each(['SIGTERM', 'SIGHUP'] as const)('%s: stops between batches as Ctrl-C does: a whole --json document, every acknowledged send completed in the ledger, exit 130', async (signal) => {
    const {client, prefix, sink} = await openRedisSpace(redis.address, 'term')
    try {
      await emptyStream(client, `${prefix}orders`)
      const {src, payloads} = dlqFile(`term-${signal}`, 'orders')
      const ledger = join(dir, `term-${signal}.ledger.ndjson`)
      const args = ['replay', src, '--all', '--sink', sink, '--ledger', ledger, '--yes', '--json']
      const child = spawn(process.execPath, [BIN, ...args, '--rate', '5000'], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (d) => (out += d))
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      for (const until = Date.now() + 60_000; ledgerDone(ledger) < 3000 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10))
      child.kill(signal)
      expect(await exited).toBe(130)
      const doc = JSON.parse(out)
      expect(doc.replayed).toBeGreaterThanOrEqual(3000)
      expect(doc.replayed).toBeLessThan(N)
      // Nothing left in doubt: what the store acknowledged is in the ledger as done.
      expect(ledgerDone(ledger)).toBe(doc.replayed)
      expect(await client.xlen(`${prefix}orders`)).toBe(doc.replayed)
      const again = await dlqJsonAsync(args.slice(0, -1))
      expect(again.code, again.stderr).toBe(0)
      expect(again.json.skipped).toBe(doc.replayed)
      expect(again.json.replayed).toBe(N - doc.replayed)
      const entries = (await client.xrangeBuffer(`${prefix}orders`, '-', '+')) as Array<[Buffer, Buffer[]]>
      expectEachOnceInOrder(entries.map(([, f]) => f[f.length - 1].toString()), payloads)
    } finally {
      await closeRedisSpace(client, prefix)
    }
  }, 180_000)
})

describe.runIf(redis.available)('SIGTERM at the confirmation prompt', () => {
  it('is a "no": nothing sent, exit 130 (not a wait for an answer)', async () => {
    const {client, prefix, sink} = await openRedisSpace(redis.address, 'term-ask')
    const tmux = new Tmux('dlq-term-ask')
    try {
      await emptyStream(client, `${prefix}orders`)
      const {src} = dlqFile('term-ask', 'orders')
      const pidFile = join(dir, 'term-ask.pid')
      const cmd = `sh -c ${shellLine([`echo $$ > ${pidFile}; exec ${shellLine([process.execPath, BIN, 'replay', src, '--all', '--sink', sink, '--ledger', join(dir, 'term-ask.ledger.ndjson')])}`])}; echo "EXITED $?"; sleep 60`
      const ask = tmux.start('ask', [200, 30], cmd)
      await ask.waitText('[y/N]')
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM')
      expect(await ask.waitText('EXITED 130')).toContain('cancelled: nothing was sent')
      expect(await client.xlen(`${prefix}orders`)).toBe(0)
    } finally {
      tmux.close()
      await closeRedisSpace(client, prefix)
    }
  }, 60_000)
})

describe.runIf(redis.available)('dlq killed mid-replay from a Redis DLQ (its ledger a hash beside the stream)', () => {
  it('the same command again lands every message once, in order', async () => {
    const {client, prefix} = await openRedisSpace(redis.address, 'crash-src')
    try {
      const target = `${prefix}orders`
      const dlqKey = `${prefix}dlq`
      await emptyStream(client, target)
      const payloads: string[] = []
      const pipe = client.pipeline()
      for (let i = 0; i < N; i++) {
        const payload = `p${i % 3}:${i}`
        payloads.push(payload)
        pipe.xadd(dlqKey, '*', '_dlq', '1', 'value', payload, 'headers', JSON.stringify([['stroma.dlq.source_topic', target], ['stroma.dlq.source_offset', String(i)], ['stroma.dlq.reason', 'boom']]))
      }
      await pipe.exec()
      const src = `${redis.address}/0/${encodeURIComponent(dlqKey)}`
      const args = ['replay', src, '--all', '--yes']
      await killMidway([...args, '--rate', '5000'], async () => client.xlen(target))
      const again = await dlqJsonAsync(args)
      expect(again.code, again.stderr).toBe(0)
      expect(again.json.failed).toBe(0)
      expect(again.json.skipped + again.json.replayed).toBe(N)
      const entries = (await client.xrangeBuffer(target, '-', '+')) as Array<[Buffer, Buffer[]]>
      expectEachOnceInOrder(entries.map(([, f]) => f[f.indexOf(f.find((x) => x.toString() === 'value')!) + 1].toString()), payloads)
    } finally {
      await closeRedisSpace(client, prefix)
    }
  }, 180_000)
})

describe.runIf(kafka.available)('dlq killed mid-replay from a Kafka DLQ (its ledger a topic)', async () => {
  const {KafkaFixture, KAFKA_URI, BROKERS} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())
  /** Records in the topic's three partitions: their high watermarks (kcat -Q, one quick request). */
  const count = (topic: string) => {
    const got = spawnSync('kcat', ['-Q', '-b', BROKERS[0], ...[0, 1, 2].flatMap((p) => ['-t', `${topic}:${p}:-1`])], {encoding: 'utf8'})
    return [...got.stdout.matchAll(/offset (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0)
  }

  it('the same command again lands every message once, in its source partition, in order', async () => {
    const dlqTopic = await fx.topic('crash-dlt', 2)
    const topic = await fx.topic('crash-src-orders', 3)
    const payloads: string[] = []
    const messages = []
    for (let i = 0; i < N; i++) {
      const payload = `p${i % 3}:${i}`
      payloads.push(payload)
      messages.push({partition: i % 2, key: null, value: payload, headers: [['x-original-topic', topic], ['x-original-partition', i32(i % 3)], ['x-original-offset', i64(i)], ['x-exception-fqcn', 'java.lang.RuntimeException']] as Array<[string, string | Buffer]>})
    }
    await fx.produceBulk(dlqTopic, messages as any)
    // The DLQ's order: partition 0's records, then partition 1's — each source partition's stay in order within both.
    const args = ['replay', `${KAFKA_URI}/${dlqTopic}`, '--all', '--yes']
    await killMidway([...args, '--rate', '5000'], () => count(topic))
    const again = await dlqJsonAsync(args)
    expect(again.code, again.stderr).toBe(0)
    expect(again.json.failed).toBe(0)
    const landed: string[] = []
    for (const p of [0, 1, 2]) {
      const got = spawnSync('kcat', ['-C', '-b', BROKERS[0], '-t', topic, '-p', String(p), '-o', 'beginning', '-e', '-q', '-f', '%s\n'], {encoding: 'utf8', maxBuffer: 1 << 26})
      const here = got.stdout.split('\n').filter(Boolean)
      expect(here.every((x) => x.startsWith(`p${p}:`))).toBe(true)
      landed.push(...here)
    }
    expect(landed.length).toBe(N)
    expect(new Set(landed).size).toBe(N)
    // Order per source partition within each DLQ partition: the DLQ interleaves them differently.
    const seq = (x: string) => Number(x.slice(x.indexOf(':') + 1))
    for (const p of [0, 1, 2]) {
      for (const q of [0, 1]) {
        const fromQ = landed.filter((x) => x.startsWith(`p${p}:`) && seq(x) % 2 === q).map(seq)
        expect(fromQ).toEqual([...fromQ].sort((a, b) => a - b))
      }
    }
  }, 180_000)
})

function i32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
function i64(n: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigInt64BE(BigInt(n))
  return b
}
