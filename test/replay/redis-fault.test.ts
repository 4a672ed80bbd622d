import type {ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {dlqJson, dlqJsonAsync} from '../helpers/cli.js'
import {fileLedgerKey, ledgerDone, waitForNextClaim} from '../helpers/ledger.js'
import {freePort, needService, startRedis, uniqueName} from '../helpers/services.js'

const redis = await needService('redis')

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** The target stream `orders` (after its init entry) holds each payload exactly once. hyperi entries go back as one field `payload` (what its transport reads). */
async function expectEachOnce(port: number, payloads: Buffer[]): Promise<void> {
  const {Redis} = await import('ioredis')
  const check = new Redis({port, host: '127.0.0.1'})
  const entries = (await check.xrangeBuffer('orders', '-', '+')) as unknown as Array<[Buffer, Buffer[]]>
  check.disconnect()
  const values = entries.slice(1).map(([, f]) => f[f.findIndex((x) => x.toString() === 'payload') + 1])
  expect(values.length).toBe(payloads.length)
  expect(values.map(digest).sort()).toEqual(payloads.map(digest).sort())
}

describe.runIf(redis.available)('replay survives a store that dies mid-way', () => {
  const procs: ChildProcess[] = []
  afterAll(() => procs.forEach((p) => p.kill('SIGKILL')))

  it('10,000 messages, Redis killed part-way: exit 1 with a report, then the same command finishes with each message once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-fault-'))
    const port = await freePort()
    procs.push(await startRedis(port, dir))
    const {Redis} = await import('ioredis')
    const client = new Redis({port, host: '127.0.0.1', retryStrategy: () => null})
    client.on('error', () => undefined)
    await client.xadd('orders', '*', 'init', '1')

    const payloads: Buffer[] = []
    const lines: string[] = []
    for (let i = 0; i < 10_000; i++) {
      const payload = Buffer.from(`{"order":${i},"pad":"${'x'.repeat(i % 50)}"}`)
      payloads.push(payload)
      lines.push(JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'timeout', attempts: 1, payload: payload.toString('base64'), source: {topic: 'orders', partition: 0, offset: i}}))
    }
    const src = join(dir, 'dlq.ndjson')
    writeFileSync(src, lines.join('\n') + '\n')
    const args = ['replay', src, '--all', '--filter', 'reason=timeout', '--sink', `redis://127.0.0.1:${port}`, '--yes', '--rate', '2500']

    const first = dlqJsonAsync(args)
    // Kill the store once part of the replay has landed, however slow this machine is.
    const deadline = Date.now() + 60_000
    while ((await client.xlen('orders')) < 2500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    procs[0].kill('SIGKILL')
    client.disconnect()
    const broken = await first
    expect(broken.code).toBe(1)
    expect(broken.json.failed).toBeGreaterThan(0)
    expect(broken.json.replayed).toBeGreaterThan(0)
    expect(broken.json.replayed + broken.json.failed).toBe(10_000)
    expect(broken.stderr).toMatch(/run the same command again/)
    const reasons = (j: any) => j.items.reduce((m: Record<string, number>, i: any) => ((m[`${i.outcome}:${i.reason}`] = (m[`${i.outcome}:${i.reason}`] ?? 0) + 1), m), {})
    console.log('after the kill:', reasons(broken.json))

    procs.push(await startRedis(port, dir))
    const again = await dlqJsonAsync(args.filter((a) => a !== '--rate' && a !== '2500'))
    expect(again.code, again.stderr).toBe(0)
    expect(again.json.failed).toBe(0)
    expect(again.json.replayed + again.json.skipped).toBe(10_000)
    console.log('second run:', reasons(again.json))

    await expectEachOnce(port, payloads)
  }, 120_000)

  it('Redis frozen with a batch on the wire, then killed: that batch is in doubt; the rerun looks for it in the target and lands each message once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-freeze-'))
    const port = await freePort()
    const server = await startRedis(port, dir)
    procs.push(server)
    const {Redis} = await import('ioredis')
    const client = new Redis({port, host: '127.0.0.1', retryStrategy: () => null})
    client.on('error', () => undefined)
    await client.xadd('orders', '*', 'init', '1')
    client.disconnect()

    const payloads: Buffer[] = []
    const lines: string[] = []
    for (let i = 0; i < 10_000; i++) {
      const payload = Buffer.from(`{"order":${i}}`)
      payloads.push(payload)
      lines.push(JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'timeout', attempts: 1, payload: payload.toString('base64'), source: {topic: 'orders', partition: 0, offset: i}}))
    }
    const src = join(dir, 'dlq.ndjson')
    writeFileSync(src, lines.join('\n') + '\n')
    const ledger = join(dir, 'dlq-replay-ledger.ndjson')
    const args = ['replay', src, '--all', '--sink', `redis://127.0.0.1:${port}`, '--yes']

    // Paced so the store stops mid-way; frozen the moment the next batch's claim is in the
    // ledger (its send comes after that line and its fsync), so the send is written to a server
    // that does not answer; killed then, so the connection drops with the send unanswered: its
    // fate is unknown to dlq (Redis may or may not have run it) — in doubt, never "not sent".
    const first = dlqJsonAsync([...args, '--rate', '2500'])
    const deadline = Date.now() + 60_000
    while (ledgerDone(ledger) < 2500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    waitForNextClaim(ledger)
    server.kill('SIGSTOP')
    await new Promise((r) => setTimeout(r, 300))
    server.kill('SIGKILL')
    const broken = await first
    expect(broken.code, broken.stderr).toBe(1)
    const count = (j: any, outcome: string, reason: string | null) => j.items.filter((i: any) => i.outcome === outcome && i.reason === reason).length
    expect(broken.json.replayed).toBeGreaterThan(0)
    expect(count(broken.json, 'failed', 'in_doubt'), JSON.stringify(broken.json.items.find((i: any) => i.outcome === 'failed'))).toBeGreaterThan(0)
    expect(broken.json.replayed + broken.json.failed).toBe(10_000)

    procs.push(await startRedis(port, dir))
    const second = await dlqJsonAsync(args)
    expect(second.code, second.stderr).toBe(0)
    expect(second.json.failed).toBe(0)
    // The doubts were looked for in the target (found: skipped; absent: sent), everything else sent.
    expect(count(second.json, 'skipped', 'already_replayed') + count(second.json, 'replayed', null)).toBe(10_000)
    expect(count(second.json, 'skipped', 'already_replayed')).toBeGreaterThanOrEqual(broken.json.replayed)
    const tally = (j: any) => j.items.reduce((m: Record<string, number>, i: any) => ((m[`${i.outcome}:${i.reason}`] = (m[`${i.outcome}:${i.reason}`] ?? 0) + 1), m), {})
    console.log('frozen, then killed:', tally(broken.json), 'second run:', tally(second.json))

    await expectEachOnce(port, payloads)
  }, 120_000)

  it('a server without scripting gets plain pipelined XADDs: everything lands, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-noscript-'))
    const port = await freePort()
    procs.push(await startRedis(port, dir, ['--rename-command', 'EVAL', '', '--rename-command', 'EVALSHA', '']))
    const {Redis} = await import('ioredis')
    const client = new Redis({port, host: '127.0.0.1'})
    await client.xadd('orders', '*', 'init', '1')
    const n = 5000
    const lines = Array.from({length: n}, (_, i) => JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'r', attempts: 1, payload: Buffer.from(`{"order":${i}}`).toString('base64'), source: {topic: 'orders', partition: 0, offset: i}}))
    const src = join(dir, 'dlq.ndjson')
    writeFileSync(src, lines.join('\n') + '\n')
    const r = await dlqJsonAsync(['replay', src, '--all', '--sink', `redis://127.0.0.1:${port}`, '--yes'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.replayed).toBe(n)
    const entries = (await client.xrangeBuffer('orders', '-', '+')) as unknown as Array<[Buffer, Buffer[]]>
    client.disconnect()
    // hyperi entries go back in the layout hyperi's transport reads: one field, payload.
    const values = entries.slice(1).map(([, f]) => JSON.parse(f[f.findIndex((x) => x.toString() === 'payload') + 1].toString()).order)
    expect(values).toEqual([...Array(n).keys()])
    expect(r.json.items.map((i: any) => i.target.offset)).toEqual(entries.slice(1).map(([id]) => id.toString()))
  })

  it('a claim left by a crash is resolved by looking in the target: found → not sent again, absent → sent', async () => {
    const {Redis} = await import('ioredis')
    const c = new Redis(redis.address)
    const prefix = `${uniqueName('doubt')}:`
    const mark = await c.xadd(`${prefix}orders`, '*', 'init', '1')
    const dir = mkdtempSync(join(tmpdir(), 'dlq-doubt-'))
    const src = join(dir, 'dlq.ndjson')
    const entry = (i: number) => JSON.stringify({timestamp: 1_764_000_000_000, service: 's', reason: 'r', attempts: 0, payload: Buffer.from(`p${i}`).toString('base64'), source: {topic: 'orders', partition: 0, offset: i}})
    writeFileSync(src, [entry(0), entry(1)].join('\n') + '\n')
    // A crashed run claimed both; it had sent message 0 (in dlq's layout) but not message 1.
    await c.xadd(`${prefix}orders`, '*', '_dlq', '1', 'value', 'p0')
    // The ledger names messages by identity: the key of entry i is that of its line. A claim
    // names the stream really written (behind ?prefix=, the prefixed one; a bare name stays in
    // doubt: file-to-redis.test.ts).
    const claim = (i: number) => JSON.stringify({op: 'claim', position: fileLedgerKey(entry(i)), runId: 'crashed', target: {topic: `${prefix}orders`, partition: null}, mark, at: '2026-11-23T00:00:00.000Z'})
    writeFileSync(join(dir, 'dlq-replay-ledger.ndjson'), `${claim(0)}\n${claim(1)}\n`)
    const sink = `${redis.address}?prefix=${encodeURIComponent(prefix)}`
    const plan = dlqJson(['replay', src, '--offset', '0', '--offset', '1', '--sink', sink, '--dry-run']).json
    expect(plan.items.map((i: any) => i.reason)).toEqual(['in_doubt', 'in_doubt'])
    const r = dlqJson(['replay', src, '--offset', '0', '--offset', '1', '--sink', sink, '--yes'])
    expect(r.code).toBe(0)
    expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'skipped', 'already_replayed'],
      ['1', 'replayed', null],
    ])
    expect(await c.xlen(`${prefix}orders`)).toBe(3)
    const again = dlqJson(['replay', src, '--offset', '0', '--offset', '1', '--sink', sink, '--yes'])
    expect(again.json.items.every((i: any) => i.reason === 'already_replayed')).toBe(true)
    await c.del(`${prefix}orders`)
    c.disconnect()
  })

  it('a Redis DLQ keeps its ledger in a hash beside the stream and replays to its own server', async () => {
    const {Redis} = await import('ioredis')
    const c = new Redis(redis.address)
    const dlqKey = uniqueName('dlq')
    const target = uniqueName('orders')
    await c.xadd(target, '*', 'init', '1')
    for (let i = 0; i < 3; i++) await c.xadd(dlqKey, '*', '_dlq', '1', 'value', `m${i}`, 'headers', JSON.stringify([['stroma.dlq.source_topic', target], ['stroma.dlq.reason', 'boom'], ['trace', `t${i}`]]))
    const src = `${redis.address}/0/${encodeURIComponent(dlqKey)}`
    const positions = dlqJson(['inspect', src]).json.items.map((m: any) => m.position)
    const first = dlqJson(['replay', src, ...positions.flatMap((p: string) => ['--offset', p]), '--yes'])
    expect(first.code).toBe(0)
    expect(first.json.replayed).toBe(3)
    expect(await c.hlen(`${dlqKey}:dlq-replay-ledger`)).toBe(3)
    const second = dlqJson(['replay', src, '--offset', positions[0], '--yes'])
    expect(second.json.items[0].reason).toBe('already_replayed')
    const landed = dlqJson(['inspect', `${redis.address}/0/${encodeURIComponent(target)}`]).json.items.slice(1)
    expect(landed.map((m: any) => [m.payload.text, m.headers])).toEqual([0, 1, 2].map((i) => [`m${i}`, {trace: `t${i}`}]))
    await c.del(dlqKey, target, `${dlqKey}:dlq-replay-ledger`)
    c.disconnect()
  })
})
