import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {FileLedger, ledgerLine} from '../../src/backends/file/ledger.js'
import {claimEvents} from '../../src/core/replay/ledger.js'
import {dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {closeRedisSpace, emptyStream, openRedisSpace} from '../helpers/redis-space.js'
import {expectSchema} from '../helpers/schema.js'
import {needService} from '../helpers/services.js'

const at = '2026-12-01T04:00:00.000Z'
const target = {topic: 'orders', partition: 0}
const A = `msg:${'a'.repeat(32)}`
const B = `msg:${'b'.repeat(32)}`

describe('the file ledger after a torn last line', () => {
  it('starts its next line on a line of its own, so the claim is not glued onto the garbage and lost', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dlq-ledger-torn-')), 'ledger.ndjson')
    // A real claim line cut mid-way, as a crash or a full disk leaves it: never followed by a send.
    const whole = ledgerLine(claimEvents([{position: A, target, mark: null}], 'host/1/crashed', false, at)[0])
    writeFileSync(path, whole.slice(0, 40))
    const ledger = new FileLedger(path)
    expect([...(await ledger.claim([{position: B, target, mark: '{"0":3}'}], 'host/2/next', false))]).toEqual([B])
    const text = readFileSync(path, 'utf8')
    expect(text.startsWith(`${whole.slice(0, 40)}\n{"op":"claim"`)).toBe(true)
    // A fresh reader (the next run) finds the claim; the torn line stays unreadable and holds nothing.
    const fresh = await new FileLedger(path).read([A, B])
    expect([...fresh.keys()]).toEqual([B])
    expect(fresh.get(B)).toMatchObject({state: 'claimed', runId: 'host/2/next', mark: '{"0":3}'})
    // The writer's own view, folded from memory, agrees, and its next lines follow on.
    await ledger.complete([{position: B, target, offset: '7'}], 'host/2/next')
    expect((await ledger.read([B])).get(B)).toMatchObject({state: 'done', offset: '7'})
    expect((await new FileLedger(path).read([B])).get(B)).toMatchObject({state: 'done', offset: '7'})
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(4)
  })
})

const redis = await needService('redis')

describe.runIf(redis.available)('the file replay ledger, replaying to Redis', () => {
  let client: import('ioredis').Redis
  let prefix: string
  let sink: string
  let dir: string
  beforeAll(async () => {
    ;({client, prefix, sink} = await openRedisSpace(redis.address, 'ledger-guard'))
    dir = mkdtempSync(join(tmpdir(), 'dlq-ledger-guard-'))
    for (const t of ['out', 'sym', 'torn']) await emptyStream(client, `${prefix}${t}`)
  })
  afterAll(() => closeRedisSpace(client, prefix))

  const replay = (src: string, extra: string[], env?: Record<string, string>) => dlqJson(['replay', src, '--all', '--to', 'out', '--sink', sink, '--yes', ...extra], {env, cwd: dir})
  const refused = (r: ReturnType<typeof replay>, what: RegExp) => {
    expect(r.code, JSON.stringify(r.json)).toBe(2)
    expectSchema('error', r.json)
    expect(r.json.error.code).toBe('usage')
    expect(r.json.error.message).toMatch(what)
  }

  it('refuses the DLQ itself, however it is named, and every file of a rotated directory or services root, before anything is sent', async () => {
    const file = join(dir, 'conventions.ndjson')
    cpSync(join(FIXTURES, 'conventions.ndjson'), file)
    symlinkSync('conventions.ndjson', join(dir, 'conv-link.ndjson'))
    for (const [src, ledger] of [
      [file, file],
      ['conventions.ndjson', './conventions.ndjson'],
      ['conventions.ndjson', 'conv-link.ndjson'],
      ['file:conv-link.ndjson', file],
    ]) {
      refused(replay(src, ['--ledger', ledger]), new RegExp(`--ledger ${ledger.replace(/[.]/g, '\\.')} is the DLQ itself .* dlq never writes to a DLQ`))
    }
    // A dry run only reads the ledger, but is refused the same way: the real run would write to it.
    refused(replay(file, ['--ledger', file, '--dry-run']), /is the DLQ itself/)

    const spool = join(dir, 'spool')
    mkdirSync(join(spool, 'billing'), {recursive: true})
    cpSync(join(FIXTURES, 'rotated', 'ingest'), join(spool, 'ingest'), {recursive: true})
    cpSync(join(FIXTURES, 'hyperi.ndjson'), join(spool, 'billing', 'dlq.ndjson'))
    for (const [src, ledger] of [
      ['spool/ingest', 'spool/ingest/dlq.ndjson.20261122T090000.gz'],
      ['spool/ingest', 'spool/ingest/dlq.ndjson.20261122T100000'],
      // Not there yet, but named as the writer's next rotated file: it would be read as part of the DLQ.
      ['spool/ingest', 'spool/ingest/dlq.ndjson.20261201T000000'],
      ['spool/ingest/dlq.ndjson', 'spool/ingest/dlq.ndjson.20261122T100000'],
      ['spool', 'spool/billing/dlq.ndjson'],
      ['spool', 'spool/billing/dlq.ndjson.20261201T000000'],
    ]) {
      refused(replay(src, ['--ledger', ledger]), /is a file of the DLQ .* dlq never writes to a DLQ/)
    }
    expect(readFileSync(file)).toEqual(readFileSync(join(FIXTURES, 'conventions.ndjson')))
    expect(readFileSync(join(spool, 'ingest', 'dlq.ndjson.20261122T100000'))).toEqual(readFileSync(join(FIXTURES, 'rotated', 'ingest', 'dlq.ndjson.20261122T100000')))
    expect(existsSync(join(spool, 'ingest', 'dlq.ndjson.20261201T000000'))).toBe(false)
    expect(await client.xlen(`${prefix}out`)).toBe(0)
    // The services root's own ledger is dlq's: fine.
    const ok = replay('spool', ['--ledger', 'spool/dlq-replay-ledger.ndjson', '--dry-run'])
    expect(ok.code, JSON.stringify(ok.json)).toBe(0)
  })

  it('refuses the settings store file and any existing file that holds something else; an empty file, a ledger, or a ledger with a torn first line are fine', async () => {
    const src = join(dir, 'few.ndjson')
    writeFileSync(src, readFileSync(join(FIXTURES, 'hyperi.ndjson'), 'utf8').split('\n').slice(0, 2).join('\n') + '\n')
    const store = join(dir, 'settings.json')
    expect(dlq(['global-target', 'set', 'somewhere'], {env: {DLQ_STORE: store, DLQ_ACTOR: 'test'}}).code).toBe(0)
    const settings = readFileSync(store)
    refused(replay(src, ['--ledger', store], {DLQ_STORE: store}), /--ledger .*settings\.json is dlq's settings store/)
    // Another dlq settings file (not the configured store) is refused for what it holds.
    refused(replay(src, ['--ledger', store]), /settings\.json already exists and is not a replay ledger \(it holds dlq settings\)/)
    expect(readFileSync(store)).toEqual(settings)
    expect(dlqJson(['global-target', 'get'], {env: {DLQ_STORE: store}}).json.target.topic).toBe('somewhere')

    const other = join(dir, 'other-dlq.ndjson')
    cpSync(join(FIXTURES, 'conventions.ndjson'), other)
    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'remember the milk\n')
    for (const [path, holds] of [
      [other, /JSON lines without a ledger "op"/],
      [text, /lines that are not ledger events \(the first is not JSON\)/],
      [join(FIXTURES, 'hyperi.ndjson.gz'), /gzip-compressed data/],
    ] as const) {
      const before = readFileSync(path)
      refused(replay(src, ['--ledger', path]), new RegExp(`already exists and is not a replay ledger \\(it holds ${holds.source}`))
      expect(readFileSync(path)).toEqual(before)
    }
    expect(await client.xlen(`${prefix}out`)).toBe(0)

    const empty = join(dir, 'empty-ledger.ndjson')
    writeFileSync(empty, '')
    const r = replay(src, ['--ledger', empty])
    expect(r.code, JSON.stringify(r.json)).toBe(0)
    expect(r.json.replayed).toBe(2)
    // Now a ledger: given again, it is read and nothing is sent twice.
    expect(replay(src, ['--ledger', empty]).json.skipped).toBe(2)
    const torn = join(dir, 'torn-ledger.ndjson')
    writeFileSync(torn, '{"op":"claim","ids":{"p":"","i":["msg:3b6')
    expect(replay(src, ['--ledger', torn, '--dry-run']).code).toBe(0)
    expect(await client.xlen(`${prefix}out`)).toBe(2)
  })

  it('a DLQ named through a symlink shares its target’s ledger: nothing is sent twice', async () => {
    const sub = join(dir, 'sym')
    mkdirSync(sub)
    writeFileSync(join(sub, 'sym.ndjson'), readFileSync(join(FIXTURES, 'hyperi.ndjson'), 'utf8').split('\n').slice(0, 3).join('\n') + '\n')
    symlinkSync('sym.ndjson', join(sub, 'sym-link.ndjson'))
    const replayAll = (src: string) => dlqJson(['replay', src, '--all', '--to', 'sym', '--sink', sink, '--yes'], {cwd: sub})
    expect(replayAll('sym.ndjson').json.replayed).toBe(3)
    // The plan names the target's ledger, as the link was named: relative to the working directory.
    expect(dlqJson(['replay', 'sym-link.ndjson', '--all', '--to', 'sym', '--sink', sink, '--dry-run'], {cwd: sub}).json.ledger).toBe('sym.ndjson.replay-ledger.ndjson')
    const again = replayAll('sym-link.ndjson')
    expect(again.code).toBe(0)
    expect(again.json).toMatchObject({replayed: 0, skipped: 3})
    expect(again.json.items.map((i: any) => i.reason)).toEqual(['already_replayed', 'already_replayed', 'already_replayed'])
    expect(await client.xlen(`${prefix}sym`)).toBe(3)
    expect(readdirSync(sub).sort()).toEqual(['sym-link.ndjson', 'sym.ndjson', 'sym.ndjson.replay-ledger.ndjson'])
  })

  it('after a torn ledger line, a run that crashed after its claim is not sent again by the next run', async () => {
    const src = join(dir, 'g2.ndjson')
    cpSync(join(FIXTURES, 'hyperi.ndjson'), src)
    const ledger = `${src}.replay-ledger.ndjson`
    // The tail an earlier run left when it crashed (or the disk filled) mid-line.
    writeFileSync(ledger, '{"op":"claim","ids":{"p":"","i":["msg:3b6')
    const run = () => dlqJson(['replay', src, '--offset', '3', '--to', 'torn', '--sink', sink, '--yes'])
    expect(run().json.replayed).toBe(1)
    // This run crashed after the message was sent, before its `done` was written: only its claim is left.
    const kept = readFileSync(ledger, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('{"op":"done"'))
    expect(kept.join('\n')).toMatch(/"op":"claim".*"runId"/)
    writeFileSync(ledger, kept.map((l) => `${l}\n`).join(''))
    const again = run()
    expect(again.code, JSON.stringify(again.json)).toBe(0)
    expect(again.json.items[0]).toMatchObject({outcome: 'skipped', reason: 'already_replayed'})
    expect(await client.xlen(`${prefix}torn`)).toBe(1)
  })
})
