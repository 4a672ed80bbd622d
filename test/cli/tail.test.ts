import {spawn, type ChildProcess} from 'node:child_process'
import {appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {Producer} from '@platformatic/kafka'
import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, dlq, dlqJson, FIXTURES, ROOT} from '../helpers/cli.js'
import {RotatingWriter} from '../helpers/rotating-writer.js'
import {expectSchema} from '../helpers/schema.js'
import {needService, uniqueName} from '../helpers/services.js'
import {shellLine, Tmux} from '../helpers/tmux.js'
import {BROKERS, KAFKA_URI, KafkaFixture} from '../kafka-fixtures.js'

const redisSvc = await needService('redis')
const kafkaSvc = await needService('kafka')
const tmp = mkdtempSync(join(tmpdir(), 'dlq-tail-'))
const env = {...process.env, COLUMNS: '200', DLQ_CACHE_DIR: join(tmp, 'cache')}
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

/** A hyperi-rustlib entry whose payload is `seq-N` (the rotating writer's format). */
const entry = (n: number, reason = 'parse_error') =>
  JSON.stringify({timestamp: Date.now(), service: 'svc', reason, attempts: 1, payload: Buffer.from(`seq-${n}`).toString('base64')})
/** The same, written at `ms` (its envelope's time, the time dlq shows). */
const entryAt = (ms: number, n: number) =>
  JSON.stringify({timestamp: ms, service: 'svc', reason: 'parse_error', attempts: 1, payload: Buffer.from(`seq-${n}`).toString('base64')})
const seqOf = (m: {payload: {text: string}}) => Number(m.payload.text.slice(4))
const range = (a: number, b: number) => Array.from({length: b - a}, (_, i) => a + i)

/** `dlq tail … --follow` running in the background, its stdout collected line by line. */
class Follow {
  readonly child: ChildProcess
  readonly lines: string[] = []
  stderr = ''
  readonly exited: Promise<number>

  constructor(args: string[], opts: {stdout?: 'pipe'} = {}) {
    this.child = spawn(process.execPath, [BIN, 'tail', ...args, '--follow'], {cwd: ROOT, env, stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe']})
    createInterface({input: this.child.stdout!}).on('line', (l) => this.lines.push(l))
    this.child.stderr!.on('data', (b) => (this.stderr += b))
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : -2))))
  }

  /** Waits until `n` lines were printed (what is printed before is the backlog: dlq is following after it). */
  async waitLines(n: number, timeoutMs = 40_000): Promise<void> {
    const until = Date.now() + timeoutMs
    while (this.lines.length < n) {
      if (this.child.exitCode !== null) throw new Error(`tail exited ${this.child.exitCode} after ${this.lines.length} lines: ${this.stderr}`)
      if (Date.now() > until) throw new Error(`tail printed ${this.lines.length} of ${n} lines in ${timeoutMs} ms: ${this.stderr}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  json(): any[] {
    return this.lines.map((l) => JSON.parse(l))
  }

  /** Ctrl-C: the exit code. */
  async interrupt(): Promise<number> {
    this.child.kill('SIGINT')
    return this.exited
  }
}

describe('dlq tail (files)', () => {
  it('`tail -f` (the Unix habit) says that -f is --filter here and how to follow', () => {
    const file = join(FIXTURES, 'hyperi.ndjson')
    for (const args of [['-f', file], [file, '-f']]) {
      const r = dlq(['tail', ...args], {env})
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/-f is --filter here: to follow, use -F \(--follow\)/)
    }
  })

  it('--follow stopped by SIGTERM (a service manager, timeout) ends as Ctrl-C does: what was read printed, a note, exit 130', async () => {
    const file = join(tmp, 'sigterm.ndjson')
    writeFileSync(file, `${entry(1)}\n`)
    const f = new Follow([file, '-n', '1', '--output', 'ndjson'])
    await f.waitLines(1)
    appendFileSync(file, `${entry(2)}\n`)
    await f.waitLines(2)
    f.child.kill('SIGTERM')
    expect(await f.exited).toBe(130)
    expect(f.json().map(seqOf)).toEqual([1, 2])
    expect(f.stderr).toMatch(/stopped: 2 messages printed/)
  })

  it('--follow ends when the clock passes --until (exit 0), having printed what came before it', async () => {
    const file = join(tmp, 'until.ndjson')
    writeFileSync(file, `${entry(1)}\n`)
    const until = new Date(Date.now() + 4000).toISOString()
    const f = new Follow([file, '-n', '0', '--until', until, '--output', 'ndjson'])
    // Live once the header (none for ndjson) would be out: appended after a pause, well before --until.
    await new Promise((r) => setTimeout(r, 1500))
    appendFileSync(file, `${entry(2)}\n`)
    const code = await Promise.race([f.exited, new Promise<string>((r) => setTimeout(() => r('still following 20 s later'), 20_000))])
    expect(code, f.stderr).toBe(0)
    expect(f.json().map(seqOf)).toEqual([2])
    expect(f.stderr).toMatch(/--until .* reached: 1 message printed/)
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(until))
  })

  it('prints the last N, oldest first, in every format; -n 0 prints nothing', () => {
    const r = dlqJson(['tail', join(FIXTURES, 'hyperi.ndjson'), '-n', '3'])
    expect(r.code).toBe(0)
    expectSchema('tail', r.json)
    expect(r.json.items.map((m: {position: string}) => m.position)).toEqual(['9', '10', '11'])
    const nd = dlq(['tail', join(FIXTURES, 'hyperi.ndjson'), '-n', '2', '--output', 'ndjson', '--filter', 'reason=timeout'])
    expect(nd.stdout.trim().split('\n').map((l) => JSON.parse(l).reason)).toEqual(['timeout', 'timeout'])
    const table = dlq(['tail', join(FIXTURES, 'rotated/ingest'), '-n', '2'])
    expect(table.stdout).toMatch(/^POSITION +TIME/)
    expect(table.stdout.trim().split('\n')).toHaveLength(3)
    expect(dlq(['tail', join(FIXTURES, 'hyperi.ndjson'), '-n', '0']).stdout).toBe('No messages.\n')
    expect(dlq(['tail', join(FIXTURES, 'hyperi.ndjson'), '-n', '5001']).code).toBe(2)
  })

  it('--json with --follow prints one message document per message', async () => {
    const f = new Follow([join(FIXTURES, 'conventions.ndjson'), '-n', '3', '--json'])
    const docs = () => f.lines.join('\n').split(/^\}$/m).slice(0, -1).map((d) => JSON.parse(d + '}'))
    const until = Date.now() + 30_000
    while (docs().length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    expect(await f.interrupt()).toBe(130)
    expect(docs().map((d) => d.position)).toEqual(['8', '9', '10'])
    for (const d of docs()) expectSchema('message', d)
  })

  it('escapes untrusted bytes, also in a followed table', async () => {
    const r = dlq(['tail', join(FIXTURES, 'hostile.ndjson'), '-n', '50'])
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/)
    const f = new Follow([join(FIXTURES, 'hostile.ndjson'), '-n', '50', '--output', 'wide'])
    await f.waitLines(2)
    expect(f.lines[1]).toContain('k\\e[31mred')
    expect(await f.interrupt()).toBe(130)
    expect(f.lines[0]).toMatch(/^POSITION +TIME/)
    // eslint-disable-next-line no-control-regex
    expect(f.lines.join('\n')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/)
  })

  it('follows appends to a file, waits for a line to be whole, and Ctrl-C exits 130', async () => {
    const file = join(tmp, 'appends.ndjson')
    writeFileSync(file, entry(0) + '\n' + entry(1) + '\n')
    const f = new Follow([file, '-n', '1', '--output', 'ndjson'])
    await f.waitLines(1)
    appendFileSync(file, entry(2) + '\n' + entry(3) + '\n')
    await f.waitLines(3)
    // Half a line: not a record yet; printed once, whole, when the writer finishes it.
    const half = entry(4)
    appendFileSync(file, half.slice(0, 30))
    await new Promise((r) => setTimeout(r, 600))
    appendFileSync(file, half.slice(30) + '\n')
    await f.waitLines(4)
    // A logrotate-style rotation of the single file: the old file is finished, the new one read from its start.
    appendFileSync(file, entry(5) + '\n')
    renameSync(file, `${file}.1`)
    writeFileSync(file, entry(6) + '\n')
    await f.waitLines(6)
    expect(await f.interrupt()).toBe(130)
    const got = f.json()
    expect(got.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6])
    expect(got.map((m) => m.position)).toEqual(['1', '2', '3', '4', '5', '0'])
    expect(got.every((m) => m.convention === 'hyperi')).toBe(true)
    expect(f.stderr).toMatch(/replaced by a new file \(rotated\)/)
    expect(f.stderr).toMatch(/stopped: 6 messages printed/)
  })

  it('follows a file truncated in place (copytruncate, `: > file`): the new records from its start, each once, and says so', async () => {
    const file = join(tmp, 'truncated.ndjson')
    // More lines than one index checkpoint (1024): offsets of the old bytes must not be used for the new ones.
    writeFileSync(file, range(0, 1500).map((i) => entry(i) + '\n').join(''))
    const f = new Follow([file, '-n', '1', '--output', 'ndjson'])
    await f.waitLines(1)
    // Truncated and written again before dlq looks: the file is as long as before (or longer) by then.
    truncateSync(file, 0)
    appendFileSync(file, range(100_000, 101_600).map((i) => entry(i) + '\n').join(''))
    await f.waitLines(1 + 1600)
    // Truncated, then nothing for a while (dlq sees a short file), then a few records.
    truncateSync(file, 0)
    await new Promise((r) => setTimeout(r, 600))
    appendFileSync(file, range(200_000, 200_003).map((i) => entry(i) + '\n').join(''))
    await f.waitLines(1 + 1600 + 3)
    await new Promise((r) => setTimeout(r, 300))
    expect(await f.interrupt()).toBe(130)
    const got = f.json()
    expect(got.map(seqOf)).toEqual([1499, ...range(100_000, 101_600), ...range(200_000, 200_003)])
    expect(got.map((m) => m.position)).toEqual(['1499', ...range(0, 1600).map(String), '0', '1', '2'])
    expect(f.stderr.match(/was truncated/g)).toHaveLength(2)
    // The line index kept in the cache describes the file as it is now.
    const r = dlqJson(['inspect', file, '--from', '2', '--limit', '1'], {env: {DLQ_CACHE_DIR: env.DLQ_CACHE_DIR}})
    expect(r.json.items.map(seqOf)).toEqual([200_002])
  }, 90_000)

  it('follows a rotated directory while the writer rotates it as hyperi-rustlib does: every record once, in order', async () => {
    const dir = join(tmp, 'rotating')
    // The writer's seq-0, seq-1, … are written once tail follows; seq -1 is the backlog.
    mkdirSync(dir)
    writeFileSync(join(dir, 'dlq.ndjson'), entry(-1) + '\n')
    const f = new Follow([dir, '-n', '1', '--output', 'ndjson'])
    await f.waitLines(1)
    const writer = await RotatingWriter.start(dir, {startSeq: 0, maxAgeDays: 3650, gzipPauseMs: 50})
    // Eight rotations while tail follows: the 7th and 8th make the writer gzip the oldest rotated files.
    for (let i = 1; i <= 8; i++) {
      await new Promise((r) => setTimeout(r, 120))
      await writer.rotate(i)
    }
    const written = await writer.stop()
    await f.waitLines(written + 1)
    await new Promise((r) => setTimeout(r, 500))
    expect(await f.interrupt()).toBe(130)
    const got = f.json()
    expect(written).toBeGreaterThan(1000)
    expect(got.map(seqOf)).toEqual([-1, ...range(0, written)])
    // Positions are record numbers of the whole log: one after the other across every rotation.
    expect(got.map((m) => m.position)).toEqual(range(0, written + 1).map(String))
  }, 90_000)

  it('a services root: the newest N across the services by time (a record without one goes with the record before it), also as the follow backlog', async () => {
    const root = join(tmp, 'services-newest')
    const t0 = Date.now() - 60 * 60_000
    mkdirSync(join(root, 'alpha'), {recursive: true})
    mkdirSync(join(root, 'zulu'), {recursive: true})
    // alpha has the newest records; zulu (last by name) only old ones, then a corrupt line written after them.
    writeFileSync(join(root, 'alpha', 'dlq.ndjson'), [entryAt(t0 + 10_000, 0), entryAt(t0 + 30_000, 1), '{"cut', entryAt(t0 + 50_000, 2)].join('\n') + '\n')
    writeFileSync(join(root, 'zulu', 'dlq.ndjson'), [entryAt(t0, 10), entryAt(t0 + 20_000, 11), '{"cut'].join('\n') + '\n')
    const r = dlqJson(['tail', root, '-n', '4'])
    expect(r.code).toBe(0)
    // By time: zulu:0, alpha:0, zulu:1, zulu:2 (the corrupt line, after zulu:1), alpha:1, alpha:2 (corrupt, after alpha:1), alpha:3.
    expect(r.json.items.map((m: {position: string}) => m.position)).toEqual(['zulu:2', 'alpha:1', 'alpha:2', 'alpha:3'])
    const f = new Follow([root, '-n', '2', '--output', 'ndjson'])
    await f.waitLines(2)
    appendFileSync(join(root, 'zulu', 'dlq.ndjson'), entryAt(Date.now(), 12) + '\n')
    appendFileSync(join(root, 'alpha', 'dlq.ndjson'), entryAt(Date.now(), 3) + '\n')
    await f.waitLines(4)
    await new Promise((r) => setTimeout(r, 300))
    expect(await f.interrupt()).toBe(130)
    const got = f.json().map((m) => m.position)
    expect(got.slice(0, 2)).toEqual(['alpha:2', 'alpha:3'])
    expect(got.slice(2).sort()).toEqual(['alpha:4', 'zulu:3'])
  })

  it('a services root: a service whose last N records are corrupt lines takes the time of its last entry before them (read further back), also as the follow backlog', async () => {
    const root = join(tmp, 'services-corrupt-tail')
    const t0 = Date.now() - 60 * 60_000
    mkdirSync(join(root, 'a'), {recursive: true})
    mkdirSync(join(root, 'b'), {recursive: true})
    writeFileSync(join(root, 'a', 'dlq.ndjson'), [entryAt(t0 + 1000, 0), entryAt(t0 + 2000, 1), entryAt(t0 + 3000, 2)].join('\n') + '\n')
    // b's entries are the newest, and three corrupt lines were written after them.
    writeFileSync(join(root, 'b', 'dlq.ndjson'), [entryAt(t0 + 8000, 10), entryAt(t0 + 9000, 11), 'garbage', 'garbage2', 'garbage3'].join('\n') + '\n')
    const positions = (r: {json: {items: Array<{position: string}>}}) => r.json.items.map((m) => m.position)
    const three = dlqJson(['tail', root, '-n', '3'])
    expect(three.code).toBe(0)
    expect(positions(three)).toEqual(['b:2', 'b:3', 'b:4'])
    expect(three.stderr).toMatch(/record b:4 is unreadable/)
    expect(positions(dlqJson(['tail', root, '-n', '6']))).toEqual(['a:2', 'b:0', 'b:1', 'b:2', 'b:3', 'b:4'])
    // A corrupt line first in what was read goes with the entry before it (b:0, older than a:2), not the one after it.
    writeFileSync(join(root, 'b', 'dlq.ndjson'), [entryAt(t0, 10), 'garbage', entryAt(t0 + 9000, 11)].join('\n') + '\n')
    expect(positions(dlqJson(['tail', root, '-n', '2']))).toEqual(['a:2', 'b:2'])
    writeFileSync(join(root, 'b', 'dlq.ndjson'), [entryAt(t0 + 8000, 10), entryAt(t0 + 9000, 11), 'garbage'].join('\n') + '\n')
    expect(positions(dlqJson(['tail', root, '-n', '1']))).toEqual(['b:2'])
    const f = new Follow([root, '-n', '2', '--output', 'ndjson'])
    await f.waitLines(2)
    expect(await f.interrupt()).toBe(130)
    expect(f.json().map((m) => m.position)).toEqual(['b:1', 'b:2'])
  })

  it('an empty services root or service directory is waited on: the first DLQ file that appears is followed from its first record', async () => {
    const root = join(tmp, 'services-empty')
    mkdirSync(join(root, 'ingest'), {recursive: true})
    const f = new Follow([root, '-n', '1', '--output', 'ndjson'])
    const svc = new Follow([join(root, 'ingest'), '-n', '1', '--output', 'ndjson'])
    for (const x of [f, svc]) {
      while (!/no DLQ file yet/.test(x.stderr)) {
        if (x.child.exitCode !== null) throw new Error(`tail exited ${x.child.exitCode}: ${x.stderr}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    await new Promise((r) => setTimeout(r, 300))
    writeFileSync(join(root, 'ingest', 'dlq.ndjson'), entry(0) + '\n' + entry(1) + '\n')
    await f.waitLines(2)
    await svc.waitLines(2)
    appendFileSync(join(root, 'ingest', 'dlq.ndjson'), entry(2) + '\n')
    await f.waitLines(3)
    await svc.waitLines(3)
    expect(await f.interrupt()).toBe(130)
    expect(await svc.interrupt()).toBe(130)
    expect(f.json().map((m) => [m.position, seqOf(m)])).toEqual([['ingest:0', 0], ['ingest:1', 1], ['ingest:2', 2]])
    expect(svc.json().map((m) => [m.position, seqOf(m)])).toEqual([['0', 0], ['1', 1], ['2', 2]])
  })

  it('a services root: new records of each service, and a service that starts writing meanwhile', async () => {
    const root = join(tmp, 'services')
    mkdirSync(join(root, 'alpha'), {recursive: true})
    writeFileSync(join(root, 'alpha', 'dlq.ndjson'), entry(0) + '\n')
    const f = new Follow([root, '-n', '5', '--output', 'ndjson', '--filter', 'reason!=noise'])
    await f.waitLines(1)
    appendFileSync(join(root, 'alpha', 'dlq.ndjson'), entry(1, 'noise') + '\n' + entry(2) + '\n')
    mkdirSync(join(root, 'beta'))
    writeFileSync(join(root, 'beta', 'dlq.ndjson'), entry(3) + '\n')
    await f.waitLines(3)
    expect(await f.interrupt()).toBe(130)
    expect(f.json().map((m) => [m.position, seqOf(m)])).toEqual([
      ['alpha:0', 0],
      ['alpha:2', 2],
      ['beta:0', 3],
    ])
  })
})

describe('dlq tail --follow in a real terminal (tmux)', () => {
  const tmux = new Tmux('dlq-tail')
  afterAll(() => tmux.close())

  it('a table fitted to the terminal, rows as they come, and Ctrl-C exits 130', async () => {
    const file = join(tmp, 'terminal.ndjson')
    writeFileSync(file, entry(0) + '\n' + entry(1) + '\n')
    const cmd = shellLine([process.execPath, BIN, 'tail', file, '--follow', '-n', '1'])
    const tail = tmux.start('tail', [90, 20], `${cmd}; echo "EXITED $?"; sleep 60`)
    await tail.waitText(/^1 .*seq-1/m)
    appendFileSync(file, entry(2, 'late_reason') + '\n')
    const s = await tail.waitText(/^2 .*late_reason/m)
    for (const line of s.split('\n')) expect(line.length).toBeLessThanOrEqual(90)
    expect(s).toMatch(/^POSITION +TIME/m)
    tail.keys('C-c')
    const end = await tail.waitText(/EXITED \d+/)
    expect(end).toMatch(/stopped: 2 messages printed/)
    expect(end).toMatch(/EXITED 130/)
  })
})

describe.skipIf(!redisSvc.available)('dlq tail on a Redis stream', () => {
  let redis: Redis
  const key = uniqueName('dlq-test-tail')
  const src = () => `${redisSvc.address}/0/${key}`
  beforeAll(async () => {
    redis = new Redis(redisSvc.address, {maxRetriesPerRequest: 1})
    for (let i = 0; i < 3; i++) await redis.xadd(key, '*', 'data', entry(i))
  })
  afterAll(async () => {
    await redis.del(key)
    await redis.quit()
  })

  it('prints the last N', () => {
    const r = dlqJson(['tail', src(), '-n', '2'])
    expect(r.json.items.map(seqOf)).toEqual([1, 2])
  })

  it('follows XADDs as they come, each once and in order, with a filter; Ctrl-C exits 130', async () => {
    const f = new Follow([src(), '-n', '1', '--output', 'ndjson', '--filter', 'reason=parse_error'])
    await f.waitLines(1)
    const ids: string[] = []
    for (let i = 3; i < 203; i++) {
      const id = (await redis.xadd(key, '*', 'data', entry(i, i % 10 === 0 ? 'timeout' : 'parse_error')))!
      if (i % 10 !== 0) ids.push(id)
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 50))
    }
    await f.waitLines(1 + ids.length)
    await new Promise((r) => setTimeout(r, 300))
    expect(await f.interrupt()).toBe(130)
    const got = f.json()
    expect(got.map((m) => m.position)).toEqual([expect.any(String), ...ids])
    expect(got.map(seqOf)).toEqual([2, ...range(3, 203).filter((i) => i % 10 !== 0)])
  })

  it('a followed table prints each row as it comes', async () => {
    const f = new Follow([src(), '-n', '0'])
    await f.waitLines(1)
    expect(f.lines[0]).toMatch(/^POSITION +TIME +SOURCE +REASON/)
    // The header comes once the follow has taken its "now": an entry written right after it is new, and printed.
    const id = await redis.xadd(key, '*', 'data', entry(500, 'late'))
    await f.waitLines(2)
    expect(f.lines[1].split(' ')[0]).toBe(id)
    expect(f.lines[1]).toContain('late')
    expect(await f.interrupt()).toBe(130)
  })

  it('exits quietly (0) when the reader of stdout goes away (| head)', async () => {
    const f = new Follow([src(), '-n', '1', '--output', 'ndjson'])
    await f.waitLines(1)
    f.child.stdout!.destroy()
    for (let i = 0; i < 3; i++) {
      await redis.xadd(key, '*', 'data', entry(600 + i))
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(await f.exited).toBe(0)
    expect(f.stderr).toBe('')
  })
})

describe.skipIf(!kafkaSvc.available)('dlq tail on a Kafka topic', () => {
  const kafka = new KafkaFixture()
  let topic: string
  beforeAll(async () => {
    topic = await kafka.topic('tail', 2)
    await kafka.produce(topic, [{partition: 0, value: entry(0)}, {partition: 1, value: entry(1)}])
  }, 60_000)
  afterAll(() => kafka.close())

  it('prints the newest N across the partitions by time, oldest first (not those of the last partition, however old)', async () => {
    const spread = await kafka.topic('tail-spread', 3)
    const t0 = Date.now() - 60 * 60_000
    // Partition 2 (last in position order) holds only old records; 0 and 1 take turns with the newest.
    await kafka.produce(spread, [
      ...range(0, 3).map((i) => ({partition: 2, value: entryAt(t0 + i, 100 + i), timestamp: t0 + i})),
      ...range(0, 6).map((i) => ({partition: i % 2, value: entryAt(t0 + 60_000 + i * 1000, i), timestamp: t0 + 60_000 + i * 1000})),
      // Same time on two partitions: the higher partition counts as newer.
      {partition: 0, value: entryAt(t0 + 70_000, 6), timestamp: t0 + 70_000},
      {partition: 1, value: entryAt(t0 + 70_000, 7), timestamp: t0 + 70_000},
    ])
    const r = dlqJson(['tail', `${KAFKA_URI}/${spread}`, '-n', '4'])
    expect(r.code).toBe(0)
    expect(r.json.items.map(seqOf)).toEqual([4, 5, 6, 7])
    expect(r.json.items.map((m: {position: string}) => m.position)).toEqual(['0:2', '1:2', '0:3', '1:3'])
    // Fewer records than asked for: all of them, by time.
    expect(dlqJson(['tail', `${KAFKA_URI}/${spread}`, '-n', '20']).json.items.map(seqOf)).toEqual([100, 101, 102, 0, 1, 2, 3, 4, 5, 6, 7])
    // With a filter, the newest that match.
    expect(dlqJson(['tail', `${KAFKA_URI}/${spread}`, '-n', '2', '--filter', 'reason=parse_error', '--partition', '2']).json.items.map(seqOf)).toEqual([101, 102])
    // The follow's backlog is the same newest N; then each partition goes on right after it.
    const f = new Follow([`${KAFKA_URI}/${spread}`, '-n', '3', '--output', 'ndjson'])
    await f.waitLines(3)
    const sent = await kafka.produce(spread, [
      {partition: 2, value: entry(200)},
      {partition: 0, value: entry(201)},
      {partition: 1, value: entry(202)},
    ])
    await f.waitLines(6)
    await new Promise((r) => setTimeout(r, 500))
    expect(await f.interrupt()).toBe(130)
    const got = f.json()
    expect(got.slice(0, 3).map(seqOf)).toEqual([5, 6, 7])
    expect(got.slice(3).map((m) => m.position).sort()).toEqual([...sent].sort())
  }, 60_000)

  it('follows records produced meanwhile, and a partition added meanwhile; each once, in order per partition', async () => {
    const f = new Follow([`${KAFKA_URI}/${topic}`, '-n', '1', '--output', 'ndjson'])
    await f.waitLines(1)
    const producer = kafka.producer()
    const sent: string[] = []
    for (let i = 2; i < 42; i++) sent.push(...(await kafka.produce(topic, [{partition: i % 2, value: entry(i)}], producer)))
    await f.waitLines(41)
    await kafka.admin.createPartitions({topics: [{name: topic, count: 3}]})
    // A producer that has not cached the old partition count writes to the new partition.
    const fresh = new Producer<Buffer, Buffer, Buffer, Buffer>({clientId: 'dlq-tests-fresh', bootstrapBrokers: BROKERS, idempotent: true, acks: -1})
    try {
      for (let i = 42; i < 45; i++) sent.push(...(await kafka.produce(topic, [{partition: 2, value: entry(i)}], fresh)))
    } finally {
      await fresh.close()
    }
    await f.waitLines(44, 30_000)
    await new Promise((r) => setTimeout(r, 500))
    expect(await f.interrupt()).toBe(130)
    const got = f.json()
    expect(got[0].position).toBe('1:0')
    const followed = got.slice(1)
    expect(followed.map((m) => m.position).sort()).toEqual([...sent].sort())
    for (const p of [0, 1, 2]) {
      const mine = followed.filter((m) => m.position.startsWith(`${p}:`))
      expect(mine.map(seqOf)).toEqual([...mine.map(seqOf)].sort((a, b) => a - b))
    }
    expect(followed.filter((m) => m.position.startsWith('2:')).map(seqOf)).toEqual([42, 43, 44])
  }, 90_000)
})
