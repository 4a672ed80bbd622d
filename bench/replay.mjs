// Replay throughput: 100,000 messages from a file DLQ to Redis (vs redis-cli --pipe) and to
// Kafka (vs kcat -P), the same payload bytes in both.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import {DLQ, ROOT, have, hyperiFile, runOnce} from './lib.mjs'

const redisUrl = process.env.DLQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379'
const redisPort = redisUrl.split(':').pop().split('/')[0]
const brokers = process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092'

function respCommand(args) {
  let out = `*${args.length}\r\n`
  const parts = [Buffer.from(out)]
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a))
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

export async function bench({quick}) {
  const n = quick ? 20_000 : 100_000
  const file = hyperiFile(n, {text: true})
  const payloads = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => Buffer.from(JSON.parse(l).payload, 'base64'))
  const rows = []
  const work = mkdtempSync(join(tmpdir(), 'dlq-bench-replay-'))
  const stamp = Date.now().toString(36)

  // Redis: both write n entries to a fresh stream.
  const cli = (...a) => spawnSync('redis-cli', ['-p', redisPort, ...a], {encoding: 'utf8'})
  const ours = `bench-replay-${stamp}`
  const theirs = `bench-pipe-${stamp}`
  cli('XADD', ours, '*', 'init', '1')
  const resp = join(work, 'pipe.resp')
  writeFileSync(resp, Buffer.concat(payloads.map((p) => respCommand(['XADD', theirs, '*', 'value', p]))))
  const dlqRun = runOnce([...DLQ, 'replay', file, '--all', '--yes', '--to', ours, '--sink', redisUrl, '--ledger', join(work, 'ledger-redis.ndjson'), '--json'])
  const pipe = runOnce(['sh', '-c', `redis-cli -p ${redisPort} --pipe < ${resp}`])
  const landed = Number(cli('XLEN', ours).stdout) - 1
  rows.push({case: `replay ${n} messages file → Redis stream (${landed} landed)`, ours: n / dlqRun.seconds, tool: 'redis-cli --pipe (same XADDs)', theirs: n / pipe.seconds, unit: 'msg/s', rssMB: dlqRun.rssMB, note: `peak RSS ${dlqRun.rssMB?.toFixed(0)} MB`})
  cli('DEL', ours, theirs)

  // Kafka: both produce n records to fresh topics (created by kcat's auto-create is off: make them first).
  if (have('kcat')) {
    const topic = `bench-replay-${stamp}`
    const kcatTopic = `bench-kcat-${stamp}`
    const made = spawnSync(process.execPath, [join(ROOT, 'bench', 'kafka-topic.mjs'), brokers, topic, kcatTopic], {encoding: 'utf8'})
    if (made.status === 0) {
      const lines = join(work, 'payloads.txt')
      writeFileSync(lines, payloads.map((p) => p.toString('utf8')).join('\n') + '\n')
      try {
        const k = runOnce([...DLQ, 'replay', file, '--all', '--yes', '--to', topic, '--sink', `kafka://${brokers}`, '--ledger', join(work, 'ledger-kafka.ndjson'), '--json'])
        const kc = runOnce(['kcat', '-P', '-b', brokers, '-t', kcatTopic, '-X', 'acks=all', '-X', 'enable.idempotence=true', '-l', lines])
        rows.push({case: `replay ${n} messages file → Kafka topic`, ours: n / k.seconds, tool: 'kcat -P (acks=all, idempotent)', theirs: n / kc.seconds, unit: 'msg/s', note: `peak RSS ${k.rssMB?.toFixed(0)} MB`})
      } catch (error) {
        rows.push({case: `replay ${n} messages file → Kafka topic`, ours: null, tool: 'kcat -P', theirs: null, unit: 'msg/s', note: `failed: ${String(error.message).slice(0, 120)}`})
      }
    } else rows.push({case: 'replay file → Kafka', ours: null, tool: 'kcat -P', theirs: null, unit: 'msg/s', note: `could not create topics: ${made.stderr.slice(0, 200)}`})
  }
  rmSync(work, {recursive: true, force: true})
  return rows
}
