import {spawn} from 'node:child_process'
import {cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {needService, uniqueName} from '../helpers/services.js'
import {closeRedisSpace, emptyStream, openRedisSpace} from '../helpers/redis-space.js'
import {expectSchema} from '../helpers/schema.js'
import {fileLedgerKey, fileSourceKey} from '../helpers/ledger.js'

const redis = await needService('redis')

describe.runIf(redis.available)('replay: file DLQ → Redis', () => {
  let client: import('ioredis').Redis
  let dir: string
  let prefix: string
  let sink: string
  beforeAll(async () => {
    ;({client, prefix, sink} = await openRedisSpace(redis.address, 'rp'))
    dir = mkdtempSync(join(tmpdir(), 'dlq-replay-'))
    // Targets must exist: replay never creates a topic or stream by accident.
    for (const t of ['orders', 'payments', 'inventory', 'shipments', 'prices', 'jobs', 'clicks', 'notifications', 'manual']) {
      await emptyStream(client, `${prefix}${t}`)
    }
  })
  afterAll(() => closeRedisSpace(client, prefix))

  const copy = (name: string) => {
    const p = join(dir, `${uniqueName('dlq')}-${name}`)
    writeFileSync(p, readFileSync(join(FIXTURES, name)))
    return p
  }
  const readStream = async (topic: string) => dlqJson(['inspect', `${redis.address}/0/${encodeURIComponent(prefix + topic)}`, '--limit', '100']).json.items

  it('a claim in doubt for the bare name is not taken for the prefixed stream: it was sent without the prefix, so it stays in doubt', async () => {
    await emptyStream(client, `${prefix}bare`)
    const line = JSON.stringify({timestamp: 1_764_000_000_000, service: 's', reason: 'r', attempts: 1, payload: Buffer.from('{"bare":1}').toString('base64'), source: {topic: 'bare', partition: 0, offset: 1}})
    const src = join(dir, `${uniqueName('dlq')}-bare.ndjson`)
    writeFileSync(src, line + '\n')
    // A crashed run that replayed to "bare" through a sink without the prefix: claimed, never confirmed.
    const claim = {op: 'claim', position: fileLedgerKey(line), runId: 'crashed', target: {topic: 'bare', partition: null}, mark: null, at: '2026-11-23T00:00:00.000Z'}
    writeFileSync(`${src}.replay-ledger.ndjson`, JSON.stringify(claim) + '\n')
    const r = dlqJson(['replay', src, '--all', '--sink', sink, '--yes'])
    expect(r.json.items.map((i: any) => [i.outcome, i.reason])).toEqual([['skipped', 'in_doubt']])
    expect(await client.xlen(`${prefix}bare`)).toBe(0)
  })

  it('one source message dead-lettered twice is sent once; another message at the same coordinates is not a copy', async () => {
    await emptyStream(client, `${prefix}twice`)
    const at = (ms: number, payload: string, source: object) =>
      JSON.stringify({timestamp: ms, service: 's', reason: 'r', attempts: 1, payload: Buffer.from(payload).toString('base64'), source})
    const src = join(dir, `${uniqueName('dlq')}-twice.ndjson`)
    const orders5 = {topic: 'twice', partition: 0, offset: 5}
    writeFileSync(src, [
      at(1_764_000_000_000, '{"n":5}', orders5),
      at(1_764_000_000_000, '{"other":1}', {topic: 'twice', partition: 0, offset: 6}),
      // dead-lettered again a minute later: another entry, the same source message
      at(1_764_000_060_000, '{"n":5}', orders5),
      // the same coordinates with other bytes: another message (a source topic recreated)
      at(1_764_000_120_000, '{"n":"recreated"}', orders5),
    ].join('\n') + '\n')
    const r = dlqJson(['replay', src, '--all', '--sink', sink, '--yes'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.items.map((i: any) => [i.position, i.outcome])).toEqual([['0', 'replayed'], ['1', 'replayed'], ['2', 'skipped'], ['3', 'replayed']])
    expect(r.json.items[2].reason).toBe('already_replayed')
    expect(r.json.items[2].error).toMatch(/^the same source message as position 0 \("twice" partition 0 offset 5/)
    const sent = ((await client.xrangeBuffer(`${prefix}twice`, '-', '+')) as Array<[Buffer, Buffer[]]>).map(([, f]) => f[f.length - 1].toString())
    expect(sent).toEqual(['{"n":5}', '{"other":1}', '{"n":"recreated"}'])
    // Run again: the first is in the ledger, its copy follows it.
    const again = dlqJson(['replay', src, '--all', '--sink', sink, '--yes'])
    expect(again.json.replayed).toBe(0)
    expect(await client.xlen(`${prefix}twice`)).toBe(3)
  })

  it('a copy asked for alone, in a later run than its first copy, is already replayed (the ledger knows the source message)', async () => {
    await emptyStream(client, `${prefix}later`)
    const at = (ms: number, payload: string, offset: number) =>
      JSON.stringify({timestamp: ms, service: 's', reason: `r${ms}`, attempts: 1, payload: Buffer.from(payload).toString('base64'), source: {topic: 'later', partition: 2, offset}})
    const src = join(dir, `${uniqueName('dlq')}-later.ndjson`)
    writeFileSync(src, [at(1_764_000_000_000, '{"n":1}', 9), at(1_764_000_000_001, '{"n":2}', 10), at(1_764_000_060_000, '{"n":1}', 9), at(1_764_000_090_000, '{"n":"other bytes"}', 9)].join('\n') + '\n')
    expect(dlqJson(['replay', src, '--offset', '0', '--sink', sink, '--yes']).json.replayed).toBe(1)
    // Monday's replay sent the first copy; Tuesday's asks for the second alone: nothing is sent.
    const copy = dlqJson(['replay', src, '--offset', '2', '--sink', sink, '--yes'])
    expect(copy.code, copy.stderr).toBe(0)
    expect(copy.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([['2', 'skipped', 'already_replayed']])
    expect(copy.json.items[0].error).toMatch(/^the same source message \("later" partition 2 offset 9, same key and payload: the writer dead-lettered it more than once\) was replayed to /)
    // Its dry run says so too, and so does a run of everything: only the two other messages go.
    expect(dlqJson(['replay', src, '--offset', '2', '--sink', sink, '--dry-run']).json.items[0].reason).toBe('already_replayed')
    const all = dlqJson(['replay', src, '--all', '--sink', sink, '--yes'])
    expect(all.json.items.map((i: any) => [i.position, i.outcome])).toEqual([['0', 'skipped'], ['1', 'replayed'], ['2', 'skipped'], ['3', 'replayed']])
    const sent = ((await client.xrangeBuffer(`${prefix}later`, '-', '+')) as Array<[Buffer, Buffer[]]>).map(([, f]) => f[f.length - 1].toString())
    expect(sent).toEqual(['{"n":1}', '{"n":2}', '{"n":"other bytes"}'])
    // --force sends the copy again, as it does any message already replayed.
    expect(dlqJson(['replay', src, '--offset', '2', '--sink', sink, '--yes', '--force']).json.replayed).toBe(1)
    expect(await client.xlen(`${prefix}later`)).toBe(4)
  })

  it('a copy 7,000 records after its first copy, in the same run, is not sent again (the ledger has let the first go by then)', async () => {
    await emptyStream(client, `${prefix}far`)
    const at = (i: number, payload: string, offset: number) =>
      JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'r', attempts: 1, payload: Buffer.from(payload).toString('base64'), source: {topic: 'far', partition: 1, offset}})
    const lines = [at(0, '{"first":true}', 1)]
    for (let i = 1; i <= 7000; i++) lines.push(at(i, `{"n":${i}}`, 1000 + i))
    lines.push(at(7001, '{"first":true}', 1))
    const src = join(dir, `${uniqueName('dlq')}-far.ndjson`)
    writeFileSync(src, lines.join('\n') + '\n')
    const r = dlqJson(['replay', src, '--all', '--sink', sink, '--yes'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.replayed).toBe(7001)
    const last = r.json.items[7001]
    expect([last.position, last.outcome, last.reason]).toEqual(['7001', 'skipped', 'already_replayed'])
    expect(last.error).toMatch(/^the same source message as position 0 /)
    expect(await client.xlen(`${prefix}far`)).toBe(7001)
  })

  it('a copy whose source message a crashed replay claimed is looked for in the target first, then sent only if it is not there', async () => {
    for (const [landed, expected] of [[true, [['1', 'skipped', 'already_replayed']]], [false, [['1', 'replayed', null]]]] as const) {
      const topic = `crashed-${landed}`
      const line = (ms: number, offset: number) =>
        JSON.stringify({timestamp: ms, service: 's', reason: `r${ms}`, attempts: 1, payload: Buffer.from(`{"crash":${offset}}`).toString('base64'), source: {topic, partition: 0, offset}})
      await emptyStream(client, prefix + topic)
      const src = join(dir, `${uniqueName('dlq')}-crash.ndjson`)
      // Record 0 was being replayed by a run that died after its claim; record 1 is its copy.
      writeFileSync(src, [line(1_764_000_000_000, 3), line(1_764_000_060_000, 3)].join('\n') + '\n')
      const claim = (position: string) => ({op: 'claim', position, runId: 'otherhost/1/crashed', target: {topic: prefix + topic, partition: null}, mark: null, at: '2026-11-23T00:00:00.000Z'})
      writeFileSync(`${src}.replay-ledger.ndjson`, [claim(fileLedgerKey(line(1_764_000_000_000, 3))), claim(fileSourceKey(line(1_764_000_000_000, 3))!)].map((c) => JSON.stringify(c)).join('\n') + '\n')
      if (landed) await client.xadd(prefix + topic, '*', 'payload', '{"crash":3}')
      const r = dlqJson(['replay', src, '--offset', '1', '--sink', sink, '--yes'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual(expected)
      expect(await client.xlen(prefix + topic)).toBe(1)
      // Settled either way: the first copy is now known as replayed too (its own claim is never looked for).
      const first = dlqJson(['replay', src, '--offset', '0', '--sink', sink, '--yes']).json.items[0]
      expect([first.reason, first.error]).toEqual(['already_replayed', expect.stringMatching(/^the same source message \("crashed-(true|false)" partition 0 offset 3/)])
      expect(await client.xlen(prefix + topic)).toBe(1)
    }
  })

  it('a record whose own claim and its source message\'s are two crashed replays\' is left in doubt, not looked for', async () => {
    const topic = 'two-claims'
    await emptyStream(client, prefix + topic)
    const line = (ms: number) => JSON.stringify({timestamp: ms, service: 's', reason: 'r', attempts: 1, payload: Buffer.from('{"two":1}').toString('base64'), source: {topic, partition: 0, offset: 4}})
    const src = join(dir, `${uniqueName('dlq')}-two.ndjson`)
    writeFileSync(src, [line(1_764_000_000_000), line(1_764_000_060_000)].join('\n') + '\n')
    const claim = (position: string, runId: string) => ({op: 'claim', position, runId, target: {topic: prefix + topic, partition: null}, mark: null, at: '2026-11-23T00:00:00.000Z'})
    // Run A claimed record 1 itself; run B claimed record 0, with the source message they share.
    writeFileSync(`${src}.replay-ledger.ndjson`, [claim(fileLedgerKey(line(1_764_000_060_000)), 'otherhost/1/a'), claim(fileLedgerKey(line(1_764_000_000_000)), 'otherhost/2/b'), claim(fileSourceKey(line(1_764_000_000_000))!, 'otherhost/2/b')].map((c) => JSON.stringify(c)).join('\n') + '\n')
    const r = dlqJson(['replay', src, '--offset', '1', '--sink', sink, '--yes'])
    expect(r.code).toBe(1)
    expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([['1', 'skipped', 'in_doubt']])
    expect(r.json.items[0].error).toMatch(/^two replays claimed it .* check the target, then --force$/)
    expect(await client.xlen(prefix + topic)).toBe(0)
  })

  it('two byte-identical entries are one message, sent once in one run as over two runs', async () => {
    // A stream of this test's own: hyperi entries go in as lone payload fields, which would
    // make a shared stream's layout "payload" for the tests after it.
    await emptyStream(client, `${prefix}dups`)
    const entry = (n: number) => JSON.stringify({timestamp: 1_764_000_000_000, service: 's', reason: 'r', attempts: 1, payload: Buffer.from(`{"dup":${n}}`).toString('base64'), source: {topic: 'dups', partition: 0, offset: 7}})
    const src = join(dir, `${uniqueName('dlq')}-dup.ndjson`)
    writeFileSync(src, [entry(1), entry(1), entry(2)].join('\n') + '\n')
    const before = await client.xlen(`${prefix}dups`)
    const r = dlqJson(['replay', src, '--all', '--sink', sink, '--yes'])
    expect(r.code).toBe(0)
    expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'replayed', null],
      ['1', 'skipped', 'already_replayed'],
      ['2', 'replayed', null],
    ])
    expect(r.json.items[1].error).toMatch(/the same message as position 0/)
    expect((await client.xlen(`${prefix}dups`)) - before).toBe(2)
    // Named one by one in one run: the same.
    const copy = join(dir, `${uniqueName('dlq')}-dup2.ndjson`)
    writeFileSync(copy, [entry(3), entry(3)].join('\n') + '\n')
    const both = dlqJson(['replay', copy, '--offset', '0', '--offset', '1', '--sink', sink, '--yes'])
    expect(both.json.items.map((i: any) => i.outcome)).toEqual(['replayed', 'skipped'])
    expect((await client.xlen(`${prefix}dups`)) - before).toBe(3)

    // In different plan windows (500 records), the first copy still unclaimed when the second is
    // planned (a skip earlier held its batch back): still one message, sent once.
    const far = join(dir, `${uniqueName('dlq')}-dup-far.ndjson`)
    const lines = [JSON.stringify({timestamp: 1_764_000_000_000, service: 's', reason: 'r', attempts: 1, payload: 'eA=='})]
    for (let i = 1; i < 1010; i++) lines.push(entry(i === 1000 ? 1001 : 1000 + i))
    writeFileSync(far, lines.join('\n') + '\n')
    const mid = await client.xlen(`${prefix}dups`)
    const f = dlqJson(['replay', far, '--all', '--sink', sink, '--yes'])
    const at = (p: string) => f.json.items.find((i: any) => i.position === p)
    expect([at('0').reason, at('1').outcome, at('1000').outcome, at('1000').reason]).toEqual(['no_source', 'replayed', 'skipped', 'already_replayed'])
    expect(at('1000').error).toMatch(/the same message as position 1 /)
    expect((await client.xlen(`${prefix}dups`)) - mid).toBe(1008)
  })

  it('--rate N paces the sends evenly: no second sees more than N and one small send', async () => {
    await emptyStream(client, `${prefix}paced`)
    const src = join(dir, `${uniqueName('dlq')}-rate.ndjson`)
    const n = 150
    writeFileSync(src, Array.from({length: n}, (_, i) => JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'r', attempts: 1, payload: Buffer.from(`{"n":${i}}`).toString('base64'), source: {topic: 'paced', partition: 0, offset: i}})).join('\n') + '\n')
    const before = await client.xlen(`${prefix}paced`)
    const r = dlqJson(['replay', src, '--all', '--sink', sink, '--rate', '50', '--yes'])
    expect([r.code, r.json.replayed]).toEqual([0, n])
    const ids = ((await client.xrange(`${prefix}paced`, '-', '+')) as Array<[string, string[]]>).slice(before).map(([id]) => Number(id.split('-')[0]))
    expect(ids).toHaveLength(n)
    // Redis stamps each entry with its own clock: count them in every 1 s window.
    let most = 0
    for (let i = 0, j = 0; i < ids.length; i++) {
      while (ids[i] - ids[j] >= 1000) j++
      most = Math.max(most, i - j + 1)
    }
    expect(most).toBeLessThanOrEqual(50 + Math.ceil(50 / 20))
    expect(ids.at(-1)! - ids[0]).toBeGreaterThanOrEqual(2500)
  })

  it('sends each convention’s exact bytes, key and user headers, with no metadata, and skips what has no source', async () => {
    const src = copy('conventions.ndjson')
    const before = dlqJson(['inspect', src, '--limit', '100']).json.items
    const {code, json} = dlqJson(['replay', src, ...before.map((m: any) => ['--offset', m.position]).flat(), '--sink', sink, '--yes'])
    // Not every requested message could be replayed (some have no source): not a success.
    expect(code).toBe(1)
    expectSchema('replay-result', json)
    const byPos = new Map(json.items.map((i: any) => [i.position, i]))
    for (const m of before) {
      const r: any = byPos.get(m.position)
      if (m.source.topic === null) {
        expect(r.outcome).toBe('skipped')
        expect(r.reason).toBe('no_source')
        continue
      }
      expect(r.outcome, `${m.position} ${r.reason} ${r.error}`).toBe('replayed')
      // The result names the stream really written: the sink's ?prefix= + the topic.
      expect(r.target.topic).toBe(prefix + m.source.topic)
      const landed = (await readStream(m.source.topic)).find((x: any) => x.position === r.target.offset)
      expect(landed.payload).toEqual(m.payload)
      expect(landed.key).toEqual(m.convention === 'karafka' && m.position === '7' ? 'user-8' : m.key)
      // A Watermill message goes back as a Watermill entry, which needs a uuid: one is made when none was recorded.
      expect(landed.headers).toEqual(m.convention === 'watermill' && !('_watermill_message_uuid' in m.headers) ? {...m.headers, _watermill_message_uuid: expect.any(String)} : m.headers)
      expect(JSON.stringify(landed.headers)).not.toMatch(/kafka_dlt|x-original|__connect|__streams|dead-letter|stroma|source_|original_|poisoned/)
    }
    expect(json.replayed).toBe(before.filter((m: any) => m.source.topic !== null).length)
  })

  it('a hyperi DLQ named as its services root, a service directory or one of its files is one DLQ with one ledger: nothing is sent twice', async () => {
    const root = join(dir, uniqueName('root'))
    const svc = join(root, 'ingest')
    cpSync(join(FIXTURES, 'rotated'), root, {recursive: true})
    const t = uniqueName('landing')
    await emptyStream(client, `${prefix}${t}`)
    const run = (src: string) => dlqJson(['replay', src, '--all', '--to', t, '--sink', sink, '--yes'])
    const all = run(svc)
    expect(all.code, all.stderr).toBe(0)
    expect(all.json.replayed).toBe(12)
    // The live file and a rotated one are the service directory's: its ledger, nothing sent again.
    for (const file of [join(svc, 'dlq.ndjson'), join(svc, 'dlq.ndjson.20261122T100000')]) {
      const again = run(file)
      expect(again.code, again.stderr).toBe(0)
      expect(again.json.replayed).toBe(0)
      expect(again.json.skipped).toBeGreaterThan(0)
    }
    // The root would start a ledger of its own: refused until the service's is merged into it.
    const refused = run(root)
    expect(refused.code).toBe(2)
    expect(refused.json.error.message).toMatch(/keeps its replay ledger at .*dlq-replay-ledger\.ndjson, but there are ledgers for parts of it: .*ingest\/dlq-replay-ledger\.ndjson\. Append them/)
    writeFileSync(join(root, 'dlq-replay-ledger.ndjson'), readFileSync(join(svc, 'dlq-replay-ledger.ndjson')))
    rmSync(join(svc, 'dlq-replay-ledger.ndjson'))
    const merged = run(root)
    expect(merged.code, merged.stderr).toBe(0)
    expect([merged.json.replayed, merged.json.skipped]).toEqual([0, 12])
    // Once the root has a ledger, its service directory and files use it.
    expect(run(svc).json.skipped).toBe(12)
    expect(existsSync(join(svc, 'dlq-replay-ledger.ndjson'))).toBe(false)
    expect(await client.xlen(`${prefix}${t}`)).toBe(12)
  })

  it('a ledger that cannot be written stops the replay before anything is sent (exit 4; a directory named as the ledger: exit 2); a dry run warns', async () => {
    const src = copy('hyperi.ndjson')
    const before = await client.xlen(`${prefix}orders`)
    const nowhere = join(dir, 'no-such-dir', 'ledger.ndjson')
    const real = dlq(['replay', src, '--all', '--sink', sink, '--ledger', nowhere, '--yes'])
    expect(real.code).toBe(4)
    expect(real.stderr).toMatch(/replay ledger: .*no-such-dir\/ledger\.ndjson cannot be created: .*no-such-dir does not exist; give --ledger a writable file path/)
    expect(real.stdout).toBe('')
    expect(await client.xlen(`${prefix}orders`)).toBe(before)
    // The dry run prints the plan, and exits as the replay would.
    const dry = dlq(['replay', src, '--all', '--sink', sink, '--ledger', nowhere, '--dry-run'])
    expect(dry.code).toBe(4)
    expect(dry.stdout).toMatch(/Dry run: nothing was sent/)
    expect(dry.stderr).toMatch(/warning: replay ledger: .* cannot be created: .*; a real run would stop here/)
    for (const mode of ['--yes', '--dry-run']) {
      const r = dlq(['replay', src, '--all', '--sink', sink, '--ledger', dir, mode])
      expect(r.code, mode).toBe(2)
      expect(r.stderr).toMatch(/--ledger: .* is a directory: give the ledger's file path/)
    }
  })

  it('keeps DLQ order per source and records a ledger: a second run skips, --force sends again', async () => {
    const src = copy('hyperi.ndjson')
    const orders = dlqJson(['inspect', src, '--filter', 'source.topic=orders']).json.items.map((m: any) => m.position)
    const args = ['replay', src, ...orders.slice().reverse().flatMap((p: string) => ['--offset', p]), '--to', 'manual', '--sink', sink, '--yes']
    const first = dlqJson(args)
    expect(first.json.replayed).toBe(orders.length)
    const landed = await readStream('manual')
    const original = dlqJson(['inspect', src, '--filter', 'source.topic=orders']).json.items
    expect(landed.slice(-orders.length).map((m: any) => m.payload.text)).toEqual(original.map((m: any) => m.payload.text))

    const again = dlqJson(args)
    expect(again.code).toBe(0)
    expect(again.json.items.every((i: any) => i.outcome === 'skipped' && i.reason === 'already_replayed')).toBe(true)
    expect((await readStream('manual')).length).toBe(landed.length)

    const forced = dlqJson([...args, '--force'])
    expect(forced.json.replayed).toBe(orders.length)
    expect((await readStream('manual')).length).toBe(landed.length + orders.length)
    const ledger = readFileSync(`${src}.replay-ledger.ndjson`, 'utf8')
    expect(ledger).toMatch(/"op":"done"/)
  })

  it('two replays of the same positions at once send each message once', async () => {
    const src = copy('hyperi.ndjson')
    const positions = Array.from({length: 12}, (_, i) => ['--offset', String(i)]).flat()
    const topic = uniqueName('race')
    await emptyStream(client, `${prefix}${topic}`)
    const run = () =>
      new Promise<{code: number; out: string; err: string}>((resolve) => {
        const p = spawn(process.execPath, [BIN, 'replay', src, ...positions, '--to', topic, '--sink', sink, '--yes', '--json'], {stdio: ['ignore', 'pipe', 'pipe']})
        let out = ''
        let err = ''
        p.stdout.on('data', (d) => (out += d))
        p.stderr.on('data', (d) => (err += d))
        p.on('close', (code) => resolve({code: code ?? -1, out, err}))
      })
    const [a, b] = await Promise.all([run(), run()])
    // Each message is sent by one of the two; the other reports it in_progress (and, not having
    // seen it land, exits 1) unless it ran entirely after the first.
    for (const r of [a, b]) expect([0, 1], r.err).toContain(r.code)
    for (const r of [a, b]) for (const i of JSON.parse(r.out).items.filter((x: any) => x.outcome !== 'replayed')) expect(['in_progress', 'already_replayed']).toContain(i.reason)
    const ra = JSON.parse(a.out)
    const rb = JSON.parse(b.out)
    expect(ra.replayed + rb.replayed).toBe(12)
    expect(await client.xlen(`${prefix}${topic}`)).toBe(12)
  })

  it('plans without sending on --dry-run', async () => {
    const src = copy('conventions.ndjson')
    const {code, json} = dlqJson(['replay', src, '--offset', '0', '--offset', '99', '--sink', sink, '--dry-run'])
    // Position 99 does not exist: the replay would exit 4, and so does its dry run.
    expect(code).toBe(4)
    expectSchema('replay-plan', json)
    expect(json.items[0]).toMatchObject({position: '0', action: 'send', target: {topic: `${prefix}orders`, partition: null}, headersKept: ['trace']})
    expect(json.items[0].headersRemoved).toContain('kafka_dlt-original-offset')
    expect(json.items[1]).toMatchObject({position: '99', action: 'skip', reason: 'not_found'})
    expect(dlqJson(['replay', src, '--offset', '0', '--sink', sink, '--dry-run']).json.summary.send).toBe(1)
  })

  it('exits 0 only when every requested message is now replayed; 4 for a position or target that is not there', async () => {
    const src = copy('conventions.ndjson')
    const typo = dlqJson(['replay', src, '--offset', '999', '--sink', sink, '--yes'])
    expect(typo.json.items.map((i: any) => i.reason)).toEqual(['not_found'])
    expect(typo.code).toBe(4)
    const missingTarget = dlqJson(['replay', src, '--offset', '0', '--to', uniqueName('nowhere'), '--sink', sink, '--yes'])
    expect(missingTarget.json.items.map((i: any) => i.reason)).toEqual(['target_missing'])
    expect(missingTarget.code).toBe(4)
    const ok = dlqJson(['replay', src, '--offset', '0', '--sink', sink, '--yes'])
    expect([ok.code, ok.json.replayed]).toEqual([0, 1])
    // Replayed before counts as replayed: the same command again still succeeds.
    const again = dlqJson(['replay', src, '--offset', '0', '--sink', sink, '--yes'])
    expect([again.code, again.json.items[0].reason]).toEqual([0, 'already_replayed'])
  })

  it('a dry run exits with the code the replay would (a CI gate): 4 for what is not there, 1 for other skips, 0 when all would be sent', async () => {
    const src = copy('conventions.ndjson')
    const skipAll = join(dir, 'skip-all.mjs')
    writeFileSync(skipAll, 'export default () => null\n')
    const nowhere = uniqueName('nowhere')
    // Nothing is sent by any of these, so the real run is made too: the dry run must foresee its code.
    const cases: Array<[string, string[], number]> = [
      ['not_found', ['--offset', '99999'], 4],
      ['target_missing', ['--offset', '0', '--to', nowhere], 4],
      ['no_source', ['--offset', '10'], 1],
      ['not_found and no_source', ['--offset', '99999', '--offset', '10'], 1],
      ['filtered', ['--offset', '0', '--filter', 'reason=no-such-reason'], 1],
      ['protected_target', ['--offset', '0', '--to', 'orders.dlq-replay-ledger'], 1],
      ['skipped_by_transform, named with --offset', ['--offset', '0', '--transform', skipAll], 1],
      ['skipped_by_transform, selected with --all', ['--all', '--filter', 'source.topic=orders', '--transform', skipAll], 0],
    ]
    for (const [what, args, expected] of cases) {
      const dry = dlqJson(['replay', src, ...args, '--sink', sink, '--dry-run'])
      expectSchema('replay-plan', dry.json)
      expect(dry.json.summary.send, what).toBe(0)
      expect(dry.json.error, what).toBeUndefined()
      const real = dlqJson(['replay', src, ...args, '--sink', sink, '--yes'])
      expect(real.json.replayed, what).toBe(0)
      expect([dry.code, real.code], what).toEqual([expected, expected])
      expect(dlq(['replay', src, ...args, '--sink', sink, '--dry-run']).code, `${what} (table)`).toBe(expected)
    }
    // Every position would be sent: 0; once replayed, already_replayed is still 0.
    const sends = dlqJson(['replay', src, '--offset', '0', '--sink', sink, '--dry-run'])
    expect([sends.code, sends.json.summary.send]).toEqual([0, 1])
    expect(dlqJson(['replay', src, '--offset', '0', '--sink', sink, '--yes']).code).toBe(0)
    const replayed = dlqJson(['replay', src, '--offset', '0', '--sink', sink, '--dry-run'])
    expect([replayed.code, replayed.json.items[0].reason]).toEqual([0, 'already_replayed'])
  })

  it("never writes to dlq's own settings or ledger streams, whatever the message or --to says", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-protected-'))
    const src = join(dir, 'dlq.ndjson')
    const entry = (topic: string, i: number) => JSON.stringify({timestamp: 1_764_000_000_000, service: 's', reason: 'r', attempts: 0, payload: Buffer.from(`{"topic":"x","version":${i}}`).toString('base64'), source: {topic, partition: 0, offset: i}})
    writeFileSync(src, [entry('dlq:settings:global-target', 0), entry('orders.dlq-replay-ledger', 1), entry('dlq-settings', 2)].join('\n') + '\n')
    // Without a prefix the names are the store's own (planned only: a regression must not write into the shared settings).
    const r = dlqJson(['replay', src, '--offset', '0', '--offset', '1', '--offset', '2', '--sink', redis.address, '--dry-run'])
    expect(r.json.items.map((i: any) => [i.action, i.reason])).toEqual([
      ['skip', 'protected_target'],
      ['skip', 'protected_target'],
      ['skip', 'protected_target'],
    ])
    const forced = dlqJson(['replay', src, '--offset', '0', '--to', 'dlq-settings', '--sink', redis.address, '--dry-run', '--force'])
    expect(forced.json.items[0].reason).toBe('protected_target')
    // Behind a prefix, what is written is prefix + topic: a ledger there is still one, a settings name is not the settings store.
    const prefixed = dlqJson(['replay', src, '--offset', '1', '--sink', sink, '--yes'])
    expect([prefixed.code, prefixed.json.items[0].reason]).toEqual([1, 'protected_target'])
    expect(prefixed.json.items[0].error).toContain(`"${prefix}orders.dlq-replay-ledger" is a dlq replay ledger`)
  })

  it('bad input: each a clear outcome or error, nothing half-sent', async () => {
    const src = copy('corrupt.ndjson')
    const noYes = dlq(['replay', src, '--offset', '0', '--sink', sink])
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toMatch(/pass --yes/)
    expect(dlq(['replay', src, '--offset', 'x', '--sink', sink, '--yes']).stderr).toMatch(/record number/)
    expect(dlq(['replay', src, '--sink', sink, '--yes']).code).toBe(2)
    expect(dlq(['replay', src, '--offset', '0', '--all', '--sink', sink, '--yes']).code).toBe(2)
    expect(dlq(['replay', src, '--offset', '0', '--yes']).stderr).toMatch(/--sink/)
    const badName = dlq(['replay', src, '--offset', '0', '--to', 'bad\u0001topic', '--sink', sink, '--yes'])
    expect([badName.code, badName.stderr]).toEqual([2, expect.stringContaining('--to "bad\\u0001topic": a stream name has no control characters')])
    const mixed = dlqJson(['replay', src, '--offset', '1', '--offset', '2', '--offset', '0', '--to', 'missing-target', '--sink', sink, '--yes'])
    expect(mixed.code).toBe(1)
    expect(mixed.json.items.map((i: any) => [i.position, i.reason])).toEqual([
      ['0', 'target_missing'],
      ['1', 'unreadable'],
      ['2', 'unreadable'],
    ])
    const unreachable = dlq(['replay', src, '--offset', '0', '--sink', 'redis://127.0.0.1:1', '--yes'])
    expect(unreachable.code).toBe(4)
  })

  it('a payload stream: an auto-chosen layout that would lose the key or headers skips the message; --layout payload sends it and says what is not sent', async () => {
    const src = copy('conventions.ndjson')
    const t = uniqueName('payload-only')
    await client.xadd(`${prefix}${t}`, '*', 'payload', 'x')
    // Record 4 (SmallRye) has the key sku-3 and the user header tenant.
    const auto = dlqJson(['replay', src, '--offset', '4', '--to', t, '--sink', sink, '--yes'])
    expectSchema('replay-result', auto.json)
    expect([auto.code, auto.json.items[0].reason]).toEqual([1, 'layout_drops_data'])
    expect(auto.json.items[0].error).toMatch(/layout payload \(the newest entry of ".*" is a lone payload field\) has no place for the key and header "tenant": --layout payload sends the payload without them/)
    expect(await client.xlen(`${prefix}${t}`)).toBe(1)
    const plan = dlqJson(['replay', src, '--offset', '4', '--to', t, '--sink', sink, '--layout', 'payload', '--set-header', 'x=1', '--dry-run'])
    expectSchema('replay-plan', plan.json)
    expect(plan.json.items[0]).toMatchObject({action: 'send', layout: 'payload', headersKept: [], dropped: {key: true, headers: ['tenant', 'x']}})
    expect(plan.json.summary.dropped).toEqual({messages: 1, keys: 1, headers: ['tenant', 'x']})
    const table = dlq(['replay', src, '--offset', '4', '--to', t, '--sink', sink, '--layout', 'payload', '--dry-run'])
    expect(table.stdout).toContain('NOT SENT: the key of 1 and headers tenant (1 message)')
    const sent = dlqJson(['replay', src, '--offset', '4', '--to', t, '--sink', sink, '--layout', 'payload', '--yes'])
    expect([sent.code, sent.json.replayed]).toEqual([0, 1])
    expect((await client.xrevrange(`${prefix}${t}`, '+', '-', 'COUNT', 1))[0][1]).toEqual(['payload', '{"sku":3,"price":-1}'])
  })

  it("behind ?prefix= the stream really written is protected and named: the DLQ itself is refused, results and ledger name prefix + topic", async () => {
    const dlqStream = `${prefix}pdlq`
    await client.xadd(dlqStream, '*', 'data', JSON.stringify({timestamp: 1_764_000_000_000, service: 'ingest', reason: 'timeout', attempts: 1, payload: Buffer.from('{"x":1}').toString('base64'), source: {topic: 'pdlq'}}))
    const src = `${redis.address}/0/${encodeURIComponent(dlqStream)}`
    const loop = dlqJson(['replay', src, '--all', '--sink', sink, '--yes'])
    expect([loop.code, loop.json.items[0].reason]).toEqual([1, 'protected_target'])
    expect(loop.json.items[0].error).toContain(`"${dlqStream}" is the DLQ being replayed`)
    expect(await client.xlen(dlqStream)).toBe(1)
    const forced = dlqJson(['replay', src, '--all', '--to', 'pdlq', '--force', '--sink', sink, '--dry-run'])
    expect(forced.json.items[0]).toMatchObject({action: 'skip', reason: 'protected_target'})
    const t = uniqueName('landing')
    await emptyStream(client, `${prefix}${t}`)
    const plan = dlqJson(['replay', src, '--all', '--to', t, '--sink', sink, '--dry-run'])
    expect(plan.json.items[0].target).toEqual({topic: `${prefix}${t}`, partition: null})
    const ok = dlqJson(['replay', src, '--all', '--to', t, '--sink', sink, '--yes'])
    expect([ok.code, ok.json.items[0].target.topic]).toEqual([0, `${prefix}${t}`])
    expect(await client.xlen(`${prefix}${t}`)).toBe(1)
    const again = dlqJson(['replay', src, '--all', '--to', t, '--sink', sink, '--yes'])
    expect([again.code, again.json.items[0].reason]).toEqual([0, 'already_replayed'])
    expect(again.json.items[0].error).toContain(`replayed to ${prefix}${t} at ${ok.json.items[0].target.offset}`)
  })

  it("a Redis stream name may hold ':' (--to and recorded sources); a key of another type fails its own messages alone", async () => {
    const colon = `${uniqueName('x')}:y`
    await emptyStream(client, `${prefix}${colon}`)
    const src = copy('conventions.ndjson')
    const to = dlqJson(['replay', src, '--offset', '4', '--to', colon, '--sink', sink, '--dry-run'])
    expect([to.code, to.json.items[0].action, to.json.items[0].target.topic]).toEqual([0, 'send', `${prefix}${colon}`])
    const good = uniqueName('good')
    const str = uniqueName('str')
    await emptyStream(client, `${prefix}${good}`)
    await client.set(`${prefix}${str}`, 'x')
    const file = join(dir, `${uniqueName('mixed')}.ndjson`)
    const entry = (topic: string, i: number) => JSON.stringify({timestamp: 1_795_341_600_000 + i, service: 's', reason: 'r', attempts: 1, payload: Buffer.from(`m${i}`).toString('base64'), source: {topic, partition: 0, offset: i}})
    writeFileSync(file, [entry(good, 0), entry(str, 1), entry(colon, 2), entry(good, 3)].join('\n') + '\n')
    const r = dlqJson(['replay', file, '--all', '--sink', sink, '--yes'])
    expectSchema('replay-result', r.json)
    expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'replayed', null],
      ['1', 'skipped', 'target_invalid'],
      ['2', 'replayed', null],
      ['3', 'replayed', null],
    ])
    expect(r.json.items[1].error).toMatch(/key ".*" in .* holds a string, not a stream: cannot replay into it/)
    expect(r.code).toBe(1)
    expect(await client.xlen(`${prefix}${good}`)).toBe(2)
  })

  it('--all needs filters or an explicit --yes, and says how many', async () => {
    const src = copy('hyperi.ndjson')
    const r = dlq(['replay', src, '--all', '--to', 'manual', '--sink', sink])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/would send 12 messages \(--all without filters/)
    const filtered = dlqJson(['replay', src, '--all', '--filter', 'reason=timeout', '--to', 'manual', '--sink', sink, '--yes'])
    expect(filtered.json.replayed).toBe(dlqJson(['inspect', src, '--filter', 'reason=timeout']).json.items.length)
  })
})
