// Small timing helpers shared by the benchmark modules.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'

export const ROOT = new URL('..', import.meta.url).pathname
export const DLQ = [process.execPath, `${ROOT}bin/run.js`]
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null

/** Runs argv once; returns wall seconds and peak RSS in MB (when GNU time is there). */
export function runOnce(argv, {env, stdout = 'pipe', input} = {}) {
  const cmd = GNU_TIME ? [GNU_TIME, '-f', '@@RSS %M', ...argv] : argv
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd[0], cmd.slice(1), {env: {...process.env, ...env}, stdio: [input ? 'pipe' : 'ignore', stdout, 'pipe'], input, maxBuffer: 1 << 30})
  const seconds = Number(process.hrtime.bigint() - t) / 1e9
  const stderr = r.stderr?.toString() ?? ''
  const rss = stderr.match(/@@RSS (\d+)/)
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${stderr.slice(0, 500)}`)
  return {seconds, rssMB: rss ? Number(rss[1]) / 1024 : null, stdout: r.stdout}
}

/** Median wall time of `runs` runs (after one warm-up run). */
export function median(argv, runs = 5, opts = {}) {
  runOnce(argv, opts)
  const times = []
  let rss = 0
  for (let i = 0; i < runs; i++) {
    const r = runOnce(argv, opts)
    times.push(r.seconds)
    rss = Math.max(rss, r.rssMB ?? 0)
  }
  times.sort((a, b) => a - b)
  return {seconds: times[Math.floor(times.length / 2)], rssMB: rss || null}
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
