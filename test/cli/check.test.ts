import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {needService, uniqueName} from '../helpers/services.js'
import {KAFKA_URI, KafkaFixture} from '../kafka-fixtures.js'

const env = {DLQ_CACHE_DIR: mkdtempSync(join(tmpdir(), 'dlq-check-cache-'))}
const redisSvc = await needService('redis')
const kafkaSvc = await needService('kafka')

const MIN = 60_000
/** A hyperi-rustlib entry, `ago` ms before now. */
const entry = (ago: number, reason: string, i: number) =>
  JSON.stringify({timestamp: Date.now() - ago, service: 'ingest', reason, attempts: 1, payload: Buffer.from(`{"n":${i}}`).toString('base64'), source: {topic: 'orders'}})

/** 6 old entries (2 h ago) and 4 recent (1–4 min ago: 3 parse_error, 1 timeout). */
function entries(): string[] {
  const old = Array.from({length: 6}, (_, i) => entry(120 * MIN, i % 2 ? 'timeout' : 'parse_error', i))
  const recent = [entry(4 * MIN, 'parse_error', 6), entry(3 * MIN, 'timeout', 7), entry(2 * MIN, 'parse_error', 8), entry(1 * MIN, 'parse_error', 9)]
  return [...old, ...recent]
}

/** Every store gets the same questions. */
function gate(source: () => string) {
  it('exits 0 at or under --max and 5 over it, with a one-line summary', () => {
    const ok = dlq(['check', source(), '--max', '10'], {env})
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/^OK: 10 messages match, at most --max 10 \(.*parse_error 6, timeout 4\)\n$/)
    const over = dlq(['check', source(), '--max', '9'], {env})
    expect(over.code).toBe(5)
    expect(over.stdout).toMatch(/^OVER: 10 messages match, more than --max 9 /)
    expect(over.stdout.trim().split('\n')).toHaveLength(1)
  })

  it('--since bounds the count to the window', () => {
    const r = dlqJson(['check', source(), '--max', '3', '--since', '-30m'], {env})
    expect(r.code).toBe(5)
    expectSchema('check', r.json)
    expect(r.json).toMatchObject({count: 4, max: 3, over: true, unreadable: 0})
    expect(r.json.byReason).toEqual([
      {value: 'parse_error', count: 3},
      {value: 'timeout', count: 1},
    ])
    expect(Date.parse(r.json.window.since)).toBeGreaterThan(Date.now() - 31 * MIN)
    expect(r.json.window.until).toBeNull()
  })

  it('--filter narrows what is counted', () => {
    const r = dlqJson(['check', source(), '--max', '3', '--since', '-30m', '--filter', 'reason=parse_error'], {env})
    expect(r.code).toBe(0)
    expect(r.json).toMatchObject({count: 3, over: false, byReason: [{value: 'parse_error', count: 3}]})
    const none = dlq(['check', source(), '--max', '0', '--since', '-30m', '--filter', 'reason=nothing-like-this'], {env})
    expect(none.code).toBe(0)
    expect(none.stdout).toMatch(/^OK: 0 messages match, at most --max 0/)
  })
}

describe('dlq check on files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dlq-check-'))
  const file = join(dir, 'dlq.ndjson')
  beforeAll(() => writeFileSync(file, entries().join('\n') + '\n'))
  gate(() => file)

  it('needs --max, rejects a negative one, and an unreadable source keeps its own exit code', () => {
    expect(dlq(['check', file], {env}).code).toBe(2)
    expect(dlq(['check', file, '--max', '-1'], {env}).code).toBe(2)
    expect(dlq(['check', join(dir, 'missing.ndjson'), '--max', '0'], {env}).code).toBe(4)
  })

  it('an empty services root or service directory is OK with 0 (a fresh spool), a directory of other files is still exit 4', () => {
    const root = join(dir, 'spool')
    mkdirSync(join(root, 'ingest'), {recursive: true})
    for (const src of [root, join(root, 'ingest')]) {
      const r = dlqJson(['check', src, '--max', '0'], {env})
      expect([r.code, r.json.count, r.json.over]).toEqual([0, 0, false])
      expect(r.json.warnings).toEqual([expect.stringMatching(/no DLQ file yet .*read as an empty DLQ/)])
      expect(dlqJson(['stats', src], {env}).json.total).toBe(0)
    }
    const other = join(dir, 'other')
    mkdirSync(other)
    writeFileSync(join(other, 'notes.txt'), 'x')
    const refused = dlq(['check', other, '--max', '0'], {env})
    expect(refused.code).toBe(4)
    expect(refused.stderr).toMatch(/no DLQ files here/)
  })

  it('counts unreadable records (they are in the DLQ too) and escapes reasons', () => {
    const r = dlq(['check', join(FIXTURES, 'hostile.ndjson'), '--max', '0'], {env})
    expect(r.code).toBe(5)
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
    const corrupt = dlqJson(['check', join(FIXTURES, 'corrupt.ndjson'), '--max', '1000'], {env})
    expect(corrupt.json.unreadable).toBeGreaterThan(0)
    expect(corrupt.json.count).toBe(corrupt.json.unreadable + corrupt.json.byReason.reduce((n: number, c: {count: number}) => n + c.count, 0))
  })
})

describe('dlq check --since and unreadable records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dlq-check-unreadable-'))
  const CORRUPT = '{"timestamp": 17, "service": "ingest", "reason": "cut off'

  it('unreadable lines of a file, whose time is unknown, still count toward --max; the summary and --json say so', () => {
    // The case: three corrupt lines and one recent entry.
    const file = join(dir, 'three-corrupt.ndjson')
    writeFileSync(file, [CORRUPT, CORRUPT, CORRUPT, entry(1 * MIN, 'parse_error', 0)].join('\n') + '\n')
    expect(dlqJson(['check', file, '--max', '0'], {env}).json).toMatchObject({count: 4, unreadable: 3})
    const r = dlqJson(['check', file, '--max', '1', '--since', '-1h'], {env})
    expect(r.code).toBe(5)
    expectSchema('check', r.json)
    expect(r.json).toMatchObject({count: 4, unreadable: 3, unreadableTimeUnknown: 3, byReason: [{value: 'parse_error', count: 1}]})
    const line = dlq(['check', file, '--max', '1', '--since', '-1h'], {env})
    expect(line.code).toBe(5)
    expect(line.stdout).toMatch(/^OVER: 4 messages match, more than --max 1 \(.*parse_error 1, unreadable 3 \(time unknown 3\)\)\n$/)
  })

  it('a file is read in the order it was written: an unreadable line between two old entries is old, one after a recent entry is recent', () => {
    const file = join(dir, 'placed.ndjson')
    const lines = [
      entry(120 * MIN, 'parse_error', 0),
      CORRUPT, // between two old entries: before the window
      entry(110 * MIN, 'parse_error', 1),
      CORRUPT, // between an old and a recent entry: time unknown
      entry(4 * MIN, 'parse_error', 2),
      CORRUPT, // after a recent entry: in the window
      entry(1 * MIN, 'timeout', 3),
      CORRUPT, // after a recent entry, at the end: in the window
    ]
    writeFileSync(file, lines.join('\n') + '\n')
    const r = dlqJson(['check', file, '--max', '3', '--since', '-30m'], {env})
    expect(r.code).toBe(5)
    expect(r.json).toMatchObject({count: 5, unreadable: 3, unreadableTimeUnknown: 1})
    expect(r.json.byReason).toEqual([
      {value: 'parse_error', count: 1},
      {value: 'timeout', count: 1},
    ])
    // A filter on what an unreadable record does not have leaves it out, as without --since.
    expect(dlqJson(['check', file, '--max', '3', '--since', '-30m', '--filter', 'reason=timeout'], {env}).json).toMatchObject({count: 1, unreadable: 0, unreadableTimeUnknown: 0})
    // --until 100 min ago: the line between the two old entries is inside, the one after them of unknown time, the later ones outside.
    const until = dlqJson(['check', file, '--max', '9', '--until', '-100m'], {env})
    expect(until.json).toMatchObject({count: 4, unreadable: 2, unreadableTimeUnknown: 1})
    // stats places them the same way (it used to drop every corrupt line from a time window).
    const stats = dlqJson(['stats', file, '--since', '-30m', '--json'], {env})
    expect(stats.json).toMatchObject({total: 5, readable: 2, unreadable: {count: 3, timeUnknown: 1}})
    const table = dlq(['stats', file, '--since', '-30m'], {env})
    expect(table.stdout).toMatch(/^Unreadable: 3 \(positions 3, 5, 7\)\n {12}1 of them of unknown time/m)
  })
})

describe('dlq check --since on a services root', () => {
  it('places a corrupt line by the entries of its own service only', () => {
    const root = mkdtempSync(join(tmpdir(), 'dlq-check-services-'))
    mkdirSync(join(root, 'alpha'))
    mkdirSync(join(root, 'zulu'))
    writeFileSync(join(root, 'alpha', 'dlq.ndjson'), [entry(120 * MIN, 'old', 0), '{"cut', entry(110 * MIN, 'old', 1), entry(5 * MIN, 'parse_error', 2)].join('\n') + '\n')
    // First in zulu: nothing of zulu before it (alpha's recent entry says nothing of it), a recent entry after it.
    writeFileSync(join(root, 'zulu', 'dlq.ndjson'), ['{"cut', entry(1 * MIN, 'timeout', 3), '{"cut'].join('\n') + '\n')
    const r = dlqJson(['check', root, '--max', '3', '--since', '-30m'], {env})
    expect(r.code).toBe(5)
    expect(r.json).toMatchObject({count: 4, unreadable: 2, unreadableTimeUnknown: 1})
    expect(r.json.byReason).toEqual([
      {value: 'parse_error', count: 1},
      {value: 'timeout', count: 1},
    ])
  })
})

describe('dlq check --since on a file counted in parallel threads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dlq-check-parallel-'))
  const parallel = {...env, DLQ_PARALLEL_MIN_BYTES: '1'}
  it('gives the same counts as one thread, with and without unreadable lines', () => {
    const clean = join(dir, 'clean.ndjson')
    writeFileSync(clean, entries().join('\n') + '\n')
    expect(dlqJson(['check', clean, '--max', '3', '--since', '-30m'], {env: parallel}).json).toMatchObject({count: 4, unreadable: 0, unreadableTimeUnknown: 0})
    const corrupt = join(dir, 'corrupt.ndjson')
    writeFileSync(corrupt, [...entries().slice(0, 6), '{"cut', ...entries().slice(6), '{"cut'].join('\n') + '\n')
    for (const e of [env, parallel]) {
      // The first corrupt line sits between old and recent entries (time unknown), the last after a recent one.
      expect(dlqJson(['check', corrupt, '--max', '3', '--since', '-30m'], {env: e}).json).toMatchObject({count: 6, unreadable: 2, unreadableTimeUnknown: 1})
    }
  })
})

describe('dlq check on a rotated directory', () => {
  const stamp = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace(/[-:]/g, '')
  it('--since leaves unparsed the rotated files named (in any zone) before the window, and keeps positions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-check-rot-'))
    // Named in 2020, so every entry in it is older than the window: dlq does not read it (the
    // planted recent entry proves it). Its one line still counts for the positions after it.
    writeFileSync(join(dir, 'dlq.ndjson.20200101T000000'), entry(1 * MIN, 'planted', 0) + '\n')
    // Named 2 h ago: within the 12 h a writer's zone may put between its name and UTC, so it is read.
    writeFileSync(join(dir, `dlq.ndjson.${stamp(Date.now() - 120 * MIN)}`), entry(130 * MIN, 'old', 1) + '\n' + entry(1 * MIN, 'parse_error', 2) + '\n')
    writeFileSync(join(dir, 'dlq.ndjson'), entry(2 * MIN, 'timeout', 3) + '\n')
    const r = dlqJson(['check', dir, '--max', '5', '--since', '-30m'], {env})
    expect(r.json.byReason).toEqual([
      {value: 'parse_error', count: 1},
      {value: 'timeout', count: 1},
    ])
    expect(dlqJson(['check', dir, '--max', '5'], {env}).json.count).toBe(4)
    const page = dlqJson(['inspect', dir, '--since', '-30m'], {env})
    expect(page.json.items.map((m: {position: string}) => m.position)).toEqual(['2', '3'])
  })
})

describe.skipIf(!redisSvc.available)('dlq check on a Redis stream', () => {
  let redis: Redis
  const key = uniqueName('dlq-test-check')
  beforeAll(async () => {
    redis = new Redis(redisSvc.address, {maxRetriesPerRequest: 1})
    // Entry ids carry the entry's time, as XADD * would have given them when it was written.
    let seq = 0
    for (const e of entries()) await redis.xadd(key, `${JSON.parse(e).timestamp}-${seq++}`, 'data', e)
  })
  afterAll(async () => {
    await redis.del(key)
    await redis.quit()
  })
  gate(() => `${redisSvc.address}/0/${key}`)

  it('an unreadable entry carries the time of its id: counted inside the window, not outside it', async () => {
    const broken = uniqueName('dlq-test-check-broken')
    try {
      // dlq's own layout with a version this dlq does not know: unreadable, but its id says when it was written.
      await redis.xadd(broken, `${Date.now() - 120 * MIN}-0`, '_dlq', '99', 'value', 'old')
      await redis.xadd(broken, `${Date.now() - 1 * MIN}-0`, '_dlq', '99', 'value', 'recent')
      const all = dlqJson(['check', `${redisSvc.address}/0/${broken}`, '--max', '0'], {env})
      expect(all.json).toMatchObject({count: 2, unreadable: 2})
      const r = dlqJson(['check', `${redisSvc.address}/0/${broken}`, '--max', '0', '--since', '-30m'], {env})
      expect(r.code).toBe(5)
      expect(r.json).toMatchObject({count: 1, unreadable: 1, unreadableTimeUnknown: 0})
    } finally {
      await redis.del(broken)
    }
  })

  it('a server that cannot be reached is exit 4, not OK', () => {
    expect(dlq(['check', 'redis://127.0.0.1:1/x', '--max', '1000'], {env}).code).toBe(4)
  })
})

describe.skipIf(!kafkaSvc.available)('dlq check on a Kafka topic', () => {
  const kafka = new KafkaFixture()
  let topic: string
  beforeAll(async () => {
    topic = await kafka.topic('check', 2)
    const all = entries()
    // 200 more old records in front: --since must start past them (offsets for times), not read them.
    const filler = Array.from({length: 200}, (_, i) => ({partition: i % 2, value: entry(200 * MIN, 'old', 100 + i), timestamp: Date.now() - 200 * MIN}))
    await kafka.produceBulk(topic, [...filler, ...all.map((value, i) => ({partition: i % 2, value, timestamp: JSON.parse(value).timestamp}))])
  }, 60_000)
  afterAll(() => kafka.close())
  const src = () => `${KAFKA_URI}/${topic}`

  it('exits 0 at or under --max and 5 over it; --since reads only from the window on', () => {
    const all = dlqJson(['check', src(), '--max', '210', '--filter', 'reason!=old'], {env})
    expect(all.json.count).toBe(10)
    expect(all.code).toBe(0)
    const r = dlq(['check', src(), '--max', '3', '--since', '-30m'], {env: {...env, DLQ_TRACE_PHASES: '1'}})
    expect(r.code).toBe(5)
    expect(r.stdout).toMatch(/^OVER: 4 messages match, more than --max 3 .*parse_error 3, timeout 1\)\n$/)
    const fetches = [...r.stderr.matchAll(/dlq-phase fetch\((\d+):(\d+)\)/g)].map((m) => Number(m[2]))
    expect(fetches.length).toBeGreaterThan(0)
    // Each partition holds 100 filler records before the window: no fetch starts among them.
    expect(Math.min(...fetches)).toBeGreaterThanOrEqual(100)
  })

  it('--filter and --json counts by reason', () => {
    const r = dlqJson(['check', src(), '--max', '2', '--since', '-30m', '--filter', 'reason=parse_error'], {env})
    expect(r.code).toBe(5)
    expectSchema('check', r.json)
    expect(r.json).toMatchObject({count: 3, over: true, byReason: [{value: 'parse_error', count: 3}]})
  })
})
