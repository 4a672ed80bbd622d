import {spawn, type ChildProcess} from 'node:child_process'
import {createInterface, type Interface} from 'node:readline'

/**
 * A writer process that appends hyperi-rustlib entries to `<dir>/dlq.ndjson` (20 every 5 ms,
 * `seq-N` payloads in order) and, on SIGUSR2, rotates exactly as the crate does (file-rotate 0.8,
 * fixtures/captured/hyperi-rustlib/FINDINGS.md and its source):
 *   1. close the live file and rename `dlq.ndjson` → `dlq.ndjson.<YYYYMMDDTHHMMSS>[.N]` (local time,
 *      `.N` when the newest rotated file has the same second), 2. create a new `dlq.ndjson`,
 *   3. delete rotated files whose name is older than now − max_age_days, oldest first, stopping at
 *      the first young enough, 4. gzip every rotated file but the 6 newest, oldest first: create
 *      `<name>.gz`, write what the encoder has flushed, remove the plain file, and only then (the
 *      encoder's drop) write the last block and the trailer.
 * Arguments: DIR START_SEQ MAX_AGE_DAYS GZIP_PAUSE_MS. It prints `{"ready":true}`, then
 * `{"rotated":N,"at":MS,"seqBefore":S}` per rotation, and on SIGTERM `{"end":S}` (S = the next
 * seq it would have written) before exiting.
 */
export const WRITER = String.raw`
import {closeSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
const [dir, startSeq, maxAgeDays, pauseMs] = process.argv.slice(2).map((x, i) => (i === 0 ? x : Number(x)))
const LIVE = join(dir, 'dlq.ndjson')
const RE = /^dlq\.ndjson\.(\d{8}T\d{6})(?:\.(\d+))?(\.gz)?$/
const pad = (n) => String(n).padStart(2, '0')
const stamp = (d) => d.getFullYear() + pad(d.getMonth() + 1) + pad(d.getDate()) + 'T' + pad(d.getHours()) + pad(d.getMinutes()) + pad(d.getSeconds())
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
let seq = startSeq
let fd = openSync(LIVE, 'a')
const line = (n) => JSON.stringify({timestamp: 1_700_000_000_000 + n, service: 'rot', reason: n % 100 === 0 ? 'keep' : 'skip', attempts: 1, payload: Buffer.from('seq-' + n).toString('base64'), source: {topic: 'orders', partition: 0, offset: n}}) + '\n'
function rotated() {
  const out = []
  for (const name of readdirSync(dir)) {
    const m = name.match(RE)
    if (m) out.push({name, ts: m[1], n: m[2] === undefined ? null : Number(m[2]), gz: Boolean(m[3])})
  }
  // file-rotate's order: by timestamp, then number (none first); newest last here.
  return out.sort((a, b) => (a.ts === b.ts ? (a.n ?? -1) - (b.n ?? -1) : a.ts < b.ts ? -1 : 1))
}
function rotate() {
  closeSync(fd)
  const now = stamp(new Date())
  const newest = rotated().at(-1)
  const number = newest && newest.ts === now ? (newest.n ?? 0) + 1 : null
  renameSync(LIVE, join(dir, 'dlq.ndjson.' + now + (number === null ? '' : '.' + number)))
  fd = openSync(LIVE, 'a')
  const old = stamp(new Date(Date.now() - maxAgeDays * 86_400_000))
  for (const r of rotated()) {
    if (!(r.ts < old)) break
    unlinkSync(join(dir, r.name))
  }
  const all = rotated()
  for (const r of all.slice(0, Math.max(0, all.length - 6))) {
    if (r.gz) continue
    const plain = join(dir, r.name)
    const gz = gzipSync(readFileSync(plain))
    const cut = Math.max(0, gz.length - 1024)
    const out = openSync(plain + '.gz', 'w')
    writeSync(out, gz, 0, cut)
    unlinkSync(plain)
    sleep(pauseMs)
    writeSync(out, gz, cut, gz.length - cut)
    closeSync(out)
  }
}
let rotations = 0
let stop = false
process.on('SIGUSR2', () => rotations++)
process.on('SIGTERM', () => (stop = true))
let done = 0
const tick = () => {
  while (done < rotations) {
    rotate()
    done++
    process.stdout.write(JSON.stringify({rotated: done, at: Date.now(), seqBefore: seq}) + '\n')
  }
  if (stop) {
    closeSync(fd)
    process.stdout.write(JSON.stringify({end: seq}) + '\n')
    process.exit(0)
  }
  let batch = ''
  for (let i = 0; i < 20; i++) batch += line(seq++)
  writeSync(fd, batch)
  setTimeout(tick, 5)
}
process.stdout.write(JSON.stringify({ready: true}) + '\n')
tick()
`

/** What the writer prints: `ready`, then one `rotated` per rotation, and `end` when it stops. */
export interface WriterEvent {
  ready?: true
  rotated?: number
  at?: number
  seqBefore?: number
  end?: number
}

/** The WRITER running in its own process (the script goes in on stdin), its events collected as they come. */
export class RotatingWriter {
  readonly events: WriterEvent[] = []
  private readonly child: ChildProcess
  private readonly lines: Interface
  private readonly exited: Promise<void>
  /** Its stdout has ended: every event it printed is in `events`. */
  private closed = false

  /** Starts the writer on `dir` and waits until it is ready. */
  static async start(dir: string, opts: {startSeq: number; maxAgeDays: number; gzipPauseMs: number}): Promise<RotatingWriter> {
    const writer = new RotatingWriter(dir, opts)
    await writer.waitFor((e) => e.ready === true, 'ready')
    return writer
  }

  private constructor(dir: string, opts: {startSeq: number; maxAgeDays: number; gzipPauseMs: number}) {
    const args = [dir, opts.startSeq, opts.maxAgeDays, opts.gzipPauseMs].map(String)
    this.child = spawn(process.execPath, ['--input-type=module', '-', ...args], {stdio: ['pipe', 'pipe', 'inherit']})
    this.child.stdin!.end(WRITER)
    this.lines = createInterface({input: this.child.stdout!})
    this.lines.on('line', (l) => this.events.push(JSON.parse(l)))
    this.lines.on('close', () => (this.closed = true))
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()))
  }

  /**
   * The first event that satisfies `pred`, now or when it comes. Fails with what the writer printed
   * so far when it does not come within `timeoutMs` or the writer exits first, so a stuck writer
   * fails the test with a message instead of hanging it.
   */
  waitFor(pred: (e: WriterEvent) => boolean, what: string, timeoutMs = 30_000): Promise<WriterEvent> {
    return new Promise((resolve, reject) => {
      const settle = (e: WriterEvent | null, error?: string) => {
        clearTimeout(timer)
        this.lines.off('line', onLine)
        this.lines.off('close', onClose)
        if (e) resolve(e)
        else reject(new Error(`rotating writer: ${error} (events so far: ${JSON.stringify(this.events)})`))
      }
      // Checks after the collecting listener has pushed the line: it was added first.
      const onLine = () => {
        const hit = this.events.find(pred)
        if (hit) settle(hit)
        else if (this.closed) onClose()
      }
      const onClose = () => settle(null, `stopped (exit ${this.child.exitCode ?? this.child.signalCode}) before ${what}`)
      const timer = setTimeout(() => settle(null, `no ${what} within ${timeoutMs} ms`), timeoutMs)
      this.lines.on('line', onLine)
      this.lines.on('close', onClose)
      onLine()
    })
  }

  /** Rotation number `n` (counted from 1): asks for it and waits until the writer has done it. */
  async rotate(n: number): Promise<WriterEvent> {
    this.child.kill('SIGUSR2')
    return this.waitFor((e) => e.rotated === n, `rotation ${n}`)
  }

  /** Stops the writer: the seq it would have written next (every seq before it is written). */
  async stop(): Promise<number> {
    this.child.kill('SIGTERM')
    const {end} = await this.waitFor((e) => e.end !== undefined, 'end')
    await this.exited
    return end!
  }
}
