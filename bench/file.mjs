// NDJSON file DLQs: start-up, deep pages, filtered scans and memory, against wc, grep and jq.
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DLQ, ROOT, RUNS, have, hyperiFile, median, paired, runOnce} from './lib.mjs'

export async function bench({quick}) {
  const n = quick ? 100_000 : 1_000_000
  const file = hyperiFile(n)
  console.error(`bench: ${file}: ${(statSync(file).size / 1e6).toFixed(0)} MB`)
  const deep = String(Math.floor(n * 0.9))
  const rows = []
  // warm the page cache so every tool reads from memory
  runOnce(['cat', file])

  const fixture = join(ROOT, 'fixtures', 'hyperi.ndjson')
  const {a: start, b: node0, load} = paired([...DLQ, 'inspect', fixture, '--limit', '50'], [process.execPath, '-e', '0'], Math.max(RUNS, 20))
  rows.push({
    case: 'startup: inspect a fixture, 50 records (median)',
    ours: start.seconds,
    oursRuns: start.times,
    tool: 'node -e 0',
    theirs: node0.seconds,
    theirsRuns: node0.times,
    unit: 's',
    target: '≤ 1.5×',
    note: `CPU ${start.cpu?.toFixed(2)} s vs ${node0.cpu?.toFixed(2)} s; runs alternated; load ${load.toFixed(1)}`,
  })
  rows.push({case: 'startup: the same, fastest run of each', ours: start.min, tool: 'node -e 0', theirs: node0.min, unit: 's', target: '≤ 1.5×', note: `CPU ${start.cpuMin?.toFixed(2)} s vs ${node0.cpuMin?.toFixed(2)} s`})

  const wc = median(['wc', '-l', file], RUNS)
  const cold = []
  for (let i = 0; i < RUNS; i++) {
    const cache = mkdtempSync(join(tmpdir(), 'dlq-bench-cache-'))
    cold.push(runOnce([...DLQ, 'inspect', file, '--from', deep, '--limit', '50', '--json'], {env: {DLQ_CACHE_DIR: cache}}).seconds)
    rmSync(cache, {recursive: true, force: true})
  }
  rows.push({case: `page of 50 at record ${deep}, first visit (no index)`, ours: [...cold].sort((a, b) => a - b)[Math.floor(cold.length / 2)], oursRuns: cold, tool: 'wc -l', theirs: wc.seconds, theirsRuns: wc.times, unit: 's', target: '≤ 4×'})

  const cache = mkdtempSync(join(tmpdir(), 'dlq-bench-cache-'))
  const env = {DLQ_CACHE_DIR: cache}
  runOnce([...DLQ, 'inspect', file, '--from', deep, '--limit', '50', '--json'], {env})
  const warm = median([...DLQ, 'inspect', file, '--from', deep, '--limit', '50', '--json'], 5, {env})
  const zero = median([...DLQ, 'inspect', file, '--from', '0', '--limit', '50', '--json'], 5, {env})
  rows.push({case: `page of 50 at record ${deep}, later visits (index)`, ours: warm.seconds, oursRuns: warm.times, tool: 'dlq page at record 0', theirs: zero.seconds, theirsRuns: zero.times, unit: 's', target: '≤ 1.5×'})

  // A table of the largest page against the same page as JSON (the table renderer's cost).
  const table = median([...DLQ, 'inspect', file, '--limit', '5000'], RUNS, {env: {...env, COLUMNS: '200'}})
  const json = median([...DLQ, 'inspect', file, '--limit', '5000', '--json'], RUNS, {env})
  rows.push({case: 'inspect --limit 5000 as a table', ours: table.seconds, oursRuns: table.times, tool: 'the same page as --json', theirs: json.seconds, theirsRuns: json.times, unit: 's', target: '≤ 1.5×', note: `peak RSS ${table.rssMB?.toFixed(0)} MB`})

  const filtered = median([...DLQ, 'stats', file, '--filter', 'reason=timeout', '--json'], RUNS, {env})
  if (have('jq')) {
    const jq = median(['jq', '-c', 'select(.reason=="timeout")', file], RUNS)
    rows.push({case: '--filter reason=timeout over the whole file', ours: filtered.seconds, oursRuns: filtered.times, tool: "jq -c 'select(.reason==\"timeout\")'", theirs: jq.seconds, theirsRuns: jq.times, unit: 's', target: '≤ 0.1× (10× faster)'})
  }
  const grep = median(['grep', '-c', 'timeout', file], RUNS)
  rows.push({case: '--filter reason=timeout over the whole file', ours: filtered.seconds, oursRuns: filtered.times, tool: 'grep -c timeout', theirs: grep.seconds, theirsRuns: grep.times, unit: 's', target: '≤ 3×'})
  const loop = median([process.execPath, join(ROOT, 'bench', 'node-loop.mjs'), file], RUNS)
  rows.push({case: '--filter reason=timeout over the whole file', ours: filtered.seconds, oursRuns: filtered.times, tool: 'node readline + JSON.parse loop', theirs: loop.seconds, theirsRuns: loop.times, unit: 's'})

  const full = runOnce([...DLQ, 'stats', file, '--json'], {env})
  rows.push({case: 'stats over the whole file (every line parsed): peak RSS', ours: full.rssMB, tool: null, theirs: null, unit: 'MB', target: '≤ 200 MB', note: `${full.seconds.toFixed(2)} s`})
  rows.push({case: '--filter scan: peak RSS', ours: filtered.rssMB, tool: null, theirs: null, unit: 'MB', target: '≤ 200 MB'})
  rmSync(cache, {recursive: true, force: true})
  return rows
}
