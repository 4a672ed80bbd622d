// dlq browse: time to the first frame (against node -e 0, both in tmux), and key-to-frame
// latency when paging through a large file. Run through `npm run bench` (suite "tui").
import {execFileSync, spawnSync} from 'node:child_process'
import {Socket} from 'node:net'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DLQ, ROOT, hyperiFile} from './lib.mjs'

const TMUX = '/usr/bin/tmux'
const socket = `dlq-bench-tui-${process.pid}`
const tmux = (...args) => execFileSync(TMUX, ['-L', socket, ...args], {encoding: 'utf8'})
const screen = () => tmux('capture-pane', '-p', '-t', 'b')
const quote = (argv) => argv.map((a) => `'${a}'`).join(' ')
const now = () => Number(process.hrtime.bigint()) / 1e6

function waitFor(re, timeoutMs = 30_000) {
  const until = now() + timeoutMs
  for (;;) {
    const s = screen()
    const m = s.match(re)
    if (m) return m
    if (now() > until) throw new Error(`bench tui: no ${re} on screen:\n${s}`)
  }
}

/** Milliseconds from starting `argv` in a fresh tmux window until `re` is on its screen. */
function timeToScreen(argv, re, env = {}) {
  spawnSync(TMUX, ['-L', socket, 'kill-session', '-t', 'b'])
  const envs = Object.entries(env).map(([k, v]) => `${k}='${v}'`).join(' ')
  const t = now()
  tmux('new-session', '-d', '-s', 'b', '-x', '160', '-y', '40', `${envs} ${quote(argv)}; sleep 30`)
  waitFor(re)
  return now() - t
}

/** RSS in MB of the dlq process running in the measured tmux window. */
function rssOfBrowse() {
  const pane = tmux('list-panes', '-t', 'b', '-F', '#{pane_pid}').trim()
  const out = spawnSync('sh', ['-c', `ps -o rss= -p "$(pgrep -P ${pane} -f browse | head -1)"`], {encoding: 'utf8'}).stdout.trim()
  return out ? Number(out) / 1024 : 0
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]

const BROKERS = process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092'
const REDIS_URL = process.env.DLQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379'
const T0 = Date.UTC(2026, 10, 1)
const entry = (i) =>
  JSON.stringify({timestamp: T0 + i, service: 'ingest', reason: i % 5 === 1 ? 'timeout' : 'parse_error', attempts: 1, payload: Buffer.from(JSON.stringify({id: i, note: 'x'.repeat(200)})).toString('base64')})

function reachable(port) {
  return new Promise((resolve) => {
    const s = new Socket()
    s.setTimeout(1000, () => (s.destroy(), resolve(false)))
    s.once('error', () => resolve(false))
    s.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)))
  })
}

/** A Redis stream of n entries with ids `${T0 + i}-0`. */
async function redisStream(n) {
  const {Redis} = await import('ioredis')
  const redis = new Redis(REDIS_URL)
  const key = `dlq-bench-tui-${Date.now().toString(36)}`
  for (let at = 0; at < n; at += 10_000) {
    const pipe = redis.pipeline()
    for (let i = at; i < Math.min(n, at + 10_000); i++) pipe.xadd(key, `${T0 + i}-0`, 'data', entry(i))
    for (const [error] of await pipe.exec()) if (error) throw error
  }
  return {
    uri: `${REDIS_URL}/0/${key}`,
    positionOf: (i) => `${T0 + i}-0`,
    drop: async () => {
      await redis.del(key)
      await redis.quit()
    },
  }
}

/** A 3-partition topic of n records, partition by partition (record i → partition floor(i / (n/3))). */
async function kafkaTopic(n) {
  const {Admin, Producer} = await import('@platformatic/kafka')
  const topic = `dlq-bench-tui-${Date.now().toString(36)}`
  const admin = new Admin({clientId: 'dlq-bench', bootstrapBrokers: [BROKERS]})
  await admin.createTopics({topics: [topic], partitions: 3, replicas: 1})
  for (let i = 0; i < 100; i++) {
    const md = await admin.metadata({topics: [topic], forceUpdate: true}).catch(() => null)
    if (md?.topics.get(topic)?.partitions.every((p) => p.leader >= 0)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const per = n / 3
  const producer = new Producer({clientId: 'dlq-bench', bootstrapBrokers: [BROKERS], idempotent: true, acks: -1})
  for (let i = 0; i < n; i += 2000) {
    const messages = []
    for (let j = i; j < Math.min(n, i + 2000); j++) messages.push({topic, partition: Math.floor(j / per), value: Buffer.from(entry(j)), timestamp: BigInt(T0 + j)})
    await producer.send({messages})
  }
  await producer.close()
  return {
    uri: `kafka://${BROKERS}/${topic}`,
    // The log order is partition 0, then 1, then 2.
    positionOf: (i) => `${Math.floor(i / per)}:${i % per}`,
    drop: async () => {
      await admin.deleteTopics({topics: [topic]}).catch(() => {})
      await admin.close()
    },
  }
}

/**
 * Backward paging in-process: G, then PgUp presses, each timed from the key to the frame
 * whose status bar shows the position a screenful up. Pages before the loaded start come
 * from the reader's pageBefore (Kafka: fetches below the cursor; Redis: XREVRANGE).
 */
async function inProcessBackward(open, source, n, presses) {
  process.env.NODE_ENV ??= 'production'
  const harness = await import(join(ROOT, 'dist', 'tui-bench.js'))
  const reader = await harness[open](source.uri)
  const replay = {plan: async () => ({}), execute: async () => ({}), replayedAmong: async () => [], close: async () => {}}
  const app = harness.render(harness.createElement(harness.BrowseApp, {reader, filterSpec: {}, from: null, payloadLimit: 4096, replay, size: {columns: 160, rows: 40}, followMs: 3_600_000}))
  const frameShows = async (re, timeoutMs = 30_000) => {
    const until = now() + timeoutMs
    while (!re.test(app.lastFrame() ?? '')) {
      if (now() > until) throw new Error(`bench tui: in-process frame never showed ${re}:\n${app.lastFrame()}`)
      await new Promise((r) => setImmediate(r))
    }
  }
  const at = (i) => new RegExp(`│ at ${source.positionOf(i)} │`)
  await frameShows(at(0))
  app.stdin.write('G')
  await frameShows(at(n - 1))
  const lat = []
  let i = n - 1
  for (let k = 0; k < presses; k++) {
    i -= 17
    const t = now()
    app.stdin.write('\x1b[5~')
    await frameShows(at(i))
    lat.push(now() - t)
  }
  app.unmount()
  await reader.close()
  return lat
}

async function inProcessPaging(file, presses) {
  process.env.NODE_ENV ??= 'production'
  // One bundle entry holds the app, Ink's test renderer and React: the same instances browse uses.
  const {BrowseApp, openFileReader, render, createElement} = await import(join(ROOT, 'dist', 'tui-bench.js'))
  const React = {createElement}
  const reader = await openFileReader(file)
  const replay = {plan: async () => ({}), execute: async () => ({}), replayedAmong: async () => [], close: async () => {}}
  const app = render(React.createElement(BrowseApp, {reader, filterSpec: {}, from: null, payloadLimit: 4096, replay, size: {columns: 160, rows: 40}}))
  const frameShows = async (re, timeoutMs = 30_000) => {
    const until = now() + timeoutMs
    while (!re.test(app.lastFrame() ?? '')) {
      if (now() > until) throw new Error(`bench tui: in-process frame never showed ${re}`)
      await new Promise((r) => setImmediate(r))
    }
  }
  await frameShows(/│ at 0 │/)
  await frameShows(/\([\d,]+ messages?\)/, 120_000)
  const lat = []
  let pos = 0
  for (let i = 0; i < presses; i++) {
    pos += 17
    const t = now()
    app.stdin.write('\x1b[6~')
    await frameShows(new RegExp(`│ at ${pos} │`))
    lat.push(now() - t)
  }
  app.unmount()
  await reader.close()
  return lat
}

export async function bench({quick}) {
  // tmux comes from the project's own installer (apt-get on a fresh machine).
  if (!existsSync(TMUX)) spawnSync('bash', [join(ROOT, 'scripts', 'services.sh'), 'up', 'tools'], {stdio: 'inherit'})
  if (!existsSync(TMUX)) {
    console.error('bench: tui needs tmux; skipped')
    return []
  }
  const rows = []
  // The server exits with its last session; a placeholder keeps it up between measurements.
  tmux('new-session', '-d', '-s', 'keep', 'sleep 3600')
  const cache = mkdtempSync(join(tmpdir(), 'dlq-bench-tui-'))
  try {
    // ---- first frame ----
    const fixture = join(ROOT, 'fixtures', 'mixed.ndjson')
    const runs = quick ? 3 : 7
    const ours = []
    const node0 = []
    for (let i = 0; i <= runs; i++) {
      // the first of each is a warm-up
      const a = timeToScreen([...DLQ, 'browse', fixture], /│ at 0 │/)
      const b = timeToScreen([process.execPath, '-e', 'process.stdout.write("READY")'], /READY/)
      if (i > 0) ours.push(a), node0.push(b)
    }
    rows.push({
      case: 'browse: time to the first frame (fixture, in tmux)',
      ours: median(ours) / 1000,
      tool: 'node -e 0 (printing, in tmux)',
      theirs: median(node0) / 1000,
      unit: 's',
      target: '≤ 3×',
      note: `median of ${runs}; status bar with the position of the first message`,
    })

    // ---- key to frame, paging a large file ----
    const n = quick ? 100_000 : 1_000_000
    const file = hyperiFile(n)
    timeToScreen([...DLQ, 'browse', file], /│ at 0 │/, {DLQ_CACHE_DIR: cache})
    // Counting the file (the status bar's bounds) runs in the background; measure once it is done.
    waitFor(new RegExp(`\\(${n.toLocaleString('en')} messages\\)`), 120_000)
    const rssStart = rssOfBrowse()
    const presses = quick ? 40 : 300
    const lat = []
    let pos = 0
    for (let i = 0; i < presses; i++) {
      const t = now()
      tmux('send-keys', '-t', 'b', 'NPage')
      pos += 17
      waitFor(new RegExp(`│ at ${pos} │`), 10_000)
      lat.push(now() - t)
    }
    // A probe with no work behind it: what send-keys + capture-pane cost by themselves.
    const probe = []
    for (let i = 0; i < 10; i++) {
      const t = now()
      tmux('send-keys', '-t', 'b', '?')
      waitFor(/Esc or \? closes this help/)
      tmux('send-keys', '-t', 'b', 'Escape')
      waitFor(/POSITION TIME/)
      probe.push(now() - t)
    }
    rows.push({
      case: `browse: PgDn to redrawn frame, ${n.toLocaleString('en')}-entry file (median)`,
      ours: median(lat),
      tool: null,
      theirs: null,
      unit: 'ms',
      target: '≤ 50 ms',
      note: `${presses} presses; p95 ${pct(lat, 0.95).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms; includes tmux send-keys + capture-pane polling`,
    })
    // In-process: the same app from the built chunk, driven through ink-testing-library, so
    // the time is React + Ink + dlq only (no terminal, no tmux polling).
    const inproc = await inProcessPaging(file, quick ? 200 : 1000)
    rows.push({
      case: `browse: PgDn to redrawn frame in-process, ${n.toLocaleString('en')}-entry file (median)`,
      ours: median(inproc),
      tool: null,
      theirs: null,
      unit: 'ms',
      target: '≤ 50 ms',
      note: `${inproc.length} presses; p95 ${pct(inproc, 0.95).toFixed(1)} ms, max ${Math.max(...inproc).toFixed(1)} ms`,
    })
    rows.push({case: 'browse: tmux round trip alone (? then Esc, no paging)', ours: median(probe) / 2, tool: null, theirs: null, unit: 'ms', note: 'per key: the measuring overhead included above'})
    rows.push({case: `browse: PgDn to redrawn frame (p95)`, ours: pct(lat, 0.95), tool: null, theirs: null, unit: 'ms', target: '≤ 50 ms'})
    const rss = rssOfBrowse()
    if (rss > 0) rows.push({case: `browse: RSS after paging ${pos.toLocaleString('en')} records in`, ours: rss, tool: 'RSS at the first page', theirs: rssStart || null, unit: 'MB', target: 'flat in the DLQ size'})

    // ---- key to frame, paging backward from the end (G) on Kafka and Redis ----
    const storeN = quick ? 30_000 : 150_000
    const backPresses = quick ? 100 : 400
    for (const [name, port, make, open] of [
      ['Kafka', Number(BROKERS.split(',')[0].split(':')[1]), kafkaTopic, 'openKafkaReader'],
      ['Redis', Number(REDIS_URL.split(':').pop().split('/')[0]), redisStream, 'openRedisReader'],
    ]) {
      if (!(await reachable(port))) {
        console.error(`bench: ${name} is not running on 127.0.0.1:${port}; backward paging on ${name} skipped (bash scripts/services.sh up ${name.toLowerCase()})`)
        continue
      }
      const source = await make(storeN)
      try {
        const back = await inProcessBackward(open, source, storeN, backPresses)
        rows.push({
          case: `browse: PgUp to redrawn frame in-process after G, ${name} (${storeN.toLocaleString('en')} records, median)`,
          ours: median(back),
          tool: null,
          theirs: null,
          unit: 'ms',
          target: '≤ 50 ms',
          note: `${back.length} presses from the end back; p95 ${pct(back, 0.95).toFixed(1)} ms, max ${Math.max(...back).toFixed(1)} ms; pages before the loaded ones via pageBefore`,
        })
      } finally {
        await source.drop()
      }
    }
  } finally {
    spawnSync(TMUX, ['-L', socket, 'kill-server'])
    rmSync(cache, {recursive: true, force: true})
  }
  return rows
}
