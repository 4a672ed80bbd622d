import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, dlq, dlqJson} from '../helpers/cli.js'
import {needService} from '../helpers/services.js'
import {closeRedisSpace, openRedisSpace} from '../helpers/redis-space.js'
import {expectSchema} from '../helpers/schema.js'
import {ledgerDone} from '../helpers/ledger.js'

const redis = await needService('redis')

/** More than two plan windows (10,000 records each), so windows, batches and in-flight sends meet. */
const N = 25_003

describe.runIf(redis.available)('replay of a large selection: plan, results and output streamed', () => {
  let client: import('ioredis').Redis
  let dir: string
  let src: string
  let prefix: string
  let sink: string
  beforeAll(async () => {
    ;({client, prefix, sink} = await openRedisSpace(redis.address, 'st'))
    dir = mkdtempSync(join(tmpdir(), 'dlq-stream-'))
    await client.xadd(`${prefix}orders`, '*', 'init', '1')
    const lines: string[] = []
    for (let i = 0; i < N; i++) {
      // Every 1000th entry has no source: a skip in the middle of sends keeps its place in the order.
      const source = i % 1000 === 7 ? undefined : {topic: 'orders', partition: i % 3, offset: i}
      lines.push(JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: i % 2 ? 'timeout' : 'parse_error', attempts: 1, payload: Buffer.from(`{"n":${i}}`).toString('base64'), source}))
    }
    src = join(dir, 'dlq.ndjson')
    writeFileSync(src, lines.join('\n') + '\n')
  })
  afterAll(() => closeRedisSpace(client, prefix))

  it('Ctrl-C during --dry-run --json closes the document with the error (valid JSON, exit 130)', async () => {
    // Long enough to be interrupted while planning: the records above, eight times over.
    const many = join(dir, 'many.ndjson')
    const text = readFileSync(src, 'utf8')
    writeFileSync(many, text.repeat(8))
    const child = spawn(process.execPath, [BIN, 'replay', many, '--all', '--sink', sink, '--dry-run', '--json'], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    // 'close', not 'exit': the child's output may still be on its way when it has exited.
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    for (const until = Date.now() + 30_000; Date.now() < until && out.length < 10_000; ) await new Promise((r) => setTimeout(r, 5))
    // A reader slower than dlq (a loaded CI machine, a pipe into a slow consumer): what dlq
    // wrote last, the end of the document with the error, was still queued when it exited.
    child.stdout.pause()
    child.kill('SIGINT')
    await new Promise((r) => setTimeout(r, 1000))
    child.stdout.resume()
    expect(await exited).toBe(130)
    const doc = JSON.parse(out)
    expect(doc.error).toMatchObject({code: 'cancelled', exitCode: 130})
    expect(doc.items.length).toBeGreaterThan(0)
    expect(doc.items.length).toBeLessThan(8 * N)
  })

  it('--dry-run --json lists every position in order with the summary after them; a table shows 200 rows and the summary', () => {
    const plan = dlqJson(['replay', src, '--all', '--sink', sink, '--dry-run'])
    // Messages without a source would be skipped (no_source): the replay would exit 1, so does its dry run.
    expect(plan.code).toBe(1)
    expectSchema('replay-plan', plan.json)
    expect(plan.json.items).toHaveLength(N)
    expect(plan.json.items.every((it: any, i: number) => it.position === String(i))).toBe(true)
    const noSource = Math.floor((N - 8) / 1000) + 1
    expect(plan.json.summary).toMatchObject({send: N - noSource, skip: noSource, skipped: {no_source: noSource}})

    const table = dlq(['replay', src, '--all', '--sink', sink, '--dry-run'])
    expect(table.code).toBe(1)
    const row = /^\d+ +(send|skip) /
    const rows = table.stdout.split('\n').filter((l) => row.test(l))
    expect(rows).toHaveLength(200)
    expect(table.stdout).toContain(`… ${N - 200} more positions not listed (--rows all`)
    expect(table.stdout).toMatch(new RegExp(`Replay ${N - noSource} messages from .* to `))
    expect(table.stdout.trimEnd().endsWith('Dry run: nothing was sent.')).toBe(true)

    const all = dlq(['replay', src, '--all', '--filter', 'reason=timeout', '--sink', sink, '--dry-run', '--rows', 'all'])
    expect(all.stdout.split('\n').filter((l) => row.test(l))).toHaveLength(Math.floor(N / 2))
    expect(dlq(['replay', src, '--all', '--sink', sink, '--dry-run', '--rows', 'many']).code).toBe(2)
  })

  it('replays in DLQ order with results in plan order, then a second run skips everything', async () => {
    const ledger = join(dir, 'ledger.ndjson')
    const first = dlqJson(['replay', src, '--all', '--sink', sink, '--ledger', ledger, '--yes'])
    // Exit 1: the entries without a source cannot be replayed (everything else was).
    expect(first.code, first.stderr).toBe(1)
    expectSchema('replay-result', first.json)
    const noSource = Math.floor((N - 8) / 1000) + 1
    expect(first.json).toMatchObject({requested: N, replayed: N - noSource, skipped: noSource, failed: 0})
    expect(first.json.items.every((it: any, i: number) => it.position === String(i))).toBe(true)
    const ids = first.json.items.filter((i: any) => i.outcome === 'replayed').map((i: any) => i.target.offset)
    const entries = (await client.xrangeBuffer(`${prefix}orders`, '-', '+')) as unknown as Array<[Buffer, Buffer[]]>
    const landed = entries.slice(1)
    expect(landed.map(([id]) => id.toString())).toEqual(ids)
    // DLQ order: each message lands after the one before it (hyperi entries go back as one field `payload`).
    const values = landed.map(([, f]) => JSON.parse(f[f.findIndex((x) => x.toString() === 'payload') + 1].toString()).n)
    expect(values).toEqual([...Array(N).keys()].filter((i) => i % 1000 !== 7))
    expect(ledgerDone(ledger)).toBe(N - noSource)
    expect(ledgerDone(ledger, 'sources')).toBe(N - noSource)

    const second = dlq(['replay', src, '--all', '--sink', sink, '--ledger', ledger, '--yes'])
    expect(second.code).toBe(1)
    expect(second.stdout).toContain(`${N} requested: 0 replayed, ${N} skipped, 0 failed`)
    expect(await client.xlen(`${prefix}orders`)).toBe(N - noSource + 1)
  })

  it('two pipelined replays of the whole selection at once send each message once', async () => {
    const ledger = join(dir, 'ledger-race.ndjson')
    const stream = `${prefix}race`
    await client.xadd(stream, '*', 'init', '1')
    const run = () =>
      new Promise<{code: number; json: any}>((resolve) => {
        const p = spawn(process.execPath, [BIN, 'replay', src, '--all', '--to', 'race', '--sink', sink, '--ledger', ledger, '--yes', '--json'], {stdio: ['ignore', 'pipe', 'pipe']})
        let out = ''
        p.stdout.on('data', (d) => (out += d))
        p.on('close', (code) => resolve({code: code ?? -1, json: JSON.parse(out)}))
      })
    const [a, b] = await Promise.all([run(), run()])
    // A message the other replay claimed is in_progress there (its send may be on the wire), never sent twice.
    for (const r of [a, b]) expect([0, 1]).toContain(r.code)
    for (const r of [a, b]) for (const i of r.json.items.filter((x: any) => x.outcome !== 'replayed')) expect(['in_progress', 'already_replayed']).toContain(i.reason)
    // Every position is replayed by exactly one of the two; the other skips it.
    expect(a.json.replayed + b.json.replayed).toBe(N)
    const byA = new Set(a.json.items.filter((i: any) => i.outcome === 'replayed').map((i: any) => i.position))
    expect(b.json.items.filter((i: any) => i.outcome === 'replayed' && byA.has(i.position))).toEqual([])
    expect(await client.xlen(stream)).toBe(N + 1)
  })
})
