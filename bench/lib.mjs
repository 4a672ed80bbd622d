// Small timing helpers shared by the benchmark modules.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import os from 'node:os'

export const ROOT = new URL('..', import.meta.url).pathname
export const DLQ = [process.execPath, `${ROOT}bin/run.js`]
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null

/** Runs of each timed case (`npm run bench -- --runs N`); the spread of the runs is printed. */
export const RUNS = (() => {
  const i = process.argv.indexOf('--runs')
  return i >= 0 ? Math.max(1, Number(process.argv[i + 1]) || 3) : 3
})()

/** Runs argv once; returns wall seconds, CPU seconds (user + system) and peak RSS in MB (when GNU time is there). */
export function runOnce(argv, {env, stdout = 'pipe', input} = {}) {
  const cmd = GNU_TIME ? [GNU_TIME, '-f', '@@RSS %M %U %S', ...argv] : argv
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd[0], cmd.slice(1), {env: {...process.env, ...env}, stdio: [input ? 'pipe' : 'ignore', stdout, 'pipe'], input, maxBuffer: 1 << 30})
  const seconds = Number(process.hrtime.bigint() - t) / 1e9
  const stderr = r.stderr?.toString() ?? ''
  const rss = stderr.match(/@@RSS (\d+) ([\d.]+) ([\d.]+)/)
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${stderr.slice(0, 500)}`)
  return {seconds, cpu: rss ? Number(rss[2]) + Number(rss[3]) : null, rssMB: rss ? Number(rss[1]) / 1024 : null, stdout: r.stdout, stderr}
}

export const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * Median wall time of `runs` runs (after one warm-up run), with every run's time (`times`,
 * for the printed spread), the median CPU time and the highest peak RSS.
 */
export function median(argv, runs = 5, opts = {}) {
  return inTurns([argv], runs, opts).results[0]
}

export function have(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
}

/** bench/data/<name>-<n>.ndjson of n hyperi entries, generated once (--text: one-line JSON payloads). */
export function hyperiFile(n, {text = false} = {}) {
  const dataDir = join(ROOT, 'bench', 'data')
  mkdirSync(dataDir, {recursive: true})
  const file = join(dataDir, `${text ? 'replay-text' : 'hyperi'}-${n}.ndjson`)
  if (!existsSync(file)) {
    console.error(`bench: generating ${n} hyperi entries in ${file} …`)
    runOnce([process.execPath, join(ROOT, 'bench', 'gen-hyperi.mjs'), file, String(n), ...(text ? ['--text'] : [])])
  }
  return file
}

/**
 * Two commands timed in turns, `runs` times each after one warm-up of each, hyperfine-style:
 * alternating puts both under the same load, and the minimum is the run the machine disturbed
 * least (for a start-up of a tenth of a second, other work on the machine moves the median far
 * more than dlq does). Returns min/median wall and CPU of each, and the load average seen.
 */
export function paired(argvA, argvB, runs, opts = {}) {
  const {results: [a, b], load} = inTurns([argvA, argvB], runs, opts)
  return {a, b, load}
}

/**
 * Commands timed in turns (A B C, A B C, …), `runs` times each after one warm-up of each. Each
 * result: median and min wall time, every run's time, median and min CPU time, highest peak RSS;
 * and the median load average seen.
 */
export function inTurns(argvs, runs, opts = {}) {
  for (const argv of argvs) runOnce(argv, opts)
  const accs = argvs.map(() => ({times: [], cpus: [], rss: 0}))
  const loads = []
  for (let i = 0; i < runs; i++) {
    argvs.forEach((argv, j) => {
      const r = runOnce(argv, opts)
      accs[j].times.push(r.seconds)
      if (r.cpu !== null) accs[j].cpus.push(r.cpu)
      accs[j].rss = Math.max(accs[j].rss, r.rssMB ?? 0)
    })
    loads.push(os.loadavg()[0])
  }
  const results = accs.map((x) => ({
    seconds: mid(x.times),
    min: Math.min(...x.times),
    times: x.times,
    cpu: x.cpus.length ? mid(x.cpus) : null,
    cpuMin: x.cpus.length ? Math.min(...x.cpus) : null,
    rssMB: x.rss || null,
  }))
  return {results, load: mid(loads)}
}
