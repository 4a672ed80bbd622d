#!/usr/bin/env node
// npm run bench [-- --quick] [-- --only file,redis,kafka,replay,tui,follow,check,schema] [-- --runs N (default 3)]
// Compares dlq with the tools people use instead, in the same run, and prints ratios.
// Redis, Kafka and schema-registry cases run when those services answer (bash scripts/services.sh up).
import {existsSync} from 'node:fs'
import {Socket} from 'node:net'
import os from 'node:os'

const loadAtStart = os.loadavg()

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : ['file', 'redis', 'kafka', 'replay', 'tui', 'follow', 'check', 'schema']

function reachable(port) {
  return new Promise((resolve) => {
    const s = new Socket()
    s.setTimeout(1000, () => (s.destroy(), resolve(false)))
    s.once('error', () => resolve(false))
    s.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)))
  })
}

const REDIS_PORT = Number((process.env.DLQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379').split(':').pop().split('/')[0])
const KAFKA_PORT = Number((process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',')[0].split(':').pop())
const REGISTRY_PORT = Number(new URL(process.env.DLQ_TEST_SCHEMA_REGISTRY ?? 'http://127.0.0.1:18081/apis/ccompat/v7').port)
const SERVICE_OF = {[REDIS_PORT]: 'redis', [KAFKA_PORT]: 'kafka', [REGISTRY_PORT]: 'registry'}

/** Each suite with the services it needs (their ports): a suite whose services are not all up is skipped. */
const suites = [
  ['file', []],
  ['redis', [REDIS_PORT]],
  ['kafka', [KAFKA_PORT]],
  ['replay', [REDIS_PORT, KAFKA_PORT]],
  ['tui', []],
  ['follow', [REDIS_PORT, KAFKA_PORT]],
  ['check', [REDIS_PORT]],
  ['schema', [KAFKA_PORT, REGISTRY_PORT]],
]

const fmt = (v, unit) => (v === null || v === undefined ? '-' : unit === 's' ? `${v.toFixed(3)} s` : unit === 'MB' ? `${v.toFixed(0)} MB` : `${Math.round(v).toLocaleString('en')} ${unit}`)
const all = []
suite: for (const [name, ports] of suites) {
  if (!only.includes(name)) continue
  const file = new URL(`./${name}.mjs`, import.meta.url)
  if (!existsSync(file)) continue
  for (const port of ports) {
    if (!(await reachable(port))) {
      console.error(`bench: ${SERVICE_OF[port]} is not running on 127.0.0.1:${port}; ${name} skipped (bash scripts/services.sh up ${SERVICE_OF[port]})`)
      continue suite
    }
  }
  console.error(`bench: ${name} …`)
  const {bench} = await import(file)
  for (const row of await bench({quick})) all.push({suite: name, ...row})
}

// The spread of a case's runs, (max − min) / median: how much the machine moved the number.
const spreadOf = (xs) => {
  if (!Array.isArray(xs) || xs.length < 2) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = s[Math.floor(s.length / 2)]
  return m ? (s.at(-1) - s[0]) / m : null
}
const pct = (x) => (x === null ? '-' : `±${((x * 100) / 2).toFixed(0)}%`)
const lines = [['suite', 'case', 'dlq', 'spread', 'compared with', 'theirs', 'spread', 'ratio dlq/theirs', 'target', 'note']]
const spreads = []
for (const r of all) {
  // For throughputs a higher number is better, so the ratio is still "dlq / theirs".
  const ratio = r.theirs ? (r.ours / r.theirs).toFixed(2) + '×' : '-'
  const so = spreadOf(r.oursRuns)
  const st = spreadOf(r.theirsRuns)
  // Phase rows (a few ms each) would only say that tiny numbers jitter.
  if (r.unit !== 'ms') for (const x of [so, st]) if (x !== null) spreads.push(x)
  const runs = Array.isArray(r.oursRuns) ? `${r.oursRuns.length} runs` : ''
  lines.push([r.suite, r.case, fmt(r.ours, r.unit), pct(so), r.tool ?? '-', fmt(r.theirs, r.unit), pct(st), ratio, r.target ?? '', [runs, r.note].filter(Boolean).join('; ')])
}
const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)))
for (const l of lines) console.log(l.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd())
const load = os.loadavg()
const worst = spreads.length ? Math.max(...spreads) : null
console.log(
  `\nnoise: ${os.cpus().length} CPUs, load average ${loadAtStart.map((x) => x.toFixed(1)).join('/')} at the start and ${load.map((x) => x.toFixed(1)).join('/')} at the end; ` +
    `median spread of repeated runs ${pct(spreads.length ? spreads.sort((a, b) => a - b)[Math.floor(spreads.length / 2)] : null)}, widest ${pct(worst)} (spread = ±half of (max − min) / median). ` +
    `A load average above the CPU count means other work shared the machine: compare ratios, not absolute numbers.`,
)
