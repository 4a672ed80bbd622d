import {spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gunzipSync, gzipSync} from 'node:zlib'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, ROOT} from '../helpers/cli.js'
import {RotatingWriter} from '../helpers/rotating-writer.js'

/**
 * Issue 11 item 2: a read of a rotated directory while hyperi-rustlib rotates it. A writer
 * process (test/helpers/rotating-writer.ts) appends batches to the live file and, on SIGUSR2,
 * rotates exactly as the crate does (rename, new live file, max_age_days cleanup, gzip).
 * The rotations are triggered once dlq holds a file of the directory open (seen in /proc), so
 * they happen while it reads; the read is kept long with a few hundred thousand records and, for
 * inspect, a regex filter that makes it parse every line.
 */

const entry = (n: number) =>
  JSON.stringify({timestamp: 1_700_000_000_000 + n, service: 'rot', reason: n % 100 === 0 ? 'keep' : 'skip', attempts: 1, payload: Buffer.from(`seq-${n}`).toString('base64'), source: {topic: 'orders', partition: 0, offset: n}}) + '\n'

let tmp: string
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dlq-rotation-'))
})
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

const PER_FILE = 40_000
/**
 * A directory as the crate leaves it: 8 rotated files (the oldest one older than max_age_days,
 * the 2 oldest gzipped, the 6 newest plain) and a live file, records seq-0, seq-1, … in order.
 */
function seed(name: string): {dir: string; next: number} {
  const dir = join(tmp, name)
  mkdirSync(dir)
  const names = ['20200101T000000', '20261101T080000', '20261102T080000', '20261102T080000.1', '20261105T000000', '20261110T000000', '20261120T000000', '20261125T000000']
  let seq = 0
  const chunk = () => {
    let s = ''
    for (let i = 0; i < PER_FILE; i++) s += entry(seq++)
    return s
  }
  names.forEach((n, i) => {
    const text = chunk()
    if (i < 2) writeFileSync(join(dir, `dlq.ndjson.${n}.gz`), gzipSync(text, {level: 1}))
    else writeFileSync(join(dir, `dlq.ndjson.${n}`), text)
  })
  writeFileSync(join(dir, 'dlq.ndjson'), chunk())
  return {dir, next: seq}
}

interface Run {
  code: number
  stdout: string
  stderr: string
  exitAt: number
  /** When dlq was first seen holding a file of the directory open. */
  openAt: number
  rotations: Array<{rotated: number; at: number; seqBefore: number}>
  written: number
}

/** Starts the writer, runs dlq, rotates `times` times once dlq has the directory open, stops the writer. */
async function readWhileRotating(dir: string, next: number, args: string[], times = 3): Promise<Run> {
  const writer = await RotatingWriter.start(dir, {startSeq: next, maxAgeDays: 365, gzipPauseMs: 100})

  const env = {...process.env, COLUMNS: '200', DLQ_CACHE_DIR: join(tmp, 'cache')}
  const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout!.on('data', (b) => out.push(b))
  child.stderr!.on('data', (b) => err.push(b))
  const exited = new Promise<{code: number; at: number}>((resolve) => child.on('exit', (code) => resolve({code: code ?? -1, at: Date.now()})))

  const openAt = await holdsFileOf(child, dir)
  for (let i = 1; i <= times; i++) await writer.rotate(i)
  const {code, at: exitAt} = await exited
  const ms = (t: number) => `${t - openAt} ms`
  const rotations = writer.events.filter((e) => e.rotated !== undefined) as Run['rotations']
  console.log(`${args[0]}: dlq had the directory open at 0 ms, rotations done at ${rotations.map((e) => ms(e.at)).join(', ')}, dlq exited at ${ms(exitAt)}`)
  const written = await writer.stop()
  return {
    code,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    exitAt,
    openAt,
    rotations,
    written,
  }
}

/** Polls /proc until the process has a file of `dir` open: it is reading the DLQ. */
async function holdsFileOf(child: ChildProcess, dir: string): Promise<number> {
  const fdDir = `/proc/${child.pid}/fd`
  for (;;) {
    if (child.exitCode !== null) throw new Error('dlq exited before it opened the directory')
    try {
      for (const fd of readdirSync(fdDir)) {
        try {
          if (readlinkSync(join(fdDir, fd)).startsWith(dir + '/dlq.ndjson')) return Date.now()
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // not started yet
    }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/** The writer's own truth: every record in the directory's files now, in the crate's order. */
function onDisk(dir: string): number[] {
  const rank = (n: string) => {
    if (n === 'dlq.ndjson') return ['~', 0] as const
    const m = n.match(/^dlq\.ndjson\.(\d{8}T\d{6})(?:\.(\d+))?(\.gz)?$/)!
    return [m[1], m[2] === undefined ? 0 : Number(m[2]) + 1] as const
  }
  const names = readdirSync(dir).sort((a, b) => {
    const [x, y] = [rank(a), rank(b)]
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]
  })
  const seqs: number[] = []
  for (const n of names) {
    const raw = readFileSync(join(dir, n))
    for (const l of (n.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8').split('\n')) if (l !== '') seqs.push(JSON.parse(l).source.offset)
  }
  return seqs
}

/** The log starts with the file max_age_days deletes (seq 0) or, when dlq listed after that deletion, right after it. */
function firstSeq(seq: number): number {
  expect([0, PER_FILE]).toContain(seq)
  return seq
}

const range = (from: number, to: number, step = 1) => Array.from({length: Math.ceil((to - from) / step)}, (_, i) => from + i * step)

/** The rotations happened while dlq ran, after it had opened the directory; the crate's steps really ran. */
function checkRotatedDuringRead(run: Run, dir: string, times: number) {
  expect(run.rotations).toHaveLength(times)
  for (const r of run.rotations) {
    expect(r.at).toBeGreaterThan(run.openAt)
    expect(r.at).toBeLessThan(run.exitAt)
  }
  const names = readdirSync(dir)
  // max_age_days deleted the 2020 file; the 6-newest rule gzipped the oldest plain ones; `.N` on same-second names.
  expect(names.some((n) => n.startsWith('dlq.ndjson.2020'))).toBe(false)
  expect(names).toContain('dlq.ndjson.20261102T080000.1.gz')
  expect(names.filter((n) => /^dlq\.ndjson\.\d{8}T\d{6}(\.\d+)?$/.test(n))).toHaveLength(6)
  // The writer wrote every record once, in order (records of the deleted file excepted).
  const disk = onDisk(dir)
  expect(disk).toEqual(range(PER_FILE, run.written))
}

describe.skipIf(process.platform !== 'linux')('reading a rotated directory while hyperi-rustlib rotates it', () => {
  it('export: exit 0, every record exactly once and in order, through the renamed live file into the new one', async () => {
    const {dir, next} = seed('export')
    const run = await readWhileRotating(dir, next, ['export', dir])
    expect(run.stderr).not.toMatch(/ENOENT|error/i)
    expect(run.code).toBe(0)
    checkRotatedDuringRead(run, dir, 3)
    const seqs = run.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l).source.offset as number)
    // The whole directory as it was opened, then everything written until the read reached the end: no gap,
    // no repeat. The file max_age_days deletes is in it (dlq held it open) unless the first rotation won the
    // race with dlq's listing, which then lists again without it: whole or not at all.
    const first = firstSeq(seqs[0])
    expect(seqs.length).toBeGreaterThanOrEqual(run.rotations.at(-1)!.seqBefore - first)
    expect(seqs).toEqual(range(first, first + seqs.length))
  })

  it('inspect --limit 5000 with a filter that parses every line: exit 0, every match once, in order', async () => {
    const {dir, next} = seed('inspect')
    const run = await readWhileRotating(dir, next, ['inspect', dir, '--limit', '5000', '--filter', 'reason~^ke+p$', '--json', '--no-payload'])
    expect(run.code).toBe(0)
    checkRotatedDuringRead(run, dir, 3)
    const page = JSON.parse(run.stdout)
    const seqs = page.items.map((i: any) => i.source.offset as number)
    const first = firstSeq(seqs[0])
    expect(seqs.length).toBeGreaterThanOrEqual(Math.floor((run.rotations.at(-1)!.seqBefore - first) / 100))
    expect(seqs).toEqual(range(first, first + seqs.length * 100, 100))
    // Positions are the record numbers of the log as opened: seq n is record n - first.
    expect(page.items.map((i: any) => i.position)).toEqual(seqs.map((n: number) => String(n - first)))
    expect(page.end).toBe(true)
  })

  it('export of a directory the writer only renames (no gzip, no deletion): the records of the renamed live file are all there', async () => {
    const dir = join(tmp, 'rename-only')
    mkdirSync(dir)
    let seq = 0
    for (const n of ['20261120T000000', '20261125T000000', 'live']) {
      let text = ''
      for (let i = 0; i < 2 * PER_FILE; i++) text += entry(seq++)
      writeFileSync(join(dir, n === 'live' ? 'dlq.ndjson' : `dlq.ndjson.${n}`), text)
    }
    const run = await readWhileRotating(dir, seq, ['export', dir], 1)
    expect(run.code).toBe(0)
    expect(run.rotations).toHaveLength(1)
    expect(run.rotations[0].at).toBeGreaterThan(run.openAt)
    expect(run.rotations[0].at).toBeLessThan(run.exitAt)
    expect(readdirSync(dir).filter((n) => n.endsWith('.gz'))).toEqual([])
    const seqs = run.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l).source.offset as number)
    // Everything the renamed live file held when it was renamed, and no gap or repeat after it.
    expect(seqs.length).toBeGreaterThanOrEqual(run.rotations[0].seqBefore)
    expect(seqs).toEqual(range(0, seqs.length))
    expect(onDisk(dir).slice(0, seqs.length)).toEqual(seqs)
  })

  it('stats: exit 0, the count of a gapless prefix of the log (first/last times are seq 0 and seq total-1)', async () => {
    const {dir, next} = seed('stats')
    const run = await readWhileRotating(dir, next, ['stats', dir, '--json'])
    expect(run.code).toBe(0)
    checkRotatedDuringRead(run, dir, 3)
    const s = JSON.parse(run.stdout)
    expect(s.unreadable.count).toBe(0)
    const first = firstSeq(Date.parse(s.firstTimestamp) - 1_700_000_000_000)
    expect(s.total).toBeGreaterThanOrEqual(run.rotations.at(-1)!.seqBefore - first)
    expect(s.lastTimestamp).toBe(new Date(1_700_000_000_000 + first + s.total - 1).toISOString())
  })
})
