import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {decodeEntry, detectLayout, encodeEntry} from '../../src/backends/redis/layouts.js'
import {openSink} from '../../src/core/replay/open.js'
import type {OutgoingMessage} from '../../src/core/sink.js'
import {readCapture, type RedisRow} from '../helpers/captured.js'
import {dlq, dlqJson, ROOT} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {needService, uniqueName} from '../helpers/services.js'

/**
 * Issue 11 item 3, "replay writes what the source consumer reads": a Watermill poison entry goes
 * back as a Watermill entry that watermill-redisstream's own Subscriber reads (a Go program built
 * from test/consumers/watermill with the versions the capture pinned); a hyperi entry as the one
 * `payload` field its transport reads; other messages like the target stream's newest entry.
 */
const redis = await needService('redis')
const CI = process.env.CI === 'true' || process.env.CI === '1'
const GO = ['/usr/local/go/bin/go'].find((p) => existsSync(p)) ?? null
if (GO === null) {
  // Go comes with the machine (and with CI's); without it the real-consumer test cannot run.
  if (CI) throw new Error('CI=true and go is not installed at /usr/local/go/bin/go: the Watermill consumer test needs it')
  console.warn('\n\u26a0\u26a0\u26a0 SKIPPING THE REAL WATERMILL CONSUMER TEST: go is not installed at /usr/local/go/bin/go \u26a0\u26a0\u26a0\n')
}

type Fields = Array<[string, Buffer]>
const redisAddr = redis.address.replace(/^redis:\/\//, '')

/** One entry's fields as name/value pairs (names are ASCII in every layout here). */
const pairsOf = (flat: Buffer[]): Fields => {
  const out: Fields = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i].toString('latin1'), flat[i + 1]])
  return out
}

/**
 * A msgpack map of str to str as Go's vmihailenco/msgpack writes map[string]string, read strictly
 * here (not with the decoder under test): map header, then str-typed keys and values only.
 */
function metadataOf(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  if (buf.length === 0) return out
  let at = 0
  const u = (n: number) => {
    const v = buf.readUIntBE(at, n)
    at += n
    return v
  }
  const t = u(1)
  const count = t >= 0x80 && t <= 0x8f ? t & 0x0f : t === 0xde ? u(2) : t === 0xdf ? u(4) : -1
  expect(count, `map header ${t.toString(16)}`).toBeGreaterThanOrEqual(0)
  const str = () => {
    const s = u(1)
    const len = s >= 0xa0 && s <= 0xbf ? s & 0x1f : s === 0xd9 ? u(1) : s === 0xda ? u(2) : s === 0xdb ? u(4) : -1
    expect(len, `str header ${s.toString(16)} (not str: Go would not read it into a string)`).toBeGreaterThanOrEqual(0)
    at += len
    return buf.subarray(at - len, at)
  }
  for (let i = 0; i < count; i++) {
    const k = str().toString('utf8')
    out.set(k, Buffer.from(str()))
  }
  expect(at).toBe(buf.length)
  return out
}

/** What the Watermill handler originally saw: uuid, metadata without the poison queue's keys, payload. */
function originalWatermill(row: RedisRow): {uuid: string; metadata: Map<string, Buffer>; payload: Buffer} {
  const f = new Map(row.fields.map((x) => [Buffer.from(x.name, 'base64').toString(), Buffer.from(x.value, 'base64')]))
  const metadata = metadataOf(f.get('metadata')!)
  for (const k of ['reason_poisoned', 'topic_poisoned', 'handler_poisoned', 'subscriber_poisoned']) {
    expect(metadata.has(k), `the captured poison entry has ${k}`).toBe(true)
    metadata.delete(k)
  }
  return {uuid: f.get('_watermill_message_uuid')!.toString(), metadata, payload: f.get('payload') ?? Buffer.alloc(0)}
}

const asBuffers = (args: Array<string | Buffer>) => args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(a)))

describe('layouts.ts reads back what it writes', () => {
  it('every captured Watermill entry, decoded and encoded again, is the same message without the *_poisoned keys', () => {
    for (const row of readCapture('watermill').redis) {
      const flat = row.fields.flatMap((f) => [Buffer.from(f.name, 'base64'), Buffer.from(f.value, 'base64')])
      const rec = decodeEntry(row.id, flat, 'poison')
      expect(rec.convention).toBe('watermill')
      const again = asBuffers(encodeEntry({key: rec.key, value: rec.payload, headers: rec.userHeaders, timestamp: null, layout: detectLayout(flat)}))
      expect(detectLayout(again)).toEqual({name: 'watermill'})
      const want = originalWatermill(row)
      const f = new Map(pairsOf(again))
      expect(f.get('_watermill_message_uuid')!.toString()).toBe(want.uuid)
      expect(f.get('payload')!.equals(want.payload)).toBe(true)
      expect(new Map([...metadataOf(f.get('metadata')!)].map(([k, v]) => [k, v.toString('hex')]))).toEqual(new Map([...want.metadata].map(([k, v]) => [k, v.toString('hex')])))
      // And dlq decodes its own encoding to the same user headers and payload.
      const back = decodeEntry('1-0', again, 'target')
      expect(back.payload).toEqual(rec.payload)
      expect(new Map(back.userHeaders.map((h) => [h.key, h.value!.toString('hex')]))).toEqual(new Map(rec.userHeaders.map((h) => [h.key, h.value!.toString('hex')])))
    }
  })

  it('payload, fields and dlq entries read back as what was written; msgpack uses str8/str16 and map16 beyond the fix sizes', () => {
    const msg = {key: Buffer.from('k'), value: Buffer.from([0, 0xff, 1]), headers: [{key: 'a', value: Buffer.from('1')}, {key: 'b', value: null}, {key: 'a', value: Buffer.from('2')}], timestamp: null}
    const payload = decodeEntry('1-0', asBuffers(encodeEntry({...msg, layout: {name: 'payload'}})), 's')
    expect([payload.key, payload.payload, payload.userHeaders]).toEqual([null, msg.value, []])
    const fields = decodeEntry('1-0', asBuffers(encodeEntry({...msg, layout: {name: 'fields', valueField: 'body'}})), 's')
    expect([fields.key, fields.payload]).toEqual([msg.key, msg.value])
    expect(fields.userHeaders).toEqual([{key: 'a', value: Buffer.from('1')}, {key: 'b', value: Buffer.alloc(0)}, {key: 'a', value: Buffer.from('2')}])
    const own = decodeEntry('1-0', asBuffers(encodeEntry({...msg, layout: {name: 'dlq'}})), 's')
    expect([own.key, own.payload, own.userHeaders]).toEqual([msg.key, msg.value, msg.headers])
    const many = Array.from({length: 20}, (_, i) => ({key: `h${i}`, value: Buffer.alloc(i * 40, 0x61)}))
    const wm = new Map(pairsOf(asBuffers(encodeEntry({key: null, value: null, headers: [{key: '_watermill_message_uuid', value: Buffer.from('u')}, ...many], timestamp: null, layout: {name: 'watermill'}}))))
    const md = wm.get('metadata')!
    expect(md[0]).toBe(0xde)
    expect(md.includes(Buffer.from([0xd9, 40]))).toBe(true)
    expect(md.includes(Buffer.from([0xda, 0x01, 0x18]))).toBe(true)
    expect(new Map([...metadataOf(md)].map(([k, v]) => [k, v.length]))).toEqual(new Map(many.map((h) => [h.key, h.value.length])))
  })
})

describe.runIf(redis.available)('replay writes what the source consumer reads (issue 11.3)', () => {
  let client: import('ioredis').Redis
  const keys: string[] = []
  let work: string
  let consumer: string | null = null

  beforeAll(async () => {
    const {Redis} = await import('ioredis')
    client = new Redis(redis.address)
    work = mkdtempSync(join(tmpdir(), 'dlq-layouts-'))
    if (GO !== null) {
      // Built once per run; the module cache (GOMODCACHE) keeps later builds offline and quick.
      consumer = join(work, 'watermill-consumer')
      const b = spawnSync(GO, ['build', '-mod=readonly', '-o', consumer, '.'], {cwd: join(ROOT, 'test', 'consumers', 'watermill'), encoding: 'utf8', timeout: 300_000})
      if (b.status !== 0) throw new Error(`go build of test/consumers/watermill failed:\n${b.stderr}`)
    }
  }, 320_000)
  afterAll(async () => {
    if (keys.length > 0) await client.del(...keys.flatMap((k) => [k, `${k}:dlq-replay-ledger`]))
    client.disconnect()
    rmSync(work, {recursive: true, force: true})
  })

  const stream = (prefix: string) => {
    const k = uniqueName(prefix)
    keys.push(k)
    return k
  }
  /** Captured entries loaded byte for byte, with their ids, into a fresh stream. */
  const load = async (rows: RedisRow[]) => {
    const k = stream('lay-dlq')
    for (const e of rows) await client.xadd(k, e.id, ...(e.fields.flatMap((f) => [Buffer.from(f.name, 'base64'), Buffer.from(f.value, 'base64')]) as unknown as string[]))
    return k
  }
  /** A target as a live consumer's stream is: it exists because its consumer group does. */
  const target = async (prefix: string) => {
    const k = stream(prefix)
    await client.xgroup('CREATE', k, 'workers', '0', 'MKSTREAM')
    return k
  }
  const entries = async (k: string) => (await client.xrangeBuffer(k, '-', '+')).map(([id, f]) => ({id: id.toString(), fields: pairsOf(f as unknown as Buffer[])}))
  const readWithWatermill = (k: string, group: string, want: number) => {
    const r = spawnSync(consumer!, [k, group, String(want), '--append-valid'], {encoding: 'utf8', env: {...process.env, DLQ_REDIS_ADDR: redisAddr}, timeout: 60_000})
    if (r.status !== 0) throw new Error(`watermill consumer failed (${r.status}):\n${r.stderr}`)
    return JSON.parse(r.stdout) as {received: Array<{uuid: string; metadata: Record<string, string>; payload: string}>; loggedErrors: Record<string, number>; pending: number}
  }

  it('Watermill poison entries go back as Watermill entries: same uuid, user metadata (source_topic, non-UTF-8 bytes) without *_poisoned, payload', async () => {
    const cap = readCapture('watermill')
    const rows = cap.redis
    expect(rows.length).toBe(6)
    const src = await load(rows)
    const dst = await target('lay-wm')
    const uri = `${redis.address}/${src}`

    const plan = dlqJson(['replay', uri, '--all', '--to', dst, '--dry-run'])
    expectSchema('replay-plan', plan.json)
    expect(plan.json.items.map((i: any) => i.layout)).toEqual(Array(6).fill('watermill'))
    expect(plan.json.summary.byTarget).toEqual([expect.objectContaining({topic: dst, layout: 'watermill', count: 6})])
    const text = dlq(['replay', uri, '--all', '--to', dst, '--dry-run'])
    expect(text.stdout).toContain(`6 → ${dst} (stream), layout watermill`)

    const res = dlqJson(['replay', uri, '--all', '--to', dst, '--yes'])
    expect(res.code).toBe(0)
    expect(res.json.replayed).toBe(6)
    const written = await entries(dst)
    expect(written).toHaveLength(6)
    let sawRaw = false
    for (const [i, e] of written.entries()) {
      const want = originalWatermill(rows[i])
      expect(e.fields.map(([n]) => n)).toEqual(['_watermill_message_uuid', 'metadata', 'payload'])
      const f = new Map(e.fields)
      expect(f.get('_watermill_message_uuid')!.toString()).toBe(want.uuid)
      expect(f.get('payload')!.equals(want.payload)).toBe(true)
      const md = metadataOf(f.get('metadata')!)
      expect([...md.keys()].sort()).toEqual([...want.metadata.keys()].sort())
      for (const [k, v] of want.metadata) expect(md.get(k)!.equals(v), k).toBe(true)
      expect(md.get('source_topic')!.toString()).toBe('legacy-orders-v1')
      if (md.has('raw')) {
        sawRaw = true
        expect(md.get('raw')!.toString('hex')).toBe('fffe00' + Buffer.from('bytes').toString('hex'))
      }
    }
    expect(sawRaw, 'the capture has the non-UTF-8 metadata value').toBe(true)

    // dlq reads its replay back as the same Watermill message, not as a poison one.
    const back = dlqJson(['inspect', `${redis.address}/${dst}`, '--limit', '10']).json.items
    expect(back.map((m: any) => m.headers._watermill_message_uuid)).toEqual(rows.map((r) => originalWatermill(r).uuid))
    expect(back.every((m: any) => m.reason === null)).toBe(true)
  })

  it.runIf(GO !== null)('the real watermill-redisstream Subscriber reads every replayed entry and goes on reading', async () => {
    const rows = readCapture('watermill').redis
    const src = await load(rows)
    const dst = await target('lay-wmgo')
    expect(dlqJson(['replay', `${redis.address}/${src}`, '--all', '--to', dst, '--yes']).code).toBe(0)
    const got = readWithWatermill(dst, 'workers', 7)
    expect(got.loggedErrors).toEqual({})
    expect(got.received).toHaveLength(7)
    expect(got.pending).toBe(0)
    for (const [i, row] of rows.entries()) {
      const want = originalWatermill(row)
      const m = got.received[i]
      expect(m.uuid).toBe(want.uuid)
      expect(Buffer.from(m.payload, 'base64').equals(want.payload)).toBe(true)
      expect(Object.fromEntries(Object.entries(m.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('hex')]))).toEqual(
        Object.fromEntries([...want.metadata].map(([k, v]) => [k, v.toString('hex')])),
      )
    }
    // The well-formed message published after the replayed ones: the subscriber did not stop.
    expect(got.received[6].uuid).toBe('appended-valid')
  }, 120_000)

  it('hyperi entries go back as one field `payload` holding the original bytes (what its Redis transport reads, FINDINGS §3)', async () => {
    // The hyperi-rustlib transport cannot be built here (its source is in no registry), so this
    // asserts the exact layout fixtures/captured/hyperi-rustlib/FINDINGS.md section 3 documents.
    const rows = readCapture('hyperi-rustlib').redis.filter((r) => r.fields.length === 1)
    expect(rows.length).toBeGreaterThan(3)
    const src = await load(rows)
    const dst = await target('lay-hy')
    const uri = `${redis.address}/${src}`
    const plan = dlqJson(['replay', uri, '--all', '--to', dst, '--dry-run']).json
    const sends = plan.items.filter((i: any) => i.action === 'send')
    expect(sends.length).toBeGreaterThan(3)
    expect(sends.every((i: any) => i.layout === 'payload')).toBe(true)
    const res = dlqJson(['replay', uri, '--all', '--to', dst, '--yes']).json
    const replayed = res.items.filter((i: any) => i.outcome === 'replayed')
    expect(replayed).toHaveLength(sends.length)
    const byId = new Map((await entries(dst)).map((e) => [e.id, e.fields]))
    const rowById = new Map(rows.map((r) => [r.id, r]))
    for (const it of replayed) {
      const fields = byId.get(it.target.offset)!
      const entry = JSON.parse(Buffer.from(rowById.get(it.position)!.fields[0].value, 'base64').toString('utf8'))
      expect(fields.map(([n]) => n)).toEqual(['payload'])
      expect(fields[0][1].equals(Buffer.from(entry.payload, 'base64')), it.position).toBe(true)
    }
  })

  it('other messages follow the target stream’s newest entry; an empty stream gets dlq’s own layout; --layout and DLQ_REPLAY_LAYOUT override', async () => {
    const t = {
      payload: await target('lay-p'),
      body: await target('lay-b'),
      watermill: await target('lay-w'),
      own: await target('lay-o'),
      empty: await target('lay-e'),
      init: await target('lay-i'),
    }
    await client.xadd(t.payload, '*', 'payload', 'earlier')
    await client.xadd(t.body, '*', 'body', 'older', 'trace', 'x')
    await client.xadd(t.body, '*', 'body', 'earlier', 'key', 'k0', 'trace', 'y')
    await client.xadd(t.watermill, '*', '_watermill_message_uuid', 'u-1', 'metadata', '', 'payload', 'earlier')
    await client.xadd(t.own, '*', '_dlq', '1', 'value', 'earlier')
    // A lone field of another name (how tests and scripts often create a stream) says nothing: dlq's own.
    await client.xadd(t.init, '*', 'init', '1')
    const file = join(work, 'spring.ndjson')
    // Spring records (only the original topic recorded): user headers include a null and a repeated one.
    const line = (to: string, n: number) =>
      JSON.stringify({topic: 'orders-dlt', partition: 0, offset: n, timestamp: 1795341600000 + n, key: `k${n}`, value: `{"n":${n}}`, headers: [['kafka_dlt-original-topic', to], ['trace', `t${n}`], ['empty', null], ['trace', 'again']]})
    writeFileSync(file, Object.values(t).map(line).join('\n') + '\n')
    const sink = `${redis.address}/0`

    const plan = dlqJson(['replay', file, '--all', '--sink', sink, '--dry-run']).json
    expectSchema('replay-plan', plan)
    // The payload layout would strip the key and headers, and only a lone `payload` field chose it: skipped, unless asked for.
    expect(plan.items[0]).toMatchObject({action: 'skip', reason: 'layout_drops_data'})
    expect(plan.items.slice(1).map((i: any) => [i.target.topic, i.layout, i.layoutValueField ?? null])).toEqual([
      [t.body, 'fields', 'body'],
      [t.watermill, 'watermill', null],
      [t.own, 'dlq', null],
      [t.empty, 'dlq', null],
      [t.init, 'dlq', null],
    ])
    expect(dlq(['replay', file, '--all', '--sink', sink, '--dry-run']).stdout).toContain(`1 → ${t.body} (stream), layout fields (value in "body")`)
    // An explicit layout wins, from the flag or the environment.
    expect(dlqJson(['replay', file, '--all', '--sink', sink, '--dry-run', '--layout', 'payload']).json.items.every((i: any) => i.layout === 'payload')).toBe(true)
    expect(dlqJson(['replay', file, '--all', '--sink', sink, '--dry-run'], {env: {DLQ_REPLAY_LAYOUT: 'dlq'}}).json.items.every((i: any) => i.layout === 'dlq')).toBe(true)

    // Watermill has no key: the plan says it is not sent.
    expect(plan.items[2].dropped).toEqual({key: true, headers: []})
    const res = dlqJson(['replay', file, '--all', '--sink', sink, '--yes'])
    expect([res.code, res.json.items[0].reason]).toEqual([1, 'layout_drops_data'])
    expect(dlqJson(['replay', file, '--offset', '0', '--sink', sink, '--layout', 'payload', '--yes']).code).toBe(0)
    const last = async (k: string) => (await entries(k)).at(-1)!.fields.map(([n, v]) => [n, v.toString()])
    expect(await last(t.payload)).toEqual([['payload', '{"n":0}']])
    // A stream field cannot be null: the null header is written as an empty field.
    expect(await last(t.body)).toEqual([['body', '{"n":1}'], ['key', 'k1'], ['trace', 't1'], ['empty', ''], ['trace', 'again']])
    const wm = new Map((await entries(t.watermill)).at(-1)!.fields)
    expect([...wm.keys()]).toEqual(['_watermill_message_uuid', 'metadata', 'payload'])
    expect(wm.get('_watermill_message_uuid')!.toString()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Object.fromEntries([...metadataOf(wm.get('metadata')!)].map(([k, v]) => [k, v.toString()]))).toEqual({trace: 'again', empty: ''})
    expect(wm.get('payload')!.toString()).toBe('{"n":2}')
    for (const [n, k] of [t.own, t.empty, t.init].entries()) {
      const back = dlqJson(['inspect', `${redis.address}/${k}`, '--limit', '10']).json.items.at(-1)
      expect(back.key).toBe(`k${n + 3}`)
      expect(back.payload.text).toBe(`{"n":${n + 3}}`)
      expect((await last(k))[0]).toEqual(['_dlq', '1'])
    }
    if (consumer !== null) {
      // A Watermill service reads the generic message replayed into its stream too.
      const got = readWithWatermill(t.watermill, 'workers', 3)
      expect(got.loggedErrors).toEqual({})
      expect(got.received.map((m) => Buffer.from(m.payload, 'base64').toString())).toEqual(['earlier', '{"n":2}', '{"appended":true}'])
    }
  }, 60_000)

  it('a crash after the XADD and before the ledger said done: the next run finds the Watermill entry and the consumer gets each message once', async () => {
    const dst = await target('lay-crash')
    const file = join(work, 'watermill-kafka.ndjson')
    // Watermill poison records as its Kafka marshaler writes them (uuid in a header).
    const rec = (n: number) =>
      JSON.stringify({topic: 'orders-poison', partition: 0, offset: n, timestamp: 1795341600000 + n, key: null, value: `{"n":${n}}`, headers: [['_watermill_message_uuid', `uuid-${n}`], ['trace', `t${n}`], ['reason_poisoned', 'boom'], ['topic_poisoned', dst], ['handler_poisoned', 'h'], ['subscriber_poisoned', 'kafka.Subscriber']]})
    writeFileSync(file, [0, 1, 2].map(rec).join('\n') + '\n')
    const ledger = join(work, 'crash-ledger.ndjson')
    const args = ['replay', file, '--all', '--sink', `${redis.address}/0`, '--ledger', ledger, '--yes']
    expect(dlqJson(args).json.replayed).toBe(3)
    // The run "crashed" before recording its sends: only its claims remain (its process is gone).
    writeFileSync(ledger, readFileSync(ledger, 'utf8').split('\n').filter((l) => !l.includes('"op":"done"')).join('\n'))
    const again = dlqJson(args)
    expect(again.json.items.map((i: any) => [i.outcome, i.reason])).toEqual(Array(3).fill(['skipped', 'already_replayed']))
    expect(await client.xlen(dst)).toBe(3)
    if (consumer !== null) {
      const got = readWithWatermill(dst, 'workers', 4)
      expect(got.loggedErrors).toEqual({})
      expect(got.received.map((m) => m.uuid)).toEqual(['uuid-0', 'uuid-1', 'uuid-2', 'appended-valid'])
    }
  }, 60_000)

  it('the in-doubt lookup encodes the message in its layout, so an entry sent before a crash is found, not sent again', async () => {
    const k = await target('lay-find')
    const sink = await openSink(`${redis.address}/0`)
    try {
      const base: OutgoingMessage = {topic: k, partition: null, key: null, value: Buffer.from('{"n":1}'), headers: [{key: '_watermill_message_uuid', value: Buffer.from('u-9')}, {key: 'raw', value: Buffer.from([0xff, 0xfe])}], timestamp: null}
      for (const name of ['watermill', 'payload', 'fields', 'dlq'] as const) {
        const msg: OutgoingMessage = {...base, layout: name === 'fields' ? {name, valueField: 'body'} : {name}}
        const mark = await sink.mark!(k, null)
        const [sent] = await sink.send([msg])
        expect(await sink.find!(msg, mark), name).toEqual({topic: k, partition: null, offset: sent.offset})
        // The same bytes in another layout are not that entry.
        const other: OutgoingMessage = {...base, layout: {name: name === 'watermill' ? 'payload' : 'watermill'}}
        expect(await sink.find!(other, mark), `${name}: not found as another layout`).toBeNull()
      }
      // A run that crashed before consumer layouts (or with --layout dlq) wrote dlq's own layout:
      // that entry is the message too, found once.
      const hyperi: OutgoingMessage = {...base, headers: [], layout: {name: 'payload'}}
      const mark = await sink.mark!(k, null)
      const [old] = await sink.send([{...hyperi, layout: {name: 'dlq'}}])
      expect(await sink.find!(hyperi, mark)).toEqual({topic: k, partition: null, offset: old.offset})
      expect(await sink.find!(hyperi, mark)).toBeNull()
    } finally {
      await sink.close()
    }
  })
})
