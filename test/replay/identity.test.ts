import {mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlqJson} from '../helpers/cli.js'
import {fileLedgerKey} from '../helpers/ledger.js'
import {needService, uniqueName} from '../helpers/services.js'
import {closeRedisSpace, emptyStream, openRedisSpace} from '../helpers/redis-space.js'

// Issue 11.1: the ledger remembers MESSAGES, not positions. A position can come to name another
// message (the writer deleted its oldest rotated files; a topic or stream was deleted and
// recreated); a replay must then neither send a replayed message again nor skip a new one.
const redis = await needService('redis')
const kafka = await needService('kafka')

const entry = (n: number) =>
  JSON.stringify({timestamp: 1_764_000_000_000 + n, service: 'svc', reason: 'parse_error', attempts: 1, payload: Buffer.from(`{"n":${n}}`).toString('base64'), source: {topic: 'orders', partition: 0, offset: n}})

describe.runIf(redis.available)('replay ledger keyed by message identity: files and Redis', () => {
  let client: import('ioredis').Redis
  let prefix: string
  let sink: string
  beforeAll(async () => {
    ;({client, prefix, sink} = await openRedisSpace(redis.address, 'ident'))
    await emptyStream(client, `${prefix}orders`)
  })
  afterAll(() => closeRedisSpace(client, prefix))
  const landed = async () => {
    const entries = (await client.xrange(`${prefix}orders`, '-', '+')) as Array<[string, string[]]>
    // hyperi entries go back as one field `payload`, others in dlq's own layout (`value`).
    return entries.map(([, f]) => JSON.parse(f[Math.max(f.indexOf('value'), f.indexOf('payload')) + 1]).n as number)
  }

  it("a cleanup of the oldest rotated file between two replays sends nothing twice and skips nothing new", async () => {
    // A hyperi-rustlib directory: two rotated files of 3 entries, then the live file.
    const dir = mkdtempSync(join(tmpdir(), 'dlq-ident-'))
    writeFileSync(join(dir, 'dlq.ndjson.20261128T100000'), [0, 1, 2].map(entry).join('\n') + '\n')
    writeFileSync(join(dir, 'dlq.ndjson.20261129T100000'), [3, 4, 5].map(entry).join('\n') + '\n')
    writeFileSync(join(dir, 'dlq.ndjson'), [6, 7].map(entry).join('\n') + '\n')
    const first = dlqJson(['replay', dir, '--offset', '5', '--sink', sink, '--yes'])
    expect([first.code, first.json.replayed]).toEqual([0, 1])
    expect(await landed()).toEqual([5])

    // max_age_days deletes the oldest rotated file: every record number moves down by 3.
    rmSync(join(dir, 'dlq.ndjson.20261128T100000'))
    const shifted = dlqJson(['inspect', dir, '--limit', '10']).json.items.map((m: any) => JSON.parse(m.payload.text).n)
    expect(shifted).toEqual([3, 4, 5, 6, 7])
    // Message 5 is now at position 2: already replayed. Position 0 (message 3) never was: replayed.
    const again = dlqJson(['replay', dir, '--offset', '2', '--offset', '0', '--sink', sink, '--yes'])
    expect(again.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'replayed', null],
      ['2', 'skipped', 'already_replayed'],
    ])
    expect(again.code).toBe(0)
    expect(await landed()).toEqual([5, 3])
  })

  it('a rotation between inspect and replay: the position printed still replays that message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-ident-rot-'))
    writeFileSync(join(dir, 'dlq.ndjson.20261129T100000'), [10, 11].map(entry).join('\n') + '\n')
    writeFileSync(join(dir, 'dlq.ndjson'), [12, 13].map(entry).join('\n') + '\n')
    const seen = dlqJson(['inspect', dir, '--limit', '10']).json.items.find((m: any) => JSON.parse(m.payload.text).n === 13).position
    // The writer rotates: the live file gets a rotated name, a new live file starts.
    renameSync(join(dir, 'dlq.ndjson'), join(dir, 'dlq.ndjson.20261130T100000'))
    writeFileSync(join(dir, 'dlq.ndjson'), entry(14) + '\n')
    const r = dlqJson(['replay', dir, '--offset', seen, '--sink', sink, '--yes'])
    expect([r.code, r.json.replayed]).toEqual([0, 1])
    expect((await landed()).at(-1)).toBe(13)
  })

  it("a claim in doubt recorded by a Kafka sink does not block a replay to Redis (marks belong to their sink)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-ident-marks-'))
    const src = join(dir, 'dlq.ndjson')
    writeFileSync(src, [entry(20), entry(21)].join('\n') + '\n')
    const claim = JSON.stringify({op: 'claim', position: fileLedgerKey(entry(20)), runId: 'crashed', target: {topic: 'orders', partition: 0}, mark: JSON.stringify({0: 17}), at: '2026-11-23T00:00:00.000Z'})
    // dlq.ndjson is a hyperi service directory's live file: the ledger is the directory's.
    writeFileSync(join(dir, 'dlq-replay-ledger.ndjson'), claim + '\n')
    const r = dlqJson(['replay', src, '--offset', '0', '--offset', '1', '--sink', sink, '--yes'])
    expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'skipped', 'in_doubt'],
      ['1', 'replayed', null],
    ])
    expect(r.code).toBe(1)
    expect((await landed()).at(-1)).toBe(21)
  })

  it('Ctrl-C stops between batches, prints what was sent and how to continue, exits 130; the rerun sends the rest once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-ident-int-'))
    const src = join(dir, 'dlq.ndjson')
    // More than the file reader's 1 MiB chunk: the interruption comes while the selection is being read.
    const n = 10_000
    writeFileSync(src, Array.from({length: n}, (_, i) => entry(1000 + i)).join('\n') + '\n')
    const before = (await landed()).length
    const {spawn} = await import('node:child_process')
    const {BIN} = await import('../helpers/cli.js')
    const run = spawn(process.execPath, [BIN, 'replay', src, '--all', '--sink', sink, '--yes', '--rate', '20'], {stdio: ['ignore', 'pipe', 'pipe']})
    let err = ''
    run.stderr.on('data', (d) => (err += d))
    // Interrupt once some messages have landed.
    for (let i = 0; i < 100 && (await landed()).length - before < 10; i++) await new Promise((r) => setTimeout(r, 100))
    run.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => run.on('close', resolve))
    expect(code).toBe(130)
    const m = err.match(/interrupted: (\d+) replayed, (\d+) not attempted, and the selection was not read past position (\d+); run the same command again/)
    expect(m, err).not.toBeNull()
    // The counts are of what was read, up to the position named: the rest was neither read nor counted.
    expect(Number(m![1]) + Number(m![2])).toBe(Number(m![3]) + 1)
    expect(Number(m![3])).toBeLessThan(n - 1)
    expect(Number(m![2])).toBeGreaterThan(0)
    const rest = dlqJson(['replay', src, '--all', '--sink', sink, '--yes'])
    expect(rest.code).toBe(0)
    const sent = (await landed()).slice(before)
    expect(sent).toEqual(Array.from({length: n}, (_, i) => 1000 + i))
  })

  it('never replays a stream into itself, even with --to (its name comes from the reader)', async () => {
    const stream = uniqueName('ident-self')
    const src = `${redis.address}/0/${encodeURIComponent(stream)}`
    try {
      await client.xadd(stream, '*', '_dlq', '1', 'value', '{"n":1}')
      const id = dlqJson(['inspect', src]).json.items[0].position
      const r = dlqJson(['replay', src, '--offset', id, '--to', stream, '--yes', '--dry-run'])
      expect(r.json.items.map((i: any) => i.reason)).toEqual(['protected_target'])
    } finally {
      await client.del(stream)
    }
  })

  it('a stream deleted and recreated with the same entry ids is a new log: its entries are replayed', async () => {
    const stream = `${uniqueName('ident-dlq')}`
    const src = `${redis.address}/0/${encodeURIComponent(stream)}`
    const fibril = (n: number) => ['_dlq', '1', 'value', JSON.stringify({n}), 'headers', JSON.stringify([['stroma.dlq.source_topic', 'orders'], ['stroma.dlq.reason', 'boom']])]
    try {
      await client.xadd(stream, '1764000000000-1', ...fibril(100))
      const first = dlqJson(['replay', src, '--offset', '1764000000000-1', '--sink', sink, '--yes'])
      expect([first.code, first.json.replayed]).toEqual([0, 1])
      await client.del(stream)
      await client.xadd(stream, '1764000000000-1', ...fibril(101))
      const second = dlqJson(['replay', src, '--offset', '1764000000000-1', '--sink', sink, '--yes'])
      expect(second.json.items.map((i: any) => [i.outcome, i.reason])).toEqual([['replayed', null]])
      const third = dlqJson(['replay', src, '--offset', '1764000000000-1', '--sink', sink, '--yes'])
      expect(third.json.items.map((i: any) => i.reason)).toEqual(['already_replayed'])
      expect((await landed()).slice(-2)).toEqual([100, 101])
    } finally {
      await client.del(stream, `${stream}:dlq-replay-ledger`)
    }
  })
})

describe.runIf(kafka.available)('replay ledger keyed by message identity: Kafka', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())

  it('a DLQ topic deleted and recreated (a new topic id) keeps no old ledger entries: new records at old offsets are replayed', async () => {
    const target = await fx.topic('ident-target', 1)
    const name = uniqueName('ident-dlq')
    const src = `${KAFKA_URI}/${name}`
    const headers: Array<[string, string]> = [
      ['stroma.dlq.source_topic', target],
      ['stroma.dlq.reason', 'boom'],
    ]
    const create = async () => {
      await fx.admin.createTopics({topics: [name], partitions: 1, replicas: 1})
      for (let i = 0; i < 100; i++) {
        const md = await fx.admin.metadata({topics: [name], forceUpdate: true}).catch(() => null)
        if (md && md.topics.get(name)?.partitions.every((p) => p.leader >= 0)) return
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    await create()
    try {
      await fx.produce(name, [{value: 'old', headers}])
      const first = dlqJson(['replay', src, '--offset', '0:0', '--yes'])
      expect([first.code, first.json.replayed]).toEqual([0, 1])
      expect(dlqJson(['replay', src, '--offset', '0:0', '--yes']).json.items[0].reason).toBe('already_replayed')

      await fx.admin.deleteTopics({topics: [name]})
      for (let i = 0; i < 100 && (await fx.admin.metadata({topics: [name], forceUpdate: true}).catch(() => null))?.topics.has(name); i++) await new Promise((r) => setTimeout(r, 100))
      for (let i = 0; ; i++) {
        try {
          await create()
          break
        } catch (error) {
          if (i > 50) throw error
          await new Promise((r) => setTimeout(r, 200))
        }
      }
      await fx.produce(name, [{value: 'new', headers}])
      const second = dlqJson(['replay', src, '--offset', '0:0', '--yes'])
      expect(second.json.items.map((i: any) => [i.outcome, i.reason])).toEqual([['replayed', null]])
      const landed = dlqJson(['inspect', `${KAFKA_URI}/${target}`, '--limit', '10']).json.items.map((m: any) => m.payload.text)
      expect(landed).toEqual(['old', 'new'])
    } finally {
      await fx.admin.deleteTopics({topics: [name, `${name}.dlq-replay-ledger`]}).catch(() => {})
    }
  })
})
