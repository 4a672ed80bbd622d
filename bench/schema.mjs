// Confluent wire-format payloads (issue 16): a full scan of 1,000,000 Avro records (--quick 100,000)
// in a 3-partition Kafka topic that decodes every payload with its registry schema (a filter on a
// decoded field) against the same scan without decoding, and the registry requests one scan makes.
// Needs Kafka (DLQ_TEST_KAFKA_BROKERS) and the schema registry (DLQ_TEST_SCHEMA_REGISTRY).
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Admin, Producer} from '@platformatic/kafka'
import avro from 'avsc'
import {DLQ, RUNS, median, runOnce} from './lib.mjs'

const BROKERS = process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092'
const REGISTRY = process.env.DLQ_TEST_SCHEMA_REGISTRY ?? 'http://127.0.0.1:18081/apis/ccompat/v7'
const PARTITIONS = 3
const T0 = Date.now() - 2 * 86_400_000
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'JPY']

// A payment as a service would dead-letter it: logical types, an enum, a union, an array, a map.
const SCHEMA = {
  type: 'record',
  name: 'BenchPayment',
  namespace: 'dlq.bench',
  fields: [
    {name: 'id', type: {type: 'string', logicalType: 'uuid'}},
    {name: 'amount', type: {type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2}},
    {name: 'currency', type: {type: 'enum', name: 'BenchCurrency', symbols: CURRENCIES}},
    {name: 'at', type: {type: 'long', logicalType: 'timestamp-millis'}},
    {name: 'customer', type: ['null', 'string'], default: null},
    {name: 'tags', type: {type: 'array', items: 'string'}},
    {name: 'attrs', type: {type: 'map', values: 'long'}},
  ],
}

async function register() {
  const res = await fetch(`${REGISTRY}/subjects/dlq.bench.BenchPayment/versions`, {
    method: 'POST',
    headers: {'content-type': 'application/vnd.schemaregistry.v1+json'},
    body: JSON.stringify({schema: JSON.stringify(SCHEMA)}),
  })
  if (!res.ok) throw new Error(`bench: registering the schema: HTTP ${res.status} ${await res.text()}`)
  return (await res.json()).id
}

function payload(type, prefix, i) {
  const cents = BigInt(1000 + (i % 100_000))
  const amount = Buffer.alloc(8)
  amount.writeBigInt64BE(cents)
  const body = type.toBuffer({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    amount,
    currency: CURRENCIES[i % 5],
    at: T0 + i,
    customer: i % 3 === 0 ? null : {string: `c-${i % 977}`},
    tags: ['retry', `shard-${i % 16}`],
    attrs: {attempt: i % 4, size: 100 + (i % 1000)},
  })
  return Buffer.concat([prefix, body])
}

async function fill(topic, n, id) {
  const admin = new Admin({clientId: 'dlq-bench', bootstrapBrokers: [BROKERS]})
  await admin.createTopics({topics: [topic], partitions: PARTITIONS, replicas: 1})
  for (let i = 0; i < 100; i++) {
    const md = await admin.metadata({topics: [topic], forceUpdate: true}).catch(() => null)
    if (md?.topics.get(topic)?.partitions.every((p) => p.leader >= 0)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  await admin.close()
  const type = avro.Type.forSchema(SCHEMA, {wrapUnions: true})
  const prefix = Buffer.alloc(5)
  prefix.writeUInt32BE(id, 1)
  const producer = new Producer({clientId: 'dlq-bench', bootstrapBrokers: [BROKERS], idempotent: true, acks: -1})
  const t = Date.now()
  const batch = 6000
  for (let i = 0; i < n; i += batch) {
    const messages = []
    for (let j = i; j < Math.min(n, i + batch); j++) messages.push({topic, partition: j % PARTITIONS, key: Buffer.from(`pay-${j}`), value: payload(type, prefix, j), timestamp: BigInt(T0 + j)})
    await producer.send({messages})
  }
  await producer.close()
  console.error(`bench: filled ${topic} with ${n} Avro records (schema ${id}) in ${((Date.now() - t) / 1000).toFixed(1)} s`)
}

/**
 * A pass-through proxy in front of the registry, in its own process (the timed runs block this
 * one), that appends each request's path to a file: the registry requests a scan makes.
 */
async function countingProxy(logFile) {
  const base = new URL(REGISTRY)
  const code = `
    const http = require('node:http'), fs = require('node:fs')
    const server = http.createServer((req, res) => {
      fs.appendFileSync(${JSON.stringify(logFile)}, req.url + '\\n')
      const up = http.request({host: ${JSON.stringify(base.hostname)}, port: ${JSON.stringify(base.port)}, path: req.url, method: req.method, headers: req.headers}, (r) => {
        res.writeHead(r.statusCode, r.headers); r.pipe(res)
      })
      up.on('error', () => res.destroy())
      req.pipe(up)
    })
    server.listen(0, '127.0.0.1', () => console.log(server.address().port))`
  const child = spawn(process.execPath, ['-e', code], {stdio: ['ignore', 'pipe', 'inherit']})
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())))
    child.once('exit', () => reject(new Error('bench: the counting proxy exited')))
  })
  return {url: `http://127.0.0.1:${port}${base.pathname}`, stop: () => child.kill()}
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
  const topic = `dlq-bench-avro-${Date.now().toString(36)}`
  const uri = `kafka://${BROKERS}/${topic}`
  const work = mkdtempSync(join(tmpdir(), 'dlq-bench-schema-'))
  const rows = []
  const id = await register()
  await fill(topic, n, id)
  const proxy = await countingProxy(join(work, 'requests.log'))
  try {
    const filter = ['--filter', 'payload.currency=EUR']
    const decoded = [...DLQ, 'stats', uri, ...filter, '--schema-registry', proxy.url, '--json']
    const raw = [...DLQ, 'stats', uri, ...filter, '--decode', 'off', '--json']
    const plain = [...DLQ, 'stats', uri, '--decode', 'off', '--json']

    // One run with an empty schema cache: the registry requests of a whole scan.
    const first = JSON.parse(runOnce(decoded, {env: {DLQ_CACHE_DIR: join(work, 'cold')}}).stdout.toString())
    if (first.total !== n / 5) throw new Error(`bench: the decoded scan matched ${first.total}, expected ${n / 5}`)
    const requests = readFileSync(join(work, 'requests.log'), 'utf8').trim().split('\n')
    const none = JSON.parse(runOnce(raw).stdout.toString())
    if (none.total !== 0) throw new Error(`bench: without decoding ${none.total} matched, expected 0`)

    const env = {env: {DLQ_CACHE_DIR: join(work, 'warm')}}
    const d = median(decoded, RUNS, env)
    const r = median(raw, RUNS)
    const p = median(plain, RUNS)
    const rate = (s) => n / s
    rows.push({
      case: `full scan decoding every Avro payload, --filter payload.currency=EUR (${n} records)`,
      ours: rate(d.seconds),
      oursRuns: d.times.map(rate),
      tool: 'the same scan, --decode off',
      theirs: rate(r.seconds),
      theirsRuns: r.times.map(rate),
      unit: 'records/s',
      target: '≥ 0.5×',
      note: `${d.seconds.toFixed(2)} s vs ${r.seconds.toFixed(2)} s; CPU ${d.cpu?.toFixed(2)} s vs ${r.cpu?.toFixed(2)} s; peak RSS ${d.rssMB?.toFixed(0)} MB`,
    })
    rows.push({
      case: `  the decoded scan against a scan with no filter and no decoding`,
      ours: rate(d.seconds),
      oursRuns: d.times.map(rate),
      tool: 'stats --decode off (no filter)',
      theirs: rate(p.seconds),
      theirsRuns: p.times.map(rate),
      unit: 'records/s',
      target: '≥ 0.5×',
      note: `${d.seconds.toFixed(2)} s vs ${p.seconds.toFixed(2)} s; CPU ${d.cpu?.toFixed(2)} s vs ${p.cpu?.toFixed(2)} s`,
    })
    rows.push({
      case: 'registry requests of one decoded scan (empty schema cache)',
      ours: requests.length,
      tool: null,
      theirs: null,
      unit: 'requests',
      target: '1 per schema id',
      note: requests.join(' '),
    })
  } finally {
    proxy.stop()
    rmSync(work, {recursive: true, force: true})
    await drop(topic).catch((e) => console.error(`bench: could not delete ${topic}: ${e.message}`))
  }
  return rows
}
