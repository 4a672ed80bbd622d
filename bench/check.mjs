// `dlq check --since -10m` on a large DLQ against the same check over the whole DLQ: what
// seeking by time saves. A Redis stream of old entries plus ten new ones (ids and timestamps of
// now), and a rotated directory whose old records sit in a rotated file named 2026-11-01.
import {copyFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Redis} from 'ioredis'
import {DLQ, RUNS, hyperiFile, median} from './lib.mjs'

const REDIS = process.env.DLQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379'
const T0 = Date.UTC(2026, 10, 1)
const recent = (i) => JSON.stringify({timestamp: Date.now(), service: 'bench', reason: 'parse_error', attempts: 1, payload: Buffer.from(`new-${i}`).toString('base64')})

export async function bench({quick}) {
  const n = quick ? 100_000 : 1_000_000
  const rows = []
  const check = (src, since) => [...DLQ, 'check', src, '--max', String(n + 100), ...(since ? ['--since', '-10m'] : [])]

  const redis = new Redis(REDIS)
  const key = `dlq-bench-check-${Date.now()}`
  const body = Buffer.alloc(440, 7).toString('base64')
  for (let at = 0; at < n; at += 10_000) {
    const pipe = redis.pipeline()
    for (let i = at; i < Math.min(n, at + 10_000); i++) pipe.xadd(key, `${T0 + i}-0`, 'data', JSON.stringify({timestamp: T0 + i, service: 'bench', reason: 'timeout', attempts: 1, payload: body}))
    await pipe.exec()
  }
  for (let i = 0; i < 10; i++) await redis.xadd(key, '*', 'data', recent(i))
  const src = `${REDIS}/0/${key}`
  const windowed = median(check(src, true), RUNS)
  const whole = median(check(src, false), RUNS)
  rows.push({case: `redis: check --since -10m (10 of ${n.toLocaleString('en')} entries)`, ours: windowed.seconds, oursRuns: windowed.times, unit: 's', tool: 'check, whole stream', theirs: whole.seconds, theirsRuns: whole.times})
  await redis.del(key)
  await redis.quit()

  const dir = mkdtempSync(join(tmpdir(), 'dlq-bench-check-'))
  copyFileSync(hyperiFile(n), join(dir, 'dlq.ndjson.20261101T000000'))
  writeFileSync(join(dir, 'dlq.ndjson'), Array.from({length: 10}, (_, i) => recent(i) + '\n').join(''))
  const cache = mkdtempSync(join(tmpdir(), 'dlq-bench-cache-'))
  const env = {DLQ_CACHE_DIR: cache}
  const dirWindowed = median(check(dir, true), RUNS, {env})
  const dirWhole = median(check(dir, false), RUNS, {env})
  rows.push({case: `rotated directory: check --since -10m (10 new, ${n.toLocaleString('en')} in a file rotated 2026-11-01)`, ours: dirWindowed.seconds, oursRuns: dirWindowed.times, unit: 's', tool: 'check, whole directory', theirs: dirWhole.seconds, theirsRuns: dirWhole.times, note: 'the rotated file is counted (newlines), not parsed'})
  rmSync(dir, {recursive: true, force: true})
  rmSync(cache, {recursive: true, force: true})
  return rows
}
