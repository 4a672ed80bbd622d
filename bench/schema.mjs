// Confluent wire-format payloads (issue 16): 1,000,000 Avro records (--quick 100,000) in a
// 3-partition Kafka topic, read by the same command with decoding on and with --decode off —
// export (the decoded values in the output) and stats with a filter on a decoded field —, the
// decoded stats against a scan that neither filters nor decodes (the floor), and the registry
// requests one command makes.
// Needs Kafka (DLQ_TEST_KAFKA_BROKERS) and the schema registry (DLQ_TEST_SCHEMA_REGISTRY).
import {spawn} from 'node:child_process'
import {closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Producer} from '@platformatic/kafka'
import {createTopic, dropTopic} from './kafka-admin.mjs'
import avro from 'avsc'
import {DLQ, RUNS, inTurns, paired, runOnce} from './lib.mjs'

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
  await createTopic(BROKERS, topic, PARTITIONS)
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

/** Registry requests logged since `from` (the proxy appends one line per request). */
function requestsSince(logFile, from) {
  const lines = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean) : []
  return lines.slice(from)
}

export async function bench({quick}) {
  const n = quick ? 100_000 : 1_000_000
  const topic = `dlq-bench-avro-${Date.now().toString(36)}`
  const uri = `kafka://${BROKERS}/${topic}`
  const work = mkdtempSync(join(tmpdir(), 'dlq-bench-schema-'))
  const log = join(work, 'requests.log')
  const rows = []
  const id = await register()
  await fill(topic, n, id)
  const proxy = await countingProxy(log)
  try {
    const registry = ['--schema-registry', proxy.url]
    const filter = ['--filter', 'payload.currency=EUR']
    // Like with like: each command with decoding on, then the same command with --decode off.
    // export writes every record with its whole payload (decoded: the value beside the raw
    // bytes, so its lines are longer); its output goes to /dev/null (synchronous writes).
    const exportOn = [...DLQ, 'export', uri, ...registry]
    const exportOff = [...DLQ, 'export', uri, '--decode', 'off']
    // stats with a payload filter: decoded, the filter reads the currency of each record; off,
    // it tries each binary payload as JSON and matches nothing.
    const statsOn = [...DLQ, 'stats', uri, ...filter, ...registry, '--json']
    const statsOff = [...DLQ, 'stats', uri, ...filter, '--decode', 'off', '--json']
    // The floor: a scan that neither filters nor decodes.
    const plain = [...DLQ, 'stats', uri, '--decode', 'off', '--json']

    // Checks, each with an empty schema cache, counting the registry requests of one command.
    const coldStats = JSON.parse(runOnce(statsOn, {env: {DLQ_CACHE_DIR: join(work, 'cold-stats')}}).stdout.toString())
    if (coldStats.total !== n / 5) throw new Error(`bench: the decoded scan matched ${coldStats.total}, expected ${n / 5}`)
    const statsRequests = requestsSince(log, 0)
    const sample = join(work, 'sample.ndjson')
    const coldExport = JSON.parse(runOnce([...exportOn, '--file', sample, '--json'], {env: {DLQ_CACHE_DIR: join(work, 'cold-export')}}).stdout.toString())
    if (coldExport.records !== n) throw new Error(`bench: the decoded export wrote ${coldExport.records} records, expected ${n}`)
    const head = Buffer.alloc(8192)
    const fd = openSync(sample, 'r')
    readSync(fd, head, 0, head.length, 0)
    closeSync(fd)
    const first = JSON.parse(head.toString('utf8').split('\n')[0])
    if (first.decoded?.payload?.value?.currency === undefined) throw new Error(`bench: the decoded export has no decoded payload: ${JSON.stringify(first).slice(0, 300)}`)
    rmSync(sample)
    const exportRequests = requestsSince(log, statsRequests.length)
    const none = JSON.parse(runOnce(statsOff).stdout.toString())
    if (none.total !== 0) throw new Error(`bench: without decoding ${none.total} matched, expected 0`)

    // Each pair is timed in turns (on, off, on, off, …) so both run under the same load.
    const opts = {env: {DLQ_CACHE_DIR: join(work, 'warm')}, stdout: 'ignore'}
    const {a: eOn, b: eOff} = paired(exportOn, exportOff, RUNS, opts)
    // The decoded stats is timed once, in turns with both of what it is held against.
    const [sOn, sOff, p] = inTurns([statsOn, statsOff, plain], RUNS, opts).results
    const rate = (s) => n / s
    const cpuRatio = (a, b) => (a.cpu && b.cpu ? `${(b.cpu / a.cpu).toFixed(2)}× by CPU` : 'CPU not measured')
    const detail = (a, b) => `${a.seconds.toFixed(2)} s vs ${b.seconds.toFixed(2)} s; CPU ${a.cpu?.toFixed(2)} s vs ${b.cpu?.toFixed(2)} s (${cpuRatio(a, b)}); median of runs in turns`
    const row = (name, a, tool, b, note) => ({
      case: name,
      ours: rate(a.seconds),
      oursRuns: a.times.map(rate),
      tool,
      theirs: rate(b.seconds),
      theirsRuns: b.times.map(rate),
      unit: 'records/s',
      target: '≥ 0.5×',
      note: [detail(a, b), note].filter(Boolean).join('; '),
    })
    rows.push(row(`export of ${n} Avro records, every payload decoded into the output`, eOn, 'the same export, --decode off', eOff))
    rows.push(row(`stats --filter payload.currency=EUR, decoded (${n / 5} match)`, sOn, 'the same stats, --decode off (0 match)', sOff, 'off tries each binary payload as JSON'))
    rows.push(row('  the decoded stats against the floor', sOn, 'stats --decode off, no filter', p, 'a scan that neither filters nor decodes'))
    for (const [what, requests] of [['stats', statsRequests], ['export', exportRequests]]) {
      rows.push({
        case: `registry requests of one decoded ${what} (empty schema cache)`,
        ours: requests.length,
        tool: null,
        theirs: null,
        unit: 'requests',
        target: '1 per schema id',
        note: requests.join(' '),
      })
    }
  } finally {
    proxy.stop()
    rmSync(work, {recursive: true, force: true})
    await dropTopic(BROKERS, topic).catch((e) => console.error(`bench: could not delete ${topic}: ${e.message}`))
  }
  return rows
}
