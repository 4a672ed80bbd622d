#!/usr/bin/env node
// npm run capture -- WRITER [WRITER…] | all
// Runs scripts/capture/WRITER/capture.sh for each writer, after making sure Redis, Kafka and the registry are up.
// See scripts/capture/README.md for what a capture holds.
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '..', '..')
const writers = readdirSync(here, {withFileTypes: true})
  .filter((d) => d.isDirectory() && existsSync(join(here, d.name, 'capture.sh')))
  .map((d) => d.name)
  .sort()
const asked = process.argv.slice(2)
if (asked.length === 0) {
  console.error(`usage: npm run capture -- WRITER [WRITER…] | all\nwriters: ${writers.join(', ')}`)
  process.exit(2)
}
const chosen = asked.includes('all') ? writers : asked
for (const w of chosen) {
  if (!writers.includes(w)) {
    console.error(`capture: unknown writer "${w}" (known: ${writers.join(', ')})`)
    process.exit(2)
  }
}
const run = (cmd, args) => spawnSync(cmd, args, {cwd: repo, stdio: 'inherit'}).status ?? 1
if (run('bash', ['scripts/services.sh', 'up']) !== 0) process.exit(1)
const env = {
  DLQ_CAPTURE_KAFKA: '127.0.0.1:' + (process.env.DLQ_KAFKA_PORT ?? '19092'),
  DLQ_CAPTURE_REDIS: 'redis://127.0.0.1:' + (process.env.DLQ_REDIS_PORT ?? '16379'),
  DLQ_CAPTURE_REGISTRY: 'http://127.0.0.1:' + (process.env.DLQ_REGISTRY_PORT ?? '18081') + '/apis/ccompat/v7',
}
let failed = 0
for (const w of chosen) {
  console.error(`capture: ${w}`)
  const status = spawnSync('bash', [join(here, w, 'capture.sh')], {cwd: repo, stdio: 'inherit', env: {...process.env, ...env, DLQ_CAPTURE_OUT: join(repo, 'fixtures', 'captured', w)}}).status
  if (status !== 0) {
    console.error(`capture: ${w} failed (exit ${status})`)
    failed++
  }
}
process.exit(failed ? 1 : 0)
