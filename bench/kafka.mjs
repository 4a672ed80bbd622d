// Kafka DLQ topics: a deep page and a filtered full scan, against kcat (Debian's package).
// Fills a fresh 3-partition topic with hyperi-style records (1,000,000; --quick 100,000),
// measures, and deletes the topic. Needs a broker on DLQ_TEST_KAFKA_BROKERS (127.0.0.1:19092).
import {Producer} from '@platformatic/kafka'
import {createTopic, dropTopic} from './kafka-admin.mjs'
import {DLQ, RUNS, have, median, mid, paired, runOnce} from './lib.mjs'

const BROKERS = process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092'
const PARTITIONS = 3
const REASONS = ['parse_error', 'timeout', 'schema_mismatch', 'downstream_unavailable', 'parse_error']
// Recent timestamps: the broker deletes records older than its retention (7 days by default) while the bench runs.
const T0 = Date.now() - 2 * 86_400_000

function ensureKcat() {
  if (have('kcat')) return true
  console.error('bench: kcat is missing (scripts/services.sh up installs it): the kcat comparisons are left out')
  return false
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
  await createTopic(BROKERS, topic, PARTITIONS)
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
    // Each run also prints its phases (DLQ_TRACE_PHASES=1): where a page's time goes.
    runOnce(page)
    const phases = new Map()
    for (let i = 0; i < Math.max(RUNS, 5); i++) {
      const r = runOnce(page, {env: {DLQ_TRACE_PHASES: '1'}})
      let last = 0
      for (const m of r.stderr.matchAll(/^dlq-phase (\S+) ([\d.]+)/gm)) {
        const at = Number(m[2])
        const name = last === 0 ? 'node + CLI start-up, until the Kafka client is imported' : m[1]
        phases.set(name, [...(phases.get(name) ?? []), at - last])
        last = at
      }
    }
    // The page itself is timed without the phase tracing, in turns with `node -e 0`.
    const {a: ours, b: node0, load} = paired(page, [process.execPath, '-e', '0'], Math.max(RUNS, 10))
    let theirs = null
    if (kcat) {
      const kargs = ['kcat', '-C', '-b', BROKERS, '-t', topic, '-p', '1', '-o', String(offset), '-c', '50', '-e', '-q']
      const lines = runOnce(kargs).stdout.toString().trimEnd().split('\n').length
      if (lines !== 50) throw new Error(`bench: kcat printed ${lines} records, not 50`)
      theirs = median(kargs, Math.max(RUNS, 10))
      theirs.min = Math.min(...theirs.times)
    }
    rows.push({
      case: `page of 50 at 1:${offset} (${n} records, 3 partitions; median)`,
      ours: ours.seconds,
      oursRuns: ours.times,
      tool: kcat ? `kcat -p 1 -o ${offset} -c 50 -e` : null,
      theirs: theirs?.seconds ?? null,
      theirsRuns: theirs?.times,
      unit: 's',
      target: `≤ node -e 0 + 3× kcat = ${(node0.seconds + 3 * (theirs?.seconds ?? 0)).toFixed(3)} s`,
      note: `node -e 0: ${node0.seconds.toFixed(3)} s; CPU ${ours.cpu?.toFixed(2)} s; load ${load.toFixed(1)}`,
    })
    rows.push({
      case: '  the same page, fastest run of each',
      ours: ours.min,
      tool: kcat ? 'kcat, fastest run' : null,
      theirs: theirs?.min ?? null,
      unit: 's',
      target: `≤ node -e 0 + 3× kcat = ${(node0.min + 3 * (theirs?.min ?? 0)).toFixed(3)} s`,
      note: `node -e 0: ${node0.min.toFixed(3)} s; CPU ${ours.cpuMin?.toFixed(2)} s`,
    })
    for (const [name, xs] of phases) {
      const label = name.replace('kafka-imported', 'import of the Kafka client').replace('client-created', 'client created').replace('connected+api-versions', 'connect + ApiVersions').replace('exit', 'decode, print, exit').replace('list-offsets(-2)', 'ListOffsets: log start').replace('list-offsets(-1)', 'ListOffsets: end (sent with the one above)').replace(/^fetch\(.*\)$/, 'Fetch').replace('metadata', 'Metadata')
      rows.push({case: `  page phase: ${label}`, ours: mid(xs), oursRuns: xs, tool: null, theirs: null, unit: 'ms'})
    }

    const scanArgs = [...DLQ, 'stats', uri, '--filter', 'reason=timeout', '--json']
    const stats = JSON.parse(runOnce(scanArgs).stdout.toString())
    if (stats.total !== n / 5) throw new Error(`bench: stats counted ${stats.total} timeouts, expected ${n / 5}`)
    const scan = median(scanArgs, RUNS)
    const seconds = scan.seconds
    const rss = scan.rssMB
    let k = null
    if (kcat) k = median(['sh', '-c', `kcat -C -b ${BROKERS} -t ${topic} -e -q > /dev/null`], RUNS)
    rows.push({case: `full scan, --filter reason=timeout (${n} records)`, ours: n / seconds, oursRuns: scan.times.map((t) => n / t), tool: kcat ? 'kcat -C -t T -e -q > /dev/null' : null, theirs: k ? n / k.seconds : null, theirsRuns: k?.times.map((t) => n / t), unit: 'records/s', target: '≥ 0.5×', rssMB: rss, note: `${seconds.toFixed(2)} s, CPU ${scan.cpu?.toFixed(2)} s`})
    rows.push({case: 'full scan with a filter: peak RSS', ours: rss, tool: null, theirs: null, unit: 'MB', target: '≤ 250 MB'})
  } finally {
    await dropTopic(BROKERS, topic).catch((e) => console.error(`bench: could not delete ${topic}: ${e.message}`))
  }
  return rows
}
