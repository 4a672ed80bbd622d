import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlq, dlqJson} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {needService, uniqueName} from '../helpers/services.js'
import {closeRedisSpace, openRedisSpace} from '../helpers/redis-space.js'
import {foldLedger} from '../../src/core/replay/ledger.js'

const redis = await needService('redis')
const kafka = await needService('kafka')

const dir = mkdtempSync(join(tmpdir(), 'dlq-edit-'))

/** A hyperi-rustlib file DLQ of `n` orders (payload {"id":…,"amount":"…"}), one text payload and one binary one. */
function dlqFile(topic: string, n: number, extra: Array<{payload: Buffer}> = []): string {
  const path = join(dir, `${uniqueName('dlq')}.ndjson`)
  const lines = Array.from({length: n}, (_, i) => ({id: 1000 + i, amount: `${i}.50`, note: 'x'})).map((p, i) =>
    JSON.stringify({timestamp: 1795341600000 + i, service: 'ingest', reason: 'parse_error', attempts: 0, payload: Buffer.from(JSON.stringify(p)).toString('base64'), source: {topic}}),
  )
  for (const [i, e] of extra.entries()) lines.push(JSON.stringify({timestamp: 1795341700000 + i, service: 'ingest', reason: 'parse_error', attempts: 0, payload: e.payload.toString('base64'), source: {topic}}))
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

function transform(body: string): string {
  const path = join(dir, `${uniqueName('t')}.mjs`)
  writeFileSync(path, body)
  return path
}

const offsets = (n: number) => Array.from({length: n}, (_, i) => ['--offset', String(i)]).flat()

describe.runIf(redis.available)('fix before replay: file DLQ → Redis', () => {
  let client: import('ioredis').Redis
  let prefix: string
  let sink: string
  beforeAll(async () => {
    ;({client, prefix, sink} = await openRedisSpace(redis.address, 'edit'))
  })
  afterAll(() => closeRedisSpace(client, prefix))

  /** A target stream with its consumers' group, as a real consumer would have it. */
  const target = async () => {
    const t = uniqueName('orders')
    await client.xgroup('CREATE', `${prefix}${t}`, 'consumers', '$', 'MKSTREAM')
    return t
  }
  /** What the consumers' group receives: each entry's payload field (hyperi's transport layout). */
  const consume = async (t: string) => {
    const res = (await client.xreadgroup('GROUP', 'consumers', 'c1', 'COUNT', 1000, 'STREAMS', `${prefix}${t}`, '>')) as Array<[string, Array<[string, string[]]>]> | null
    return (res?.[0]?.[1] ?? []).map(([, fields]) => fields[fields.indexOf('payload') + 1])
  }

  it('--set: the dry run shows the diff, the consumer receives the edited payload once, and a rerun sends nothing', async () => {
    const t = await target()
    const src = dlqFile(t, 3)
    const args = ['replay', src, ...offsets(3), '--sink', sink, '--set', 'payload.amount=9.99', '--set', 'payload.note="fixed"']

    const table = dlq([...args, '--dry-run'])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/edited: payload\.amount: "0\.50" → 9\.99, payload\.note: "x" → "fixed"/)
    const plan = dlqJson([...args, '--dry-run'])
    expectSchema('replay-plan', plan.json)
    const edit = plan.json.items[1].edit
    expect(edit.payload.before).toBe('{"id":1001,"amount":"1.50","note":"x"}')
    expect(edit.payload.after).toBe('{"id":1001,"amount":9.99,"note":"fixed"}')
    expect(edit.payload.patch).toContain('\n-  "amount": "1.50",\n')
    expect(edit.payload.patch).toContain('\n+  "amount": 9.99,\n')
    expect(edit.payload.patch).toContain('\n   "id": 1001,\n')
    expect(edit.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(await consume(t)).toEqual([])

    const run = dlqJson([...args, '--yes'])
    expect(run.code).toBe(0)
    expect(run.json.replayed).toBe(3)
    expect(await consume(t)).toEqual([0, 1, 2].map((i) => `{"id":${1000 + i},"amount":9.99,"note":"fixed"}`))

    // The ledger says the message went back edited, with the digest of what was sent.
    const ledger = readFileSync(`${src}.replay-ledger.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    const done = [...foldLedger(ledger).values()].filter((e) => e.state === 'done')
    expect(done).toHaveLength(3)
    expect(done.map((e) => e.edit?.sha256)).toContain(edit.sha256)

    const again = dlqJson([...args, '--yes'])
    expect(again.code).toBe(0)
    expect(again.json.items.map((i: any) => i.reason)).toEqual(['already_replayed', 'already_replayed', 'already_replayed'])
    expect(await consume(t)).toEqual([])
    expect(await client.xlen(`${prefix}${t}`)).toBe(3)
  })

  it('a message sent edited and left in doubt is found in the target by its edited bytes, never sent twice', async () => {
    const t = await target()
    const src = dlqFile(t, 2)
    const args = ['replay', src, ...offsets(2), '--sink', sink, '--set', 'payload.amount=1']
    expect(dlqJson([...args, '--yes']).json.replayed).toBe(2)
    // As if the process died after the send, before recording it: the claims stay, the completions are lost.
    const path = `${src}.replay-ledger.ndjson`
    writeFileSync(path, readFileSync(path, 'utf8').split('\n').filter((l) => !l.includes('"op":"done"')).join('\n'))

    // Other edits than the claim recorded: the sent bytes cannot be looked for, so it stays in doubt.
    const other = dlqJson(['replay', src, ...offsets(2), '--sink', sink, '--set', 'payload.amount=2', '--yes'])
    expect(other.code).toBe(1)
    expect(other.json.items.map((i: any) => i.reason)).toEqual(['in_doubt', 'in_doubt'])
    expect(other.json.items[0].error).toMatch(/sending an edited version .* cannot be looked for in the target/)

    // The same edits to another target: the doubt can only be looked for where it was sent.
    const elsewhere = await target()
    const moved = dlqJson([...args, '--to', elsewhere, '--yes'])
    expect(moved.code).toBe(1)
    expect(moved.json.items.map((i: any) => i.reason)).toEqual(['in_doubt', 'in_doubt'])
    expect(moved.json.items[0].error).toContain(`this replay would send it to "${prefix}${elsewhere}"`)
    expect(await consume(elsewhere)).toEqual([])

    // The same edits: the edited copies are found in the target (an unedited lookup would not find them and send again).
    const same = dlqJson([...args, '--yes'])
    expect(same.code).toBe(0)
    expect(same.json.items.map((i: any) => [i.outcome, i.reason])).toEqual([
      ['skipped', 'already_replayed'],
      ['skipped', 'already_replayed'],
    ])
    expect(same.json.items[0].error).toMatch(/found in the target/)
    expect(await client.xlen(`${prefix}${t}`)).toBe(2)
  })

  it('--transform edits some, skips others (skipped_by_transform: exit 0 in --all, 1 for a position asked for), and a rerun sends nothing', async () => {
    const t = await target()
    const src = dlqFile(t, 4)
    const mod = transform(`export default async (r) => {
  if (r.json.id % 2 === 1) return null
  r.json.amount = Number(r.json.amount) * 2
  r.headers.push({key: 'fixed-by', value: 'transform'})
  return r
}\n`)
    // hyperi's transport reads the payload field alone: the header the transform adds is not sent,
    // which only an explicit --layout payload accepts (else layout_drops_data).
    const args = ['replay', src, '--all', '--sink', sink, '--transform', mod, '--layout', 'payload', '--yes']
    expect(dlqJson(args.filter((a) => a !== '--layout' && a !== 'payload')).json.items.map((i: any) => i.reason)).toEqual(['layout_drops_data', 'skipped_by_transform', 'layout_drops_data', 'skipped_by_transform'])
    const run = dlqJson(args)
    expect(run.code).toBe(0)
    expectSchema('replay-result', run.json)
    expect(run.json.items.map((i: any) => [i.outcome, i.reason])).toEqual([
      ['replayed', null],
      ['skipped', 'skipped_by_transform'],
      ['replayed', null],
      ['skipped', 'skipped_by_transform'],
    ])
    expect(await consume(t)).toEqual(['{"id":1000,"amount":1,"note":"x"}', '{"id":1002,"amount":5,"note":"x"}'])

    const again = dlqJson(args)
    expect(again.code).toBe(0)
    expect(again.json.items.map((i: any) => i.reason)).toEqual(['already_replayed', 'skipped_by_transform', 'already_replayed', 'skipped_by_transform'])
    expect(await consume(t)).toEqual([])

    // Named with --offset, a position the transform skips was asked for and is not replayed.
    const named = dlqJson(['replay', src, '--offset', '0', '--offset', '1', '--sink', sink, '--transform', mod, '--yes'])
    expect(named.code).toBe(1)
    expect(named.json.items.map((i: any) => i.reason)).toEqual(['already_replayed', 'skipped_by_transform'])
    expect(await consume(t)).toEqual([])
  })

  it('a message the edits cannot apply to fails alone, with the message and the problem; the others are sent', async () => {
    const t = await target()
    const src = dlqFile(t, 2, [{payload: Buffer.from('not json')}])
    const set = dlqJson(['replay', src, ...offsets(3), '--sink', sink, '--set', 'payload.amount=0', '--yes'])
    expect(set.code).toBe(1)
    expect(set.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'replayed', null],
      ['1', 'replayed', null],
      ['2', 'failed', 'edit_failed'],
    ])
    expect(set.json.items[2].error).toBe('--set payload.amount=0: the payload is not JSON')

    const missing = dlqJson(['replay', src, '--offset', '0', '--sink', sink, '--set', 'payload.amount.cents=1', '--force', '--yes'])
    expect(missing.json.items[0].error).toBe('--set payload.amount.cents=1: the payload has no payload.amount.cents')

    const throws = transform(`export default (r) => { if (r.json?.id === 1001) throw new Error('boom'); return r.json ? 42 : r }\n`)
    const bad = dlqJson(['replay', src, ...offsets(3), '--sink', sink, '--transform', throws, '--force', '--yes'])
    expect(bad.code).toBe(1)
    expect(bad.json.items.map((i: any) => [i.outcome, i.reason])).toEqual([
      ['failed', 'edit_failed'],
      ['failed', 'edit_failed'],
      ['replayed', null],
    ])
    expect(bad.json.items[0].error).toMatch(/returned number 42: return the record/)
    expect(bad.json.items[1].error).toMatch(/threw: boom/)
    expect(await consume(t)).toEqual(['{"id":1000,"amount":0,"note":"x"}', '{"id":1001,"amount":0,"note":"x"}', 'not json'])
  })

  it('a transform whose promise never settles fails its message after DLQ_TRANSFORM_TIMEOUT_MS and is not called again: the replay ends instead of hanging', async () => {
    const t = await target()
    const src = dlqFile(t, 3)
    const hangs = transform(`export default (r) => (r.json?.id === 1001 ? new Promise(() => {}) : r)\n`)
    const started = Date.now()
    const r = dlqJson(['replay', src, ...offsets(3), '--sink', sink, '--transform', hangs, '--yes'], {env: {DLQ_TRANSFORM_TIMEOUT_MS: '500'}})
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(r.code).toBe(1)
    expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0', 'replayed', null],
      ['1', 'failed', 'edit_failed'],
      ['2', 'failed', 'edit_failed'],
    ])
    expect(r.json.items[1].error).toMatch(/did not settle within 0\.5 s; it is not called again in this run/)
    expect(r.json.items[2].error).toMatch(/was not called: it did not settle for position 1 within 0\.5 s/)
    expect(await consume(t)).toEqual(['{"id":1000,"amount":"0.50","note":"x"}'])
  })

  it('Ctrl-C ends a replay whose transform loops forever (its JavaScript never yields to dlq\'s own handler)', async () => {
    const t = await target()
    const src = dlqFile(t, 2)
    const loops = transform('export default (r) => { for (;;) {} }\n')
    const {spawn} = await import('node:child_process')
    const {BIN} = await import('../helpers/cli.js')
    const child = spawn(process.execPath, [BIN, 'replay', src, ...offsets(2), '--sink', sink, '--transform', loops, '--dry-run'], {stdio: 'ignore'})
    // Once the transform has had time to start looping.
    await new Promise((r) => setTimeout(r, 3000))
    child.kill('SIGINT')
    const ended = await Promise.race([
      new Promise<{code: number | null; signal: string | null}>((resolve) => child.on('close', (code, signal) => resolve({code, signal}))),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000)),
    ])
    if (ended === null) child.kill('SIGKILL')
    // Ended by the signal itself (a shell reports 130), not left running.
    expect(ended).toEqual({code: null, signal: 'SIGINT'})
  })

  it('refuses a transform that does not load or exports no function, and a convention header, before anything is sent (exit 2)', async () => {
    const t = await target()
    const src = dlqFile(t, 1)
    const base = ['replay', src, '--offset', '0', '--sink', sink, '--yes']
    expect(dlq([...base, '--transform', join(dir, 'nope.mjs')]).stderr).toMatch(/no such file/)
    const r1 = dlq([...base, '--transform', transform('export default 1\n')])
    expect(r1.code).toBe(2)
    expect(r1.stderr).toMatch(/default export must be a function/)
    const r2 = dlq([...base, '--transform', transform('export default (r) => {\n')])
    expect(r2.code).toBe(2)
    expect(r2.stderr).toMatch(/does not load/)
    const r3 = dlq([...base, '--set-header', 'kafka_dlt-original-topic=x'])
    expect(r3.code).toBe(2)
    expect(r3.stderr).toMatch(/metadata header/)
    expect(dlq([...base, '--set', 'key=1']).code).toBe(2)
    expect(await client.xlen(`${prefix}${t}`)).toBe(0)
  })
})

describe.runIf(kafka.available)('fix before replay: file DLQ → Kafka', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())

  it('--set, --set-header and --drop-header: the topic receives the edited record once, and a rerun sends nothing', async () => {
    const t = await fx.topic('edit-orders', 1)
    // A Fibril-style Kafka DLQ record with user headers, exported by dlq into a file.
    const dlqTopic = await fx.topic('edit-dlq', 1)
    await fx.produce(dlqTopic, [
      {key: 'o-1', value: '{"id":1,"amount":"oops"}', headers: [['stroma.dlq.source_topic', t], ['trace', 'abc'], ['debug', 'yes']]},
      {key: 'o-2', value: '{"id":2,"amount":"oops"}', headers: [['stroma.dlq.source_topic', t], ['trace', 'def']]},
    ])
    const src = join(dir, `${uniqueName('kexport')}.ndjson`)
    writeFileSync(src, dlq(['inspect', `${KAFKA_URI}/${dlqTopic}`, '--output', 'ndjson', '--payload-limit', '1048576']).stdout)
    const args = ['replay', src, '--offset', '0', '--offset', '1', '--sink', KAFKA_URI, '--set', 'payload.amount=10', '--set-header', 'fixed-by=ops', '--drop-header', 'debug', '--yes']

    const dry = dlq([...args.filter((a) => a !== '--yes'), '--dry-run'])
    expect(dry.stdout).toMatch(/\n0 .* edited: payload\.amount: "oops" → 10; -header debug; header fixed-by=ops\n/)
    expect(dry.stdout).toMatch(/\n1 .* edited: payload\.amount: "oops" → 10; header fixed-by=ops\n/)

    const run = dlqJson(args)
    expect(run.code, JSON.stringify(run.json)).toBe(0)
    const landed = dlqJson(['inspect', `${KAFKA_URI}/${t}`, '--limit', '10']).json.items
    expect(landed.map((m: any) => [m.key, m.payload.text, m.headers])).toEqual([
      ['o-1', '{"id":1,"amount":10}', {trace: 'abc', 'fixed-by': 'ops'}],
      ['o-2', '{"id":2,"amount":10}', {trace: 'def', 'fixed-by': 'ops'}],
    ])

    const again = dlqJson(args)
    expect(again.code).toBe(0)
    expect(again.json.replayed).toBe(0)
    expect(dlqJson(['inspect', `${KAFKA_URI}/${t}`, '--limit', '10']).json.items).toHaveLength(2)
  })
})
