import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlqJson, dlqJsonAsync, ROOT} from '../helpers/cli.js'
import {fileLedgerKey, ledgerDone, waitForNextClaim} from '../helpers/ledger.js'
import {foldLedger} from '../../src/core/replay/ledger.js'
import {needService} from '../helpers/services.js'

const kafka = await needService('kafka')
const i32 = (n: number) => Buffer.from([(n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255])
const i64 = (n: number) => {
  const b = Buffer.alloc(8)
  b.writeBigInt64BE(BigInt(n))
  return b
}

describe.runIf(kafka.available)('replay from and to Kafka', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())

  let dlq: string
  let orders: string
  const sent: Array<{partition: number; key: string; value: string; trace: string}> = []
  beforeAll(async () => {
    dlq = await fx.topic('replay-dlq', 2)
    orders = await fx.topic('replay-orders', 4)
    // Spring-style DLQ records from three source partitions, spread over two DLQ partitions.
    const messages = []
    for (let i = 0; i < 12; i++) {
      const partition = i % 3
      const m = {partition, key: `k${i}`, value: `{"order":${i}}`, trace: `t${i}`}
      sent.push(m)
      messages.push({
        partition: partition === 2 ? 1 : 0,
        key: m.key,
        value: m.value,
        headers: [
          ['kafka_dlt-original-topic', orders],
          ['kafka_dlt-original-partition', i32(partition)],
          ['kafka_dlt-original-offset', i64(100 + i)],
          ['kafka_dlt-exception-fqcn', 'java.lang.RuntimeException'],
          ['trace', m.trace],
        ] as Array<[string, string | Buffer]>,
      })
    }
    await fx.produceBulk(dlq, messages)
  })

  it('sends exact key, value and user headers to the original partition, in order, and records a ledger topic', async () => {
    const src = `${KAFKA_URI}/${dlq}`
    const page = dlqJson(['inspect', src, '--limit', '100']).json
    const positions = page.items.map((m: any) => m.position)
    expect(positions).toHaveLength(12)
    const r = dlqJson(['replay', src, ...positions.flatMap((p: string) => ['--offset', p]), '--yes'])
    expect(r.code, JSON.stringify(r.json)).toBe(0)
    expect(r.json.replayed).toBe(12)
    for (const item of r.json.items) expect(item.target.topic).toBe(orders)

    const landed = dlqJson(['inspect', `${KAFKA_URI}/${orders}`, '--limit', '100']).json.items
    expect(landed).toHaveLength(12)
    for (const p of [0, 1, 2]) {
      const got = landed.filter((m: any) => m.position.startsWith(`${p}:`))
      const want = sent.filter((m) => m.partition === p)
      expect(got.map((m: any) => [m.key, m.payload.text, m.headers])).toEqual(want.map((m) => [m.key, m.value, {trace: m.trace}]))
      expect(got.every((m: any) => m.convention === 'unknown')).toBe(true)
    }
    expect(landed.filter((m: any) => m.position.startsWith('3:'))).toHaveLength(0)

    const again = dlqJson(['replay', src, '--offset', positions[0], '--yes'])
    expect(again.json.items[0].reason).toBe('already_replayed')
    const ledger = dlqJson(['inspect', `${KAFKA_URI}/${dlq}.dlq-replay-ledger`, '--limit', '100']).json.items
    // One claim and one done event per target partition, naming its messages; all 12 done.
    expect(ledger).toHaveLength(6)
    const state = foldLedger(ledger.map((m: any) => JSON.parse(m.payload.text)))
    expect([...state].filter(([k, e]) => e.state === 'done' && !k.startsWith('src:'))).toHaveLength(12)
    // And each message's source message (topic, partition, offset, key and payload), which its other copies share.
    expect([...state].filter(([k, e]) => e.state === 'done' && k.startsWith('src:'))).toHaveLength(12)
  })

  it('two replays of the same positions at once write each message once (the ledger topic decides)', async () => {
    const target = await fx.topic('replay-race', 1)
    const raceDlq = await fx.topic('replay-race-dlq', 1)
    await fx.produceBulk(raceDlq, Array.from({length: 12}, (_, i) => ({value: `r${i}`, headers: [['stroma.dlq.source_topic', 'x'] as [string, string]]})))
    const src = `${KAFKA_URI}/${raceDlq}`
    const positions = dlqJson(['inspect', src, '--limit', '100']).json.items.map((m: any) => m.position)
    const args = ['replay', src, ...positions.flatMap((p: string) => ['--offset', p]), '--to', target, '--yes']
    const [a, b] = await Promise.all([dlqJsonAsync(args), dlqJsonAsync(args)])
    // What one replay claimed, the other reports in_progress (exit 1: it did not see it land).
    for (const r of [a, b]) expect([0, 1]).toContain(r.code)
    for (const r of [a, b]) for (const i of r.json.items.filter((x: any) => x.outcome !== 'replayed')) expect(['in_progress', 'already_replayed']).toContain(i.reason)
    const landed = dlqJson(['inspect', `${KAFKA_URI}/${target}`, '--limit', '100']).json.items
    expect(a.json.replayed + b.json.replayed).toBe(landed.length)
    expect(landed).toHaveLength(12)
  })
})

describe.runIf(kafka.available)('a large replay with the ledger in a Kafka topic', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())

  it('5,000 messages in overlapping batches: each sent once, in order per partition; a second run skips all', async () => {
    const target = await fx.topic('big-target', 2)
    const dlq = await fx.topic('big-dlq', 2)
    const n = 5000
    const entry = (i: number) => JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'r', attempts: 0, payload: Buffer.from(`m${i}`).toString('base64'), source: {topic: target, partition: i % 2, offset: i}})
    await fx.produceBulk(dlq, Array.from({length: n}, (_, i) => ({partition: i % 2, value: entry(i), timestamp: Date.now()})))
    const first = await dlqJsonAsync(['replay', `${KAFKA_URI}/${dlq}`, '--all', '--yes'])
    expect(first.code, first.stderr + JSON.stringify(first.json?.items?.find((i: any) => i.outcome === 'failed'))).toBe(0)
    expect(first.json).toMatchObject({requested: n, replayed: n, failed: 0})
    for (const p of [0, 1]) {
      const landed = dlqJson(['inspect', `${KAFKA_URI}/${target}`, '--partition', String(p), '--limit', '5000']).json.items.map((m: any) => Number(m.payload.text.slice(1)))
      // Source partition p's messages, in the order they were dead-lettered.
      expect(landed).toEqual(Array.from({length: n / 2}, (_, k) => 2 * k + p))
    }
    const second = await dlqJsonAsync(['replay', `${KAFKA_URI}/${dlq}`, '--all', '--yes'])
    expect(second.code, second.stderr).toBe(0)
    expect(second.json).toMatchObject({requested: n, replayed: 0, skipped: n})
  }, 120_000)
})

describe.runIf(kafka.available)('an in-doubt claim on a Kafka target', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())

  it('is resolved by looking in the target after the recorded mark: found → not sent again, absent → sent', async () => {
    const target = await fx.topic('doubt', 2)
    const dir = mkdtempSync(join(tmpdir(), 'dlq-kdoubt-'))
    const src = join(dir, 'dlq.ndjson')
    const entry = (i: number) => JSON.stringify({timestamp: 1_764_000_000_000, service: 's', reason: 'r', attempts: 0, payload: Buffer.from(`p${i}`).toString('base64'), source: {topic: target, partition: 1, offset: i}})
    writeFileSync(src, [entry(0), entry(1)].join('\n') + '\n')
    // A crashed run recorded the end offsets, claimed both, and had sent message 0 only.
    const mark = JSON.stringify({1: 0})
    await fx.produce(target, [{partition: 1, value: 'p0', timestamp: 1_764_000_000_000}])
    // The ledger names messages by identity: the key of entry i is that of its line.
    const claim = (i: number) => JSON.stringify({op: 'claim', position: fileLedgerKey(entry(i)), runId: 'crashed', target: {topic: target, partition: 1}, mark, at: '2026-11-23T00:00:00.000Z'})
    writeFileSync(join(dir, 'dlq-replay-ledger.ndjson'), `${claim(0)}\n${claim(1)}\n`)
    const r = dlqJson(['replay', src, '--offset', '0', '--offset', '1', '--sink', KAFKA_URI, '--yes'])
    expect(r.code, JSON.stringify(r.json)).toBe(0)
    expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'skipped', 'already_replayed'],
      ['1', 'replayed', null],
    ])
    const landed = dlqJson(['inspect', `${KAFKA_URI}/${target}`, '--partition', '1']).json.items.map((m: any) => m.payload.text)
    expect(landed).toEqual(['p0', 'p1'])
  })
})

describe.runIf(kafka.available)('replay survives a broker that dies mid-way', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'dlq-kafka-fault-'))
  const port = 19192 + Math.floor(Math.random() * 500) * 2
  const env = {DLQ_KAFKA_PORT: String(port), DLQ_KAFKA_CONTROLLER_PORT: String(port + 1), DLQ_SERVICES_DIR: stateDir}
  const services = (...args: string[]) => spawnSync('bash', [join(ROOT, 'scripts', 'services.sh'), ...args], {env: {...process.env, ...env}, encoding: 'utf8'})
  afterAll(() => services('down', 'kafka'))

  it('10,000 messages, broker frozen then killed part-way: exit 1 with sends in doubt, then the same command finishes with each message once', async () => {
    const up = services('up', 'kafka')
    expect(up.status, up.stderr).toBe(0)
    const brokers = `127.0.0.1:${port}`
    const made = spawnSync(process.execPath, [join(ROOT, 'bench', 'kafka-topic.mjs'), brokers, 'orders', '--partitions', '2'], {encoding: 'utf8'})
    expect(made.status, made.stderr).toBe(0)

    const payloads: Buffer[] = []
    const lines: string[] = []
    for (let i = 0; i < 10_000; i++) {
      const payload = Buffer.from(`{"order":${i}}`)
      payloads.push(payload)
      lines.push(JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'timeout', attempts: 1, payload: payload.toString('base64'), source: {topic: 'orders', partition: i % 2, offset: i}}))
    }
    const src = join(stateDir, 'dlq.ndjson')
    writeFileSync(src, lines.join('\n') + '\n')
    const ledger = join(stateDir, 'dlq-replay-ledger.ndjson')
    const args = ['replay', src, '--all', '--filter', 'reason=timeout', '--sink', `kafka://${brokers}`, '--yes']

    // Paced, so the broker stops mid-way (unpaced, the 10,000 can be acknowledged before it
    // does). Frozen rather than killed first: the connection stays open, so the next send is
    // written and never acknowledged — a send whose fate is unknown, reported in doubt after the
    // acknowledgement timeout. (A killed broker refuses the next write: not sent, not in doubt.)
    const first = dlqJsonAsync([...args, '--rate', '2500'], {DLQ_KAFKA_ACK_TIMEOUT_MS: '4000'})
    const deadline = Date.now() + 60_000
    const done = () => ledgerDone(ledger)
    while (done() < 2500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    const pid = Number(readFileSync(join(stateDir, 'kafka', 'kafka.pid'), 'utf8'))
    // Frozen the moment the next batch's claim is in the ledger: its send comes after that line
    // (and after its fsync), so it goes to a broker that will not answer.
    waitForNextClaim(ledger)
    process.kill(pid, 'SIGSTOP')
    const broken = await first
    process.kill(pid, 'SIGKILL')
    expect(broken.code, broken.stderr).toBe(1)
    expect(broken.json.replayed).toBeGreaterThan(0)
    expect(broken.json.items.filter((i: any) => i.outcome === 'failed' && i.reason === 'in_doubt').length, JSON.stringify(broken.json.items.find((i: any) => i.outcome === 'failed'))).toBeGreaterThan(0)
    expect(broken.json.replayed + broken.json.failed).toBe(10_000)

    const again = services('up', 'kafka')
    expect(again.status, again.stderr).toBe(0)
    // A restarted broker answers before it has loaded every topic: wait until the target is back.
    const until = Date.now() + 60_000
    while (dlqJson(['stats', `kafka://${brokers}/orders`]).code !== 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 250))
    const second = await dlqJsonAsync(args)
    expect(second.code, second.stderr).toBe(0)
    expect(second.json.failed).toBe(0)
    const tally = (j: any) => j.items.reduce((m: Record<string, number>, i: any) => ((m[`${i.outcome}:${i.reason}`] = (m[`${i.outcome}:${i.reason}`] ?? 0) + 1), m), {})
    console.log('after the kill:', tally(broken.json), 'second run:', tally(second.json))
    const count = (j: any, outcome: string, reason: string | null) => j.items.filter((i: any) => i.outcome === outcome && i.reason === reason).length
    // Whatever was in doubt was looked for in the target: found ones are not sent again.
    expect(count(second.json, 'skipped', 'already_replayed') + count(second.json, 'replayed', null)).toBe(10_000)

    const landed: Buffer[] = []
    for (const p of [0, 1]) {
      const got = spawnSync('kcat', ['-C', '-b', brokers, '-t', 'orders', '-p', String(p), '-o', 'beginning', '-e', '-q', '-f', '%S %s\n'], {encoding: 'buffer', maxBuffer: 1 << 28})
      for (const line of got.stdout.toString('utf8').split('\n').filter(Boolean)) landed.push(Buffer.from(line.slice(line.indexOf(' ') + 1)))
    }
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex')
    expect(landed).toHaveLength(10_000)
    expect(landed.map(digest).sort()).toEqual(payloads.map(digest).sort())
  }, 240_000)
})
