import {readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {b64, copyFiles, inspectAll, loadRedis, parseExact, readCapture, type Truth} from '../helpers/captured.js'
import {dlq} from '../helpers/cli.js'
import {needService, REDIS_URL, uniqueName} from '../helpers/services.js'

// fixtures/captured/hyperi-rustlib: the crate's dlq file backend (hourly rotation, gzip of all but the 6 newest
// rotated files, max_age_days deletes, two services under one path) and its Redis backend (XADD … data <json>),
// see scripts/capture/hyperi-rustlib/README.md. Every field dlq shows is checked against what the driver handed
// to the crate; what the crate does not write (key, headers, exception class, original time) must read as null.
const redis = await needService('redis')
const cap = readCapture('hyperi-rustlib')
const STREAM = 'hyperi-dlq'
const SERVICES = ['hyperi-loader', 'hyperi-receiver']
const fileTruth = cap.truth.filter((t) => 'file' in t.dlq)
const redisTruth = cap.truth.filter((t) => 'stream' in t.dlq)
const deleted: Truth[] = readFileSync(join(cap.dir, 'truth-deleted.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((l) => parseExact(l))
const label = (t: Truth) => String(t.extra?.case)
const iso = (ms: number) => new Date(ms).toISOString()
const where = (t: Truth) => t.dlq as {file: string; line: number}

/**
 * The crate's own reading order, from file-rotate's rules (not from dlq): rotated files
 * `dlq.ndjson.<%Y%m%dT%H%M%S>[.N][.gz]` by timestamp, then by N (none first), then the live `dlq.ndjson`.
 */
function crateOrder(names: string[]): string[] {
  const rank = (name: string): [number, string, number] => {
    if (name === 'dlq.ndjson') return [1, '', 0]
    const m = name.replace(/\.gz$/, '').match(/^dlq\.ndjson\.(\d{8}T\d{6})(?:\.(\d+))?$/)
    if (!m) throw new Error(`unexpected file in the capture: ${name}`)
    return [0, m[1], m[2] === undefined ? 0 : Number(m[2]) + 1]
  }
  return [...names].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)]
    return x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0) || x[2] - y[2]
  })
}

/** `service/file:line` → the record number dlq should give it (lines counted in the decompressed files). */
function expectedPositions(dir: string, service: string): Map<string, string> {
  const out = new Map<string, string>()
  let n = 0
  for (const name of crateOrder(readdirSync(join(dir, service)))) {
    const raw = readFileSync(join(dir, service, name))
    const text = (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')
    const lines = text === '' ? 0 : text.split('\n').length - 1
    for (let i = 0; i < lines; i++) out.set(`${service}/${name}:${i}`, String(n++))
  }
  return out
}

/** `dlq ARGS --json`, big integers exact (JSON.parse would round them). */
function dlqExact(args: string[]): any {
  const r = dlq([...args, '--json'])
  if (r.code !== 0) throw new Error(`dlq ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return parseExact(r.stdout)
}

const payloadOf = (item: any): Buffer => (item.payload.base64 !== undefined ? Buffer.from(item.payload.base64, 'base64') : Buffer.from(item.payload.text, 'utf8'))

/** The checks every store shares: `itemOf` finds dlq's record for a truth line. */
function fieldChecks(get: () => {truth: Truth[]; itemOf: (t: Truth) => any}) {
  it('has the exact source the crate was given: topic, partition, offset as i64 (2^53 + 1, i64::MAX, -1), or null', () => {
    const {truth, itemOf} = get()
    for (const t of truth) {
      const s = itemOf(t).source
      expect(s.topic, label(t)).toBe(t.source.topic)
      expect(s.partition, label(t)).toBe(t.source.partition)
      expect(s.offset === null ? null : String(s.offset), label(t)).toBe(t.source.offset)
      expect(s.group, label(t)).toBeNull()
      expect(s.doubt ?? null, label(t)).toBeNull()
    }
    expect(truth.some((t) => t.source.offset === '9223372036854775807')).toBe(true)
  })

  it('keeps payload bytes: binary, empty, non-ASCII, control characters, and the size of a 1 MiB + 1 byte payload', () => {
    const {truth, itemOf} = get()
    for (const t of truth) {
      const p = itemOf(t).payload
      const want = b64(t.source.value)!
      expect(p.size, label(t)).toBe(want.length)
      if (want.length > 1024 * 1024) {
        // --payload-limit stops at 1 MiB: the shown part must be the payload's first MiB.
        expect(p.truncated, label(t)).toBe(true)
        expect(payloadOf(itemOf(t)), label(t)).toEqual(want.subarray(0, 1024 * 1024))
      } else {
        expect(p.truncated, label(t)).toBe(false)
        expect(payloadOf(itemOf(t)), label(t)).toEqual(want)
      }
    }
  })

  it('has the reason exactly as written (empty, non-ASCII, control characters), no exception, retries = attempts', () => {
    const {truth, itemOf} = get()
    for (const t of truth) {
      const item = itemOf(t)
      expect(item.reason, label(t)).toBe(t.reason)
      // The crate writes a reason string, never an exception: nothing to put in error.
      expect(item.error, label(t)).toBeNull()
      // The crate's `attempts` is its retry count before dead-lettering; dlq's retries is that number.
      expect(item.retries, label(t)).toBe(t.attempts)
    }
    expect(truth.map((t) => t.attempts)).toContain(4294967295)
  })

  it("takes the record time from the entry's timestamp (the failure time); the original time is not written", () => {
    const {truth, itemOf} = get()
    for (const t of truth) {
      const item = itemOf(t)
      expect(item.timestamp, label(t)).toBe(iso(t.failedAt!))
      expect(item.deadLetteredAt, label(t)).toBe(iso(t.failedAt!))
      expect(item.originalTimestamp, label(t)).toBeNull()
    }
  })

  it('shows service and destination (absent and empty kept apart) as metadata, and no key or headers', () => {
    const {truth, itemOf} = get()
    for (const t of truth) {
      const item = itemOf(t)
      expect(item.convention, label(t)).toBe('hyperi')
      expect(item.key, label(t)).toBeNull()
      expect(item.headers, label(t)).toEqual({})
      const want: Record<string, string> = {service: t.extra!.service as string}
      if (t.extra!.destination !== null) want.destination = t.extra!.destination as string
      expect(item.metadata, label(t)).toEqual(want)
    }
    expect(truth.some((t) => t.extra!.destination === '')).toBe(true)
  })
}

describe('hyperi-rustlib capture: file backend', () => {
  let dir: string
  const items = new Map<string, any[]>()
  const positions = new Map<string, string>()
  beforeAll(() => {
    dir = copyFiles(cap)
    for (const svc of SERVICES) {
      items.set(svc, inspectAll(join(dir, svc)))
      for (const [k, v] of expectedPositions(dir, svc)) positions.set(k, v)
    }
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const itemOf = (t: Truth) => {
    const {file, line} = where(t)
    const svc = file.split('/')[0]
    const pos = positions.get(`${file}:${line}`)
    return items.get(svc)!.find((i) => i.position === pos)
  }

  it("reads every entry of each service, rotated (plain, gzipped, .1) then live, in the crate's order", () => {
    expect(fileTruth).toHaveLength(13)
    for (const svc of SERVICES) {
      const mine = fileTruth.filter((t) => where(t).file.startsWith(`${svc}/`))
      expect(items.get(svc), svc).toHaveLength(mine.length)
      // Position order = the crate's file order: each item is the entry the truth puts at that file and line.
      for (const t of mine) expect(payloadOf(itemOf(t)).subarray(0, 64), label(t)).toEqual(b64(t.source.value)!.subarray(0, 64))
    }
    const files = fileTruth.map((t) => where(t).file)
    expect(files).toContain('hyperi-loader/dlq.ndjson.20261102T083000.1.gz')
    expect(files).toContain('hyperi-loader/dlq.ndjson.20261110T105958')
  })

  fieldChecks(() => ({truth: fileTruth, itemOf}))

  it('shows nothing of the entries max_age_days deleted', () => {
    expect(deleted.map(label)).toEqual(['c01', 'c02', 'c03'])
    const shown = new Set([...items.values()].flat().map((i) => payloadOf(i).toString('base64')))
    for (const t of deleted) expect(shown.has(t.source.value!), label(t)).toBe(false)
  })

  it('counts reasons in stats as the crate wrote them', () => {
    const json = dlqExact(['stats', join(dir, 'hyperi-loader')])
    const want = new Map<string, number>()
    for (const t of fileTruth.filter((t) => where(t).file.startsWith('hyperi-loader/'))) want.set(t.reason!, (want.get(t.reason!) ?? 0) + 1)
    expect(new Map(json.byReason.map((r: {value: string; count: number}) => [r.value, r.count]))).toEqual(want)
    expect(json.total).toBe(10)
    expect(json.byConvention).toEqual([{value: 'hyperi', count: 10}])
  })

  it('prints offsets above 2^53 exactly in the table and filters on them exactly', () => {
    const r = dlq(['inspect', join(dir, 'hyperi-loader'), '--output', 'wide', '--no-payload'])
    expect(r.stdout).toContain('?/5@9223372036854775807')
    const hit = dlqExact(['inspect', join(dir, 'hyperi-receiver'), '--filter', 'source.offset=9007199254740993', '--no-payload']).items
    expect(hit.map((i: any) => String(i.source.offset))).toEqual(['9007199254740993'])
  })

  // Issue 10 item 9: `<path>` of the crate holds one directory per service; dlq reads them one after another in
  // name order, positions qualified by the service (SERVICE:N = position N of that service's directory).
  it("reads the crate's <path> (both services) as one DLQ with the service shown", () => {
    const all = inspectAll(dir)
    expect(all).toHaveLength(fileTruth.length)
    expect(new Set(all.map((i) => i.metadata.service))).toEqual(new Set(SERVICES))
    const own = SERVICES.flatMap((svc) => items.get(svc)!.map((i) => ({...i, position: `${svc}:${i.position}`})))
    expect(all).toEqual(own)
    const wide = dlq(['inspect', dir, '--output', 'wide', '--no-payload'])
    expect(wide.code).toBe(0)
    expect(wide.stdout.split('\n')[0]).toMatch(/POSITION .*SERVICE/)
    expect(wide.stdout).toMatch(/hyperi-receiver:2 .* hyperi-receiver /)
    // The filter on the service and every position-taking command work on the root.
    const receiver = dlqExact(['inspect', dir, '--filter', 'metadata.service=hyperi-receiver', '--no-payload']).items
    expect(receiver.map((i: any) => i.position)).toEqual(['hyperi-receiver:0', 'hyperi-receiver:1', 'hyperi-receiver:2'])
    const from = dlqExact(['inspect', dir, '--from', 'hyperi-loader:9', '--limit', '2', '--no-payload'])
    expect(from.items.map((i: any) => i.position)).toEqual(['hyperi-loader:9', 'hyperi-receiver:0'])
    expect(from.nextOffsetHint).toBe('hyperi-receiver:1')
    const bad = dlq(['inspect', dir, '--from', '3'])
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/SERVICE:N/)])
    // A position that is not there: the dry run says so, and exits 4 as the replay would.
    const dry = dlq(['replay', dir, '--offset', 'hyperi-receiver:1', '--offset', 'hyperi-loader:99', '--sink', REDIS_URL, '--dry-run', '--json'])
    expect(dry.code, dry.stderr).toBe(4)
    const plan = parseExact(dry.stdout)
    expect(JSON.stringify(plan)).toContain('hyperi-receiver:1')
    expect(JSON.stringify(plan)).toMatch(/hyperi-loader:99.*not_found/)
    const stats = dlqExact(['stats', dir])
    expect(stats.total).toBe(fileTruth.length)
  })

  it.runIf(redis.available)('replays from the crate\'s <path> by SERVICE:N, once, with the ledger inside <path>', async () => {
    const {Redis} = await import('ioredis')
    const client = new Redis(redis.address)
    const stream = uniqueName('hyperi-root')
    try {
      await client.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM')
      const args = ['replay', dir, '--offset', 'hyperi-receiver:1', '--sink', REDIS_URL, '--to', stream, '--yes']
      const first = dlqExact(args)
      expect(first.items.map((i: any) => [i.position, i.outcome])).toEqual([['hyperi-receiver:1', 'replayed']])
      const again = dlqExact(args)
      expect(again.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([['hyperi-receiver:1', 'skipped', 'already_replayed']])
      expect(await client.xlen(stream)).toBe(1)
      expect(readdirSync(dir)).toContain('dlq-replay-ledger.ndjson')
    } finally {
      await client.del(stream)
      client.disconnect()
      rmSync(join(dir, 'dlq-replay-ledger.ndjson'), {force: true})
    }
  })

  // Issue 10 item 9: file-rotate also treats `dlq.ndjson.20261130T20000` (a 5-digit time chrono parses) as one of
  // its rotated files (it gzips and deletes it with the others); dlq does not read it, and says so.
  it('reports a file whose name looks rotated but is not what the crate writes', () => {
    const odd = join(dir, 'hyperi-receiver', 'dlq.ndjson.20261130T20000')
    writeFileSync(odd, readFileSync(join(dir, 'hyperi-receiver', 'dlq.ndjson')))
    try {
      const r = dlq(['inspect', join(dir, 'hyperi-receiver'), '--json', '--no-payload'])
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout).warnings).toEqual([expect.stringContaining('dlq.ndjson.20261130T20000')])
      expect(r.stderr).toContain('dlq.ndjson.20261130T20000')
      const stats = dlqExact(['stats', dir])
      expect(stats.warnings).toEqual([expect.stringContaining('hyperi-receiver/dlq.ndjson.20261130T20000')])
      const text = dlq(['inspect', dir, '--no-payload'])
      expect(text.stderr).toMatch(/warning: .*hyperi-receiver\/dlq\.ndjson\.20261130T20000/)
    } finally {
      rmSync(odd)
    }
  })
})

describe.runIf(redis.available)('hyperi-rustlib capture: Redis backend', () => {
  let items: any[]
  beforeAll(async () => {
    await loadRedis(cap)
    items = inspectAll(`${REDIS_URL}/${STREAM}`)
  })
  const itemOf = (t: Truth) => items.find((i) => i.position === (t.dlq as {id: string}).id)

  it('reads every XADD … data <json> entry at its id, nothing else from the entry', () => {
    expect(redisTruth).toHaveLength(7)
    expect(items.map((i) => i.position)).toEqual(redisTruth.map((t) => (t.dlq as {id: string}).id))
    for (const f of cap.redis) expect(f.fields.map((x) => Buffer.from(x.name, 'base64').toString())).toEqual(['data'])
  })

  fieldChecks(() => ({truth: redisTruth, itemOf}))

  it("uses the entry's timestamp, not the entry id, as the record time", () => {
    // r03 was stamped by the crate 10 ms before Redis assigned its id.
    const t = redisTruth.find((x) => x.extra?.case === 'r03')!
    expect((t.dlq as {id: string}).id.split('-')[0]).not.toBe(String(t.failedAt))
    expect(itemOf(t).timestamp).toBe(iso(t.failedAt!))
  })

  it('filters exactly on offsets above 2^53 (2^53 and 2^53 + 1 are different entries)', () => {
    const pick = (f: string) =>
      dlqExact(['inspect', `${REDIS_URL}/${STREAM}`, '--filter', f, '--no-payload']).items.map((i: any) => i.position)
    const id = (c: string) => (redisTruth.find((t) => t.extra?.case === c)!.dlq as {id: string}).id
    expect(pick('source.offset=9007199254740993')).toEqual([id('r02')])
    expect(pick('source.offset=9007199254740992')).toEqual([id('r04')])
    expect(pick('source.offset>9007199254740992')).toEqual([id('r02'), id('r03')])
    expect(pick('metadata.destination=')).toEqual([id('r06')])
  })
})
