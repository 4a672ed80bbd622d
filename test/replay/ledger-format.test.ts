import {appendFileSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {eventLine, FileLedger} from '../../src/backends/file/ledger.js'
import {dlqJson} from '../helpers/cli.js'
import {ledgerDone} from '../helpers/ledger.js'
import {needService, uniqueName} from '../helpers/services.js'
import {claimEvents, doneEvents, foldLedger, packList, unpackList, type AnyLedgerEvent, type LedgerEvent} from '../../src/core/replay/ledger.js'

const at = '2026-11-30T12:00:00.000Z'
const tmp = () => mkdtempSync(join(tmpdir(), 'dlq-ledger-format-'))
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l))

describe('packed identity lists', () => {
  it('keep every item in order, writing a shared prefix once and consecutive numbers as a count', () => {
    const kafka = Array.from({length: 2000}, (_, i) => `kafka:AbCdEf123:${i < 1000 ? 0 : 2}:${(i < 1000 ? 5000 : 70) + (i % 1000)}`)
    const packed = packList(kafka)
    expect(packed.p).toBe('kafka:AbCdEf123:')
    expect(packed.i).toEqual(['0:5000', 999, '2:70', 999])
    // As read back from the file (a list packed in this process unpacks to the array it came from).
    const written = (l: object) => JSON.parse(JSON.stringify(l))
    expect(unpackList(written(packed))).toEqual(kafka)
    expect(unpackList(packed)).toBe(kafka)

    // Redis entry ids: a run per millisecond.
    const redis = ['1796047653665-0', '1796047653665-1', '1796047653665-2', '1796047653666-0', '1796047653666-1']
    expect(packList(redis)).toEqual({p: '179604765366', i: ['5-0', 2, '6-0', 1]})
    expect(unpackList(written(packList(redis)))).toEqual(redis)
    // One item is written as it is.
    expect(packList(['msg:8036bd7c'])).toEqual({p: '', i: ['msg:8036bd7c']})
  })

  it('round-trips what does not step by one: digests, leading zeros, huge numbers, gaps, repeats, empty items', () => {
    const cases = [
      ['msg:02e7a738de494a38c7ac4b3304f7ca1f', 'msg:4af9bacef345180e53f3526ab8ea15a8', 'msg:4af9bacef345180e53f3526ab8ea15a9'],
      ['a07', 'a08', 'a09', 'a010'],
      ['x9', 'x10', 'x11', 'x13', 'x13', 'x14'],
      ['9007199254740990', '9007199254740991', '9007199254740992', '9007199254740993'],
      ['p:99999999999999999998', 'p:99999999999999999999'],
      ['', '0', '1', ''],
      ['same', 'same'],
      ['1', '2', '3'],
      ['ö:1', 'ö:2', '😀'],
      [],
    ]
    for (const xs of cases) expect(unpackList(JSON.parse(JSON.stringify(packList(xs))))).toEqual(xs)
  })
})

describe('batch ledger events', () => {
  it('fold like one event per message; a done carries an added field into its entries', () => {
    const entries = [
      {position: 'msg:a', target: {topic: 't', partition: 0}, mark: '{"0":5}'},
      {position: 'msg:b', target: {topic: 't', partition: 1}, mark: '{"1":9}'},
      {position: 'msg:c', target: {topic: 't', partition: 0}, mark: '{"0":5}'},
    ]
    const claims = claimEvents(entries, 'r1', false, at)
    expect(claims).toHaveLength(2)
    const one: LedgerEvent[] = entries.map((e) => ({op: 'claim', position: e.position, runId: 'r1', target: e.target, mark: e.mark, force: false, at}))
    expect(foldLedger(claims)).toEqual(foldLedger(one))

    const done = doneEvents(
      [
        {position: 'msg:a', target: {topic: 't', partition: 0}, offset: '10'},
        {position: 'msg:c', target: {topic: 't', partition: 0}, offset: '11'},
        {position: 'msg:b', target: {topic: 't', partition: 1}, offset: '3', edited: true} as never,
      ],
      'r1',
      at,
    )
    const state = foldLedger([...claims, ...done])
    expect(state.get('msg:a')).toEqual({position: 'msg:a', state: 'done', runId: 'r1', target: {topic: 't', partition: 0}, mark: null, offset: '10', at})
    expect(state.get('msg:c')?.offset).toBe('11')
    expect(state.get('msg:b')).toMatchObject({state: 'done', offset: '3', edited: true})
  })

  it('a batch claim is won only where the position was free: first claim wins, per message', () => {
    const old: AnyLedgerEvent[] = [{op: 'claim', position: 'msg:b', runId: 'other', target: {topic: 't', partition: null}, mark: null, force: false, at}]
    const mine = claimEvents(['msg:a', 'msg:b', 'msg:c'].map((position) => ({position, target: {topic: 't', partition: null}, mark: null})), 'me', false, at)
    const state = foldLedger([...old, ...mine])
    expect([...state.values()].map((e) => [e.position, e.runId])).toEqual([
      ['msg:b', 'other'],
      ['msg:a', 'me'],
      ['msg:c', 'me'],
    ])
    // --force takes the position over; a release drops only this run's claims.
    const forced = foldLedger([...old, ...claimEvents([{position: 'msg:b', target: {topic: 't', partition: null}, mark: null}], 'me', true, at)])
    expect(forced.get('msg:b')?.runId).toBe('me')
    expect([...foldLedger([...old, ...mine, {op: 'release', ids: packList(['msg:a', 'msg:b']), runId: 'me', at}]).keys()]).toEqual(['msg:b', 'msg:c'])
  })

  it('an edited message is claimed and completed in an event of its own edit, which its entry carries', () => {
    const target = {topic: 't', partition: null}
    const edit = {sha256: 'ab'.repeat(32)}
    const claims = claimEvents([{position: 'msg:a', target, mark: null}, {position: 'msg:b', target, mark: null, edit}, {position: 'msg:c', target, mark: null}], 'r', false, at)
    expect(claims.map((e) => [unpackList(e.ids), e.edit])).toEqual([
      [['msg:a', 'msg:c'], undefined],
      [['msg:b'], edit],
    ])
    const done = doneEvents([{position: 'msg:b', target, offset: '1', edit}], 'r', at)
    expect(foldLedger(claims).get('msg:b')?.edit).toEqual(edit)
    expect(foldLedger([...claims, ...done]).get('msg:b')).toMatchObject({state: 'done', offset: '1', edit})
    expect(foldLedger(claims).get('msg:a')).not.toHaveProperty('edit')
  })

  it("a claim naming the run it takes over takes only that run's unconfirmed claim: of two replays resolving one doubt, the first holds it", () => {
    const t = {topic: 'orders', partition: 0}
    const k = ['kafka:T:0:1', 'kafka:T:0:2', 'kafka:T:0:3']
    const crashed = [...claimEvents(k.map((position) => ({position, target: t, mark: '5'})), 'host/1/crashed', false, at), ...doneEvents([{position: k[2], target: t, offset: '9'}], 'host/1/crashed', at)]
    // Two replays take over the crashed run's doubts at once (each found them absent from the target).
    const takeOver = (runId: string, mark: string) => claimEvents(k.map((position) => ({position, target: t, mark, over: 'host/1/crashed'})), runId, false, at)
    const events = [...crashed, ...takeOver('host/2/a', '6'), ...takeOver('host/3/b', '7')]
    const state = foldLedger(events)
    expect(k.map((p) => [state.get(p)?.runId, state.get(p)?.state, state.get(p)?.mark ?? state.get(p)?.offset])).toEqual([
      ['host/2/a', 'claimed', '6'],
      ['host/2/a', 'claimed', '6'],
      ['host/1/crashed', 'done', '9'],
    ])
    expect(events.at(-1)).toMatchObject({op: 'claim', force: false, over: 'host/1/crashed'})
    expect(state.get(k[0])).not.toHaveProperty('over')
    // A dlq from before `over` reads the takeovers as claims on held positions, which do not
    // count: it still sees the crashed run's doubts (and looks for them from its mark).
    const older = foldLedger(events.map((e) => ({...e, over: undefined})))
    expect(k.map((p) => older.get(p)?.runId)).toEqual(['host/1/crashed', 'host/1/crashed', 'host/1/crashed'])
    // --force names no run: it takes whatever is held, as before.
    const forced = foldLedger([...events, ...claimEvents([{position: k[2], target: t, mark: null}], 'host/4/c', true, at)])
    expect(forced.get(k[2])?.runId).toBe('host/4/c')
    // The one-message format reads the same field.
    const one = foldLedger([...crashed, {op: 'claim', position: k[0], runId: 'host/2/a', target: t, mark: '6', force: true, over: 'host/9/other', at}])
    expect(one.get(k[0])?.runId).toBe('host/1/crashed')
    expect(foldLedger([...crashed, {op: 'claim', position: k[0], runId: 'host/2/a', target: t, mark: '6', force: false, over: 'host/1/crashed', at}]).get(k[0])?.runId).toBe('host/2/a')
  })

  it('a damaged batch event is skipped, not fatal', () => {
    const bad = {op: 'claim', ids: {p: 'x', i: [5]}, runId: 'r', target: {topic: 't', partition: null}, mark: null, at} as AnyLedgerEvent
    const good = claimEvents([{position: 'msg:z', target: {topic: 't', partition: null}, mark: null}], 'r', false, at)
    expect([...foldLedger([bad, ...good]).keys()]).toEqual(['msg:z'])
  })
})

describe('the file ledger', () => {
  it('reads a ledger written one line per message and appends batches to it', async () => {
    const path = join(tmp(), 'ledger.ndjson')
    const old: LedgerEvent[] = [
      {op: 'claim', position: 'msg:old1', runId: 'r0', target: {topic: 'orders', partition: 2}, mark: '{"2":40}', force: false, at},
      {op: 'done', position: 'msg:old1', runId: 'r0', target: {topic: 'orders', partition: 2}, offset: '41', at},
      {op: 'claim', position: 'msg:old2', runId: 'r0', target: {topic: 'orders', partition: 2}, mark: '{"2":40}', force: false, at},
    ]
    writeFileSync(path, old.map(eventLine).join(''))
    const ledger = new FileLedger(path)
    const seen = await ledger.read(['msg:old1', 'msg:old2', 'msg:new'])
    expect(seen.get('msg:old1')).toMatchObject({state: 'done', offset: '41'})
    expect(seen.get('msg:old2')).toMatchObject({state: 'claimed', mark: '{"2":40}'})
    expect(seen.has('msg:new')).toBe(false)

    const held = await ledger.claim(['msg:old1', 'msg:new', 'msg:new2'].map((position) => ({position, target: {topic: 'orders', partition: 2}, mark: '{"2":50}'})), 'r1', false)
    expect([...held]).toEqual(['msg:new', 'msg:new2'])
    await ledger.complete([{position: 'msg:new', target: {topic: 'orders', partition: 2}, offset: '51'}, {position: 'msg:new2', target: {topic: 'orders', partition: 2}, offset: '52'}], 'r1')
    // One claim line and one done line for the batch, after the old lines.
    const written = lines(path)
    expect(written).toHaveLength(5)
    expect(written.slice(3).map((e) => [e.op, unpackList(e.ids), e.offsets ? unpackList(e.offsets) : null])).toEqual([
      ['claim', ['msg:new', 'msg:new2'], null],
      ['done', ['msg:new', 'msg:new2'], ['51', '52']],
    ])
    // A fresh reader of the mixed file sees both formats.
    const again = await new FileLedger(path).read(['msg:old1', 'msg:old2', 'msg:new', 'msg:new2'])
    expect([...again.values()].map((e) => [e.position, e.state, e.offset])).toEqual([
      ['msg:old1', 'done', '41'],
      ['msg:old2', 'claimed', null],
      ['msg:new', 'done', '51'],
      ['msg:new2', 'done', '52'],
    ])
  })

  it('a crash between a batch claim and its done leaves the batch in doubt; a cut last line is no claim', async () => {
    const path = join(tmp(), 'ledger.ndjson')
    const crashed = new FileLedger(path)
    const ids = Array.from({length: 5}, (_, i) => `kafka:T:0:${100 + i}`)
    await crashed.claim(ids.map((position) => ({position, target: {topic: 'orders', partition: 0}, mark: '{"0":7}'})), 'host/1/crashed', false)
    expect(lines(path)).toHaveLength(1)
    expect(lines(path)[0].ids).toEqual({p: 'kafka:T:0:10', i: ['0', 4]})
    // The crash cut the next event mid-line.
    appendFileSync(path, '{"op":"done","ids":{"p":"kafka:T:0:10","i":["0",4]},"runId":"host/1/cr')
    const later = await new FileLedger(path).read([...ids, 'kafka:T:0:105'])
    expect(later.size).toBe(5)
    for (const e of later.values()) expect(e).toMatchObject({state: 'claimed', runId: 'host/1/crashed', mark: '{"0":7}'})
  })

  it("two replays taking over the same crashed claim at once: each message is held by one, and a fresh reader agrees", async () => {
    const path = join(tmp(), 'ledger.ndjson')
    const ids = Array.from({length: 50}, (_, i) => `kafka:T:0:${i}`)
    const target = {topic: 'orders', partition: 0}
    await new FileLedger(path).claim(ids.map((position) => ({position, target, mark: '1'})), 'host/1/crashed', false)
    const takeOver = (position: string) => ({position, target, mark: '2', over: 'host/1/crashed'})
    const [a, b] = [new FileLedger(path), new FileLedger(path)]
    const [ha, hb] = await Promise.all([a.claim(ids.map(takeOver), 'host/2/a', false), b.claim(ids.map(takeOver), 'host/3/b', false)])
    expect(ha.size + hb.size).toBe(ids.length)
    for (const p of ids) expect(ha.has(p) !== hb.has(p)).toBe(true)
    const seen = await new FileLedger(path).read(ids)
    for (const p of ids) expect(seen.get(p)?.runId).toBe(ha.has(p) ? 'host/2/a' : 'host/3/b')
  })

  it('reads a ledger larger than one read chunk, with a line longer than a chunk', async () => {
    const path = join(tmp(), 'ledger.ndjson')
    const many = Array.from({length: 200_000}, (_, i) => `msg:${((i * 2654435761) >>> 0).toString(16).padStart(8, '0')}${i.toString(16).padStart(24, '0')}`)
    const events = [...claimEvents(many.map((position) => ({position, target: {topic: 't', partition: null}, mark: null})), 'r', false, at)]
    const small = Array.from({length: 20_000}, (_, i) => ({op: 'done', position: many[i], runId: 'r', target: {topic: 't', partition: null}, offset: String(i), at}) as LedgerEvent)
    writeFileSync(path, events.map((e) => JSON.stringify(e) + '\n').join('') + small.map(eventLine).join(''))
    expect(readFileSync(path).length).toBeGreaterThan(5 * 1024 * 1024)
    const got = await new FileLedger(path).read([many[0], many[19_999], many[20_000], many[199_999]])
    expect([...got.values()].map((e) => [e.state, e.offset])).toEqual([
      ['done', '0'],
      ['done', '19999'],
      ['claimed', null],
      ['claimed', null],
    ])
  })
})

const kafka = await needService('kafka')

describe.runIf(kafka.available)('the Kafka topic ledger with batch events', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const {KafkaLedger} = await import('../../src/backends/kafka/ledger.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())
  const target = {topic: 'orders', partition: 0}
  const ids = Array.from({length: 6}, (_, i) => `kafka:TopicId:0:${100 + i}`)

  it('a batch claim is partly won (first claim in the log wins), old one-message records are still read, a crash leaves doubt', async () => {
    const dlq = uniqueName('ledger-batch')
    const uri = `${KAFKA_URI}/${dlq}`
    const a = await KafkaLedger.open(uri)
    const b = await KafkaLedger.open(uri)
    const c = await KafkaLedger.open(uri)
    try {
      expect([...(await a.claim(ids.slice(0, 2).map((position) => ({position, target, mark: '{"0":7}'})), 'host/1/a', false))]).toEqual(ids.slice(0, 2))
      // An older dlq wrote one record per message.
      const old = (op: string, extra: object) => ({value: JSON.stringify({op, position: ids[5], runId: 'host/1/old', target, ...extra, at})})
      await fx.produce(`${dlq}.dlq-replay-ledger`, [old('claim', {mark: null, force: false}), old('done', {offset: '9'})])
      const held = await b.claim(ids.map((position) => ({position, target, mark: '{"0":8}'})), 'host/1/b', false)
      expect([...held]).toEqual(ids.slice(2, 5))
      await b.complete(ids.slice(2, 5).map((position, k) => ({position, target, offset: String(20 + k)})), 'host/1/b')
      // `a` crashed after its claim: its batch is in doubt, with the mark it recorded.
      const seen = await c.read(ids)
      expect(ids.map((id) => [seen.get(id)?.state, seen.get(id)?.runId, seen.get(id)?.offset ?? seen.get(id)?.mark])).toEqual([
        ['claimed', 'host/1/a', '{"0":7}'],
        ['claimed', 'host/1/a', '{"0":7}'],
        ['done', 'host/1/b', '20'],
        ['done', 'host/1/b', '21'],
        ['done', 'host/1/b', '22'],
        ['done', 'host/1/old', '9'],
      ])
      // b claimed what it saw free (one record) and completed it (one record), its ids packed as a run.
      const records = dlqJson(['inspect', `${uri}.dlq-replay-ledger`, '--limit', '100']).json.items.map((m: any) => JSON.parse(m.payload.text))
      expect(records.filter((e: any) => e.runId === 'host/1/b').map((e: any) => [e.op, e.ids])).toEqual([
        ['claim', {p: 'kafka:TopicId:0:10', i: ['2', 2]}],
        ['done', {p: 'kafka:TopicId:0:10', i: ['2', 2]}],
      ])
    } finally {
      await Promise.all([a.close(), b.close(), c.close()])
    }
  })

  it('a read of the log that fails part-way is read again from where it began: nothing it had read is lost to that ledger', async () => {
    const uri = `${KAFKA_URI}/${uniqueName('ledger-partial')}`
    // More than one Fetch of the log (1 MiB each): 4 batches of 12,000 ids no packing shortens.
    const keys = Array.from({length: 48_000}, (_, i) => `kafka:TopicId:3:${((i * 7919) % 48_000) * 1_000_003}`)
    const writer = await KafkaLedger.open(uri)
    try {
      for (let c = 0; c < 4; c++) {
        const batch = keys.slice(c * 12_000, (c + 1) * 12_000)
        const held = await writer.claim(batch.map((position) => ({position, target, mark: null})), 'host/1/a', false)
        await writer.complete([...held].map((position, i) => ({position, target, offset: String(i)})), 'host/1/a')
      }
    } finally {
      await writer.close()
    }
    // A ledger held open for long (browse keeps one): its second Fetch loses the connection.
    const open = await KafkaLedger.open(uri)
    try {
      const client = (open as unknown as {client: {fetch: (...a: unknown[]) => Promise<unknown>}}).client
      const real = client.fetch.bind(client)
      let calls = 0
      client.fetch = (...a: unknown[]) => (++calls === 2 ? Promise.reject(new Error('read ECONNRESET')) : real(...a))
      await expect(open.read(keys)).rejects.toThrow()
      const seen = await open.read(keys)
      expect(calls).toBeGreaterThan(2)
      expect(keys.filter((k) => seen.get(k)?.state !== 'done')).toEqual([])
      // Another run may not take a message replayed.
      expect([...(await open.claim([{position: keys[30_000], target, mark: null}], 'host/1/b', false))]).toEqual([])
    } finally {
      await open.close()
    }
  })

  it("a read that stops short of the end (a new leader's high watermark catching up) goes on from there next time", async () => {
    const uri = `${KAFKA_URI}/${uniqueName('ledger-short')}`
    const writer = await KafkaLedger.open(uri)
    const some = ids.map((id) => `${id}-short`)
    try {
      await writer.claim(some.map((position) => ({position, target, mark: null})), 'host/1/a', false)
      await writer.complete(some.map((position, i) => ({position, target, offset: String(i)})), 'host/1/a')
    } finally {
      await writer.close()
    }
    const open = await KafkaLedger.open(uri)
    try {
      // The first Fetch is answered as a leader just elected may: nothing yet, high watermark 0.
      const client = (open as unknown as {client: {fetch: (...a: unknown[]) => Promise<Record<string, unknown>>}}).client
      const real = client.fetch.bind(client)
      let calls = 0
      client.fetch = async (...a: unknown[]) => {
        const fp = await real(...a)
        return ++calls === 1 ? {...fp, records: null, highWatermark: 0, lastStableOffset: 0} : fp
      }
      expect([...(await open.read(some)).values()].filter((e) => e.state === 'done')).toHaveLength(0)
      expect([...(await open.read(some)).values()].filter((e) => e.state === 'done')).toHaveLength(some.length)
    } finally {
      await open.close()
    }
  })

  it('two runs claiming the same batch at once: every message is held by exactly one', async () => {
    const uri = `${KAFKA_URI}/${uniqueName('ledger-race')}`
    const many = Array.from({length: 500}, (_, i) => `kafka:TopicId:1:${i}`)
    const [a, b] = await Promise.all([KafkaLedger.open(uri), KafkaLedger.open(uri)])
    try {
      // Create the topic first, so both claims below race on appending, not on creating it.
      await a.claim([{position: 'kafka:TopicId:9:0', target, mark: null}], 'host/1/setup', false)
      const [ha, hb] = await Promise.all([
        a.claim(many.map((position) => ({position, target, mark: null})), 'host/1/a', false),
        b.claim(many.map((position) => ({position, target, mark: null})), 'host/1/b', false),
      ])
      expect(ha.size + hb.size).toBe(many.length)
      for (const p of many) expect(ha.has(p) !== hb.has(p)).toBe(true)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('two runs taking over the same crashed claim at once: every message is held by exactly one', async () => {
    const uri = `${KAFKA_URI}/${uniqueName('ledger-takeover')}`
    const many = Array.from({length: 200}, (_, i) => `kafka:TopicId:2:${i}`)
    const [crashed, a, b, c] = await Promise.all([KafkaLedger.open(uri), KafkaLedger.open(uri), KafkaLedger.open(uri), KafkaLedger.open(uri)])
    try {
      await crashed.claim(many.map((position) => ({position, target, mark: '1'})), 'host/1/crashed', false)
      const takeOver = (position: string) => ({position, target, mark: '2', over: 'host/1/crashed'})
      const [ha, hb] = await Promise.all([a.claim(many.map(takeOver), 'host/2/a', false), b.claim(many.map(takeOver), 'host/3/b', false)])
      expect(ha.size + hb.size).toBe(many.length)
      for (const p of many) expect(ha.has(p) !== hb.has(p)).toBe(true)
      const seen = await c.read(many)
      for (const p of many) expect(seen.get(p)?.runId).toBe(ha.has(p) ? 'host/2/a' : 'host/3/b')
    } finally {
      await Promise.all([crashed.close(), a.close(), b.close(), c.close()])
    }
  })
})

const redis = await needService('redis')

describe.runIf(redis.available)('the Redis ledger', () => {
  it('two runs taking over the same crashed claim at once: every message is held by exactly one; --force still takes any', async () => {
    const {openRedisLedger} = await import('../../src/backends/redis/index.js')
    const uri = `${redis.address}/0/${uniqueName('ledger-takeover')}`
    const [crashed, a, b, c] = await Promise.all([openRedisLedger(uri), openRedisLedger(uri), openRedisLedger(uri), openRedisLedger(uri)])
    const target = {topic: 'orders', partition: null}
    const many = Array.from({length: 200}, (_, i) => `redis:1764000000000-${i}:abc`)
    try {
      await crashed.claim(many.map((position) => ({position, target, mark: '1-0'})), 'host/1/crashed', false)
      await crashed.complete([{position: many[0], target, offset: '5-0'}], 'host/1/crashed')
      const takeOver = (position: string) => ({position, target, mark: '2-0', over: 'host/1/crashed'})
      const [ha, hb] = await Promise.all([a.claim(many.map(takeOver), 'host/2/a', false), b.claim(many.map(takeOver), 'host/3/b', false)])
      // The completed one is no doubt: neither takes it.
      expect(ha.has(many[0]) || hb.has(many[0])).toBe(false)
      expect(ha.size + hb.size).toBe(many.length - 1)
      for (const p of many.slice(1)) expect(ha.has(p) !== hb.has(p)).toBe(true)
      const seen = await c.read(many)
      for (const p of many.slice(1)) expect(seen.get(p)?.runId).toBe(ha.has(p) ? 'host/2/a' : 'host/3/b')
      expect([...(await c.claim([{position: many[0], target, mark: null}], 'host/4/c', true))]).toEqual([many[0]])
    } finally {
      await Promise.all([crashed.close(), a.close(), b.close(), c.close()])
    }
  })
})

describe.runIf(redis.available)('a crash between a batch claim and its done', () => {
  it('leaves the batch in doubt; the next run finds what landed and sends only the rest, once', async () => {
    const {Redis} = await import('ioredis')
    const client = new Redis(redis.address)
    const stream = uniqueName('ledger-crash')
    try {
      await client.xadd(stream, '*', 'init', '1')
      const dir = tmp()
      const src = join(dir, 'dlq.ndjson')
      const entry = (i: number) => JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'r', attempts: 0, payload: Buffer.from(`{"n":${i}}`).toString('base64'), source: {topic: 'orders', partition: 0, offset: i}})
      writeFileSync(src, [0, 1, 2, 3].map(entry).join('\n') + '\n')
      const ledger = join(dir, 'ledger.ndjson')
      const args = ['replay', src, '--all', '--to', stream, '--sink', redis.address, '--ledger', ledger, '--yes']
      expect(dlqJson(args).json.replayed).toBe(4)
      // The run "crashed" after its batch claim; of its sends only entries 0 and 2 reached the stream.
      const events = lines(ledger)
      expect(events.map((e) => e.op)).toEqual(['claim', 'done'])
      writeFileSync(ledger, JSON.stringify(events[0]) + '\n')
      const landed = (await client.xrange(stream, '-', '+')).slice(1)
      await client.xdel(stream, landed[1][0], landed[3][0])

      const again = dlqJson(args)
      expect(again.code).toBe(0)
      expect(again.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
        ['0', 'skipped', 'already_replayed'],
        ['1', 'replayed', null],
        ['2', 'skipped', 'already_replayed'],
        ['3', 'replayed', null],
      ])
      const now = (await client.xrange(stream, '-', '+')).slice(1).map(([, f]) => JSON.parse(f[f.indexOf('payload') + 1]).n)
      expect(now).toEqual([0, 2, 1, 3])
      // A third run sends nothing: the ledger now knows all four.
      expect(dlqJson(args).json.items.map((i: any) => i.reason)).toEqual(Array(4).fill('already_replayed'))
      expect(ledgerDone(ledger)).toBe(4)
    } finally {
      await client.del(stream)
      client.disconnect()
    }
  })
})

describe('the file ledger held compactly (LedgerIndex)', () => {
  /** A small deterministic random source, so a failure can be replayed. */
  const rng = (seed: number) => () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)

  // A small index is a Map, a large one the compact table, and one may become the other midway.
  it.each([
    ['a Map', undefined],
    ['the compact table', 0],
    ['a Map that becomes the table', 30],
  ])('answers exactly as folding every event in memory, for random logs of both formats written in several appends (%s)', async (_, mapLimit) => {
    for (let seed = 1; seed <= 12; seed++) {
      const rand = rng(seed)
      const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]
      // File digests, Kafka identities (packed as runs) and Redis ones (hashed in the index).
      const ids = [
        ...Array.from({length: 40}, (_, i) => `msg:${((i + seed) * 2_654_435_761).toString(16).padStart(32, '0').slice(-32)}`),
        ...Array.from({length: 40}, (_, i) => `kafka:TID:${i % 2}:${i}`),
        ...Array.from({length: 20}, (_, i) => `redis:17000000-${i}:abc`),
        // digest-shaped but not lowercase hex: hashed like any other key
        `msg:${'A'.repeat(32)}`,
        `msg:${'z'.repeat(32)}`,
      ]
      const runs = ['host/1/a', 'host/2/b', 'host/3/c']
      const path = join(tmp(), 'ledger.ndjson')
      const all: AnyLedgerEvent[] = []
      const reader = new FileLedger(path, {mapLimit})
      for (let append = 0; append < 6; append++) {
        const events: AnyLedgerEvent[] = []
        for (let n = 0; n < 1 + Math.floor(rand() * 8); n++) {
          const runId = pick(runs)
          const some = ids.filter(() => rand() < 0.3)
          const target = {topic: pick(['t1', 't2']), partition: pick([null, 0, 1])}
          const op = pick(['claim', 'claim', 'done', 'done', 'release'] as const)
          if (rand() < 0.3) {
            // the one-message format
            for (const position of some.slice(0, 5)) {
              events.push(op === 'release' ? {op, position, runId, at} : op === 'claim' ? {op, position, runId, target, mark: pick([null, '5']), force: rand() < 0.2, ...(rand() < 0.5 ? {over: pick(runs)} : {}), at} : {op, position, runId, target, offset: String(Math.floor(rand() * 100)), at})
            }
          } else if (op === 'claim') {
            // A forced claim may name the run it takes over (the rule of ledger.ts claimTakes).
            const over = rand() < 0.5 ? pick(runs) : undefined
            events.push(...claimEvents(some.map((position) => ({position, target, mark: pick([null, '7']), ...(over ? {over} : {})})), runId, rand() < 0.3, at))
          }
          else if (op === 'done') events.push(...doneEvents(some.map((position, k) => ({position, target, offset: `${1000 + k}`})), runId, at))
          else if (some.length > 0) events.push({op: 'release', ids: packList(some), runId, at})
        }
        appendFileSync(path, events.map((e) => JSON.stringify(e) + '\n').join(''))
        all.push(...events)
        // Read between appends (another replay appending meanwhile), and once from scratch at the end.
        const want = foldLedger(all)
        const got = await reader.read(ids)
        expect([...got.entries()].sort(), `seed ${seed}, append ${append}`).toEqual([...want.entries()].sort())
      }
      const fresh = await new FileLedger(path, {mapLimit}).read(ids)
      expect([...fresh.entries()].sort()).toEqual([...foldLedger(all).entries()].sort())
    }
  })

  it('claims and forgets 100,000 messages through its own appends, and a fresh reader sees them all', async () => {
    const path = join(tmp(), 'ledger.ndjson')
    const ledger = new FileLedger(path)
    const target = {topic: 't', partition: null}
    const ids = Array.from({length: 100_000}, (_, i) => `msg:${(i * 2_654_435_761 + 7).toString(16).padStart(32, 'f').slice(-32)}`)
    for (let i = 0; i < ids.length; i += 2000) {
      const batch = ids.slice(i, i + 2000)
      expect((await ledger.claim(batch.map((position) => ({position, target, mark: null})), 'host/1/me', false)).size).toBe(batch.length)
      await ledger.complete(batch.map((position, k) => ({position, target, offset: `170-${i + k}`})), 'host/1/me')
      ledger.forget(batch)
    }
    // Forgotten here (this run does not look again) ...
    expect((await ledger.read(ids.slice(0, 10))).size).toBe(0)
    // ... and all there for the next run.
    const again = await new FileLedger(path).read(ids)
    expect(again.size).toBe(ids.length)
    expect(again.get(ids[54_321])).toMatchObject({state: 'done', offset: '170-54321', runId: 'host/1/me'})
    // Taken by another run: only with --force.
    const other = new FileLedger(path)
    expect((await other.claim([{position: ids[5], target, mark: null}], 'host/2/other', false)).size).toBe(0)
    expect((await other.claim([{position: ids[5], target, mark: null}], 'host/2/other', true)).size).toBe(1)
  })
})
