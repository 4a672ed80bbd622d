// Follow latency: how long after a writer's write `dlq tail --follow` prints the message,
// against the store's own follower: `tail -F` for a file, `kcat -C -o end -u` for Kafka, and
// for Redis a bare ioredis `XREAD BLOCK` loop (what dlq itself calls). One message at a time,
// each written only once the one before was printed, so each sample is one write → print.
import {spawn} from 'node:child_process'
import {appendFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Producer} from '@platformatic/kafka'
import {createTopic, dropTopic} from './kafka-admin.mjs'
import {Redis} from 'ioredis'
import {DLQ, have, mid} from './lib.mjs'

const REDIS = process.env.DLQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379'
const BROKERS = (process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',')
const entry = (marker) => JSON.stringify({timestamp: Date.now(), service: 'bench', reason: 'parse_error', attempts: 1, payload: Buffer.from(marker).toString('base64'), marker})

/** Starts a follower; `seen(marker)` resolves when a line with `marker` was printed. */
function follower(argv) {
  const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'inherit']})
  let text = ''
  const waiting = new Map()
  child.stdout.on('data', (b) => {
    text += b.toString()
    for (const [m, resolve] of waiting) if (text.includes(m)) (waiting.delete(m), resolve(process.hrtime.bigint()))
    if (text.length > 1 << 20) text = text.slice(-4096)
  })
  return {
    seen: (m) => new Promise((resolve) => (text.includes(m) ? resolve(process.hrtime.bigint()) : waiting.set(m, resolve))),
    stop: () => new Promise((resolve) => (child.on('exit', resolve), child.kill('SIGINT'))),
  }
}

/** Median (and every) write → print latency in µs over `n` messages, after a first one to know it is following. */
async function latency(argv, write, n) {
  const f = follower(argv)
  const tag = Math.random().toString(36).slice(2)
  // Until the follower shows a message, it may still be starting: write the first one again until it does.
  for (let i = 0; ; i++) {
    await write(`warm-${tag}-${i}`)
    const got = await Promise.race([f.seen(`warm-${tag}-${i}`), new Promise((r) => setTimeout(() => r(null), 3000))])
    if (got !== null) break
    if (i > 20) throw new Error(`${argv.join(' ')} printed nothing`)
  }
  const us = []
  for (let i = 0; i < n; i++) {
    const m = `m-${tag}-${i}`
    const t = process.hrtime.bigint()
    await write(m)
    us.push(Number((await f.seen(m)) - t) / 1e3)
  }
  await f.stop()
  return {us: mid(us), runs: us}
}

export async function bench({quick}) {
  const n = quick ? 10 : 30
  const rows = []
  const dlq = (src) => [...DLQ, 'tail', src, '--follow', '-n', '0', '--output', 'ndjson']

  const dir = mkdtempSync(join(tmpdir(), 'dlq-bench-follow-'))
  const file = join(dir, 'dlq.ndjson')
  writeFileSync(file, '')
  const append = async (m) => appendFileSync(file, entry(m) + '\n')
  const ours = await latency(dlq(file), append, n)
  const theirs = have('tail') ? await latency(['tail', '-F', '-n', '0', file], append, n) : null
  rows.push({case: 'file: append → printed (median)', ours: ours.us, oursRuns: ours.runs, unit: 'µs', tool: theirs && 'tail -F', theirs: theirs?.us, theirsRuns: theirs?.runs, note: 'both woken by inotify (dlq also polls size+inode every 200 ms)'})
  rmSync(dir, {recursive: true, force: true})

  const redis = new Redis(REDIS)
  const key = `dlq-bench-follow-${Date.now()}`
  await redis.xadd(key, '*', 'data', entry('first'))
  const xadd = async (m) => void (await redis.xadd(key, '*', 'data', entry(m)))
  const r1 = await latency(dlq(`${REDIS}/0/${key}`), xadd, n)
  const bare = String.raw`
    const {Redis} = await import(${JSON.stringify(new URL('../node_modules/ioredis/built/index.js', import.meta.url).href)})
    const r = new Redis(process.argv[1]); let last = '$'
    for (;;) { const res = await r.xread('BLOCK', 1000, 'STREAMS', process.argv[2], last); if (!res) continue
      for (const [id, f] of res[0][1]) { process.stdout.write(f[1] + '\n'); last = id } }`
  const r2 = await latency([process.execPath, '--input-type=module', '-e', bare, REDIS, key], xadd, n)
  rows.push({case: 'redis: XADD → printed (median)', ours: r1.us, oursRuns: r1.runs, unit: 'µs', tool: 'ioredis XREAD BLOCK loop', theirs: r2.us, theirsRuns: r2.runs})
  await redis.del(key)
  await redis.quit()

  const topic = `dlq-bench-follow-${Date.now()}`
  await createTopic(BROKERS[0], topic, 3)
  const producer = new Producer({clientId: 'dlq-bench', bootstrapBrokers: BROKERS, acks: 1})
  let k = 0
  const produce = async (m) => void (await producer.send({messages: [{topic, partition: k++ % 3, value: Buffer.from(entry(m))}]}))
  const k1 = await latency(dlq(`kafka://${BROKERS.join(',')}/${topic}`), produce, n)
  const k2 = have('kcat') ? await latency(['kcat', '-C', '-b', BROKERS.join(','), '-t', topic, '-o', 'end', '-u', '-q'], produce, n) : null
  rows.push({case: 'kafka (3 partitions): produce → printed (median)', ours: k1.us, oursRuns: k1.runs, unit: 'µs', tool: k2 && 'kcat -C -o end -u', theirs: k2?.us, theirsRuns: k2?.runs})
  await producer.close()
  await dropTopic(BROKERS[0], topic)
  return rows
}
