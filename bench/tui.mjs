// dlq browse: time to the first frame (against node -e 0, both in tmux), and key-to-frame
// latency when paging through a large file. Run through `npm run bench` (suite "tui").
import {execFileSync, spawnSync} from 'node:child_process'
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
  await frameShows(/\([\d,]+\)/, 120_000)
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
    waitFor(new RegExp(`\\(${n.toLocaleString('en')}\\)`), 120_000)
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
  } finally {
    spawnSync(TMUX, ['-L', socket, 'kill-server'])
    rmSync(cache, {recursive: true, force: true})
  }
  return rows
}
