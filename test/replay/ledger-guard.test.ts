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

  it('a DLQ named through a symlink shares its target’s ledger: nothing is sent twice', async () => {
    const sub = join(dir, 'sym')
    mkdirSync(sub)
    writeFileSync(join(sub, 'sym.ndjson'), readFileSync(join(FIXTURES, 'hyperi.ndjson'), 'utf8').split('\n').slice(0, 3).join('\n') + '\n')
    symlinkSync('sym.ndjson', join(sub, 'sym-link.ndjson'))
    const run = (src: string) => dlqJson(['replay', src, '--all', '--to', 'sym', '--sink', sink, '--yes'], {cwd: sub})
    expect(run('sym.ndjson').json.replayed).toBe(3)
    // The plan names the target's ledger, as the link was named: relative to the working directory.
    expect(dlqJson(['replay', 'sym-link.ndjson', '--all', '--to', 'sym', '--sink', sink, '--dry-run'], {cwd: sub}).json.ledger).toBe('sym.ndjson.replay-ledger.ndjson')
    const again = run('sym-link.ndjson')
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
