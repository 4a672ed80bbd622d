// Redis stream DLQs: a deep page against redis-cli, and a filtered scan of the whole stream
// (throughput and peak RSS) against a bare XRANGE loop that decodes nothing.
import {randomBytes} from 'node:crypto'
import {Redis} from 'ioredis'
import {DLQ, RUNS, have, median, runOnce} from './lib.mjs'

const REASONS = ['parse_error', 'timeout', 'schema_mismatch', 'downstream_unavailable', 'parse_error']
const TOPICS = ['orders', 'payments', 'shipments', 'clicks']
const T0 = Date.UTC(2026, 10, 1)
/** Entry i gets id `${T0 + i * 1000}-0`, so the id of any entry is known without reading. */
const idOf = (i) => `${T0 + i * 1000}-0`

function entry(i, body) {
  return JSON.stringify({
    timestamp: T0 + i * 1000,
    service: 'ingest',
    reason: REASONS[i % 5],
    attempts: i % 4,
    payload: body.toString('base64'),
    destination: `${TOPICS[i % 4]}.events`,
    source: {topic: TOPICS[i % 4], partition: i % 6, offset: 100_000 + i},
  })
}

/** XADDs in pipelines of 10,000: hyperi-rustlib's layout, one `data` field per entry. */
async function fill(redis, key, n) {
  const body = randomBytes(440)
  for (let at = 0; at < n; at += 10_000) {
    const pipe = redis.pipeline()
    for (let i = at; i < Math.min(n, at + 10_000); i++) {
      body.writeUInt32BE(i, 0)
      pipe.xadd(key, idOf(i), 'data', entry(i, body))
    }
    for (const [error] of await pipe.exec()) if (error) throw error
  }
}

/** What reading alone costs: XRANGE in batches of 1000 with Buffer replies, nothing decoded. */
async function bareScan(url, key) {
  const redis = new Redis(url)
  const t = process.hrtime.bigint()
  let n = 0
  let start = '-'
  for (;;) {
    const batch = await redis.xrangeBuffer(key, start, '+', 'COUNT', 1000)
    n += batch.length
    if (batch.length < 1000) break
    const [ms, seq] = batch[batch.length - 1][0].toString().split('-')
    start = `${ms}-${BigInt(seq) + 1n}`
  }
  const seconds = Number(process.hrtime.bigint() - t) / 1e9
  await redis.quit()
  return {n, seconds}
}

export async function bench({quick}) {
  const url = process.env.DLQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379'
  const port = url.split(':').pop().split('/')[0]
  const n = quick ? 100_000 : 1_000_000
  const deep = Math.floor(n * 0.9)
  const key = `dlq-bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  const source = `${url}/0/${key}`
  const redis = new Redis(url)
  const rows = []
  try {
    console.error(`bench: filling stream ${key} with ${n.toLocaleString('en')} hyperi entries …`)
    const t = process.hrtime.bigint()
    await fill(redis, key, n)
    const fillSeconds = Number(process.hrtime.bigint() - t) / 1e9
    console.error(`bench: filled in ${fillSeconds.toFixed(1)} s; ${((await redis.memory('USAGE', key)) / 1e6).toFixed(0)} MB in Redis`)

    const page = [...DLQ, 'inspect', source, '--from', idOf(deep), '--limit', '50', '--json']
    const ours = median(page, Math.max(RUNS, 5))
    const check = JSON.parse(runOnce(page).stdout.toString())
    if (check.items?.length !== 50 || check.items[0].position !== idOf(deep)) throw new Error(`inspect --from ${idOf(deep)} did not return entries ${deep}…`)
    if (have('redis-cli')) {
      const cli = median(['redis-cli', '-p', port, 'XRANGE', key, idOf(deep), '+', 'COUNT', '50'], Math.max(RUNS, 5))
      rows.push({case: `page of 50 at entry ${deep.toLocaleString('en')}`, ours: ours.seconds, oursRuns: ours.times, tool: `redis-cli XRANGE key ID + COUNT 50`, theirs: cli.seconds, theirsRuns: cli.times, unit: 's', note: 'difference = node + dlq start-up'})
    }
    const first = median([...DLQ, 'inspect', source, '--limit', '50', '--json'], Math.max(RUNS, 5))
    rows.push({case: `page of 50 at entry ${deep.toLocaleString('en')}`, ours: ours.seconds, oursRuns: ours.times, tool: 'dlq page at entry 0', theirs: first.seconds, theirsRuns: first.times, unit: 's', target: '≈ 1× (no scan)'})
    const node0 = median([process.execPath, '-e', '0'], Math.max(RUNS, 5))
    rows.push({case: 'page of 50 (start-up share)', ours: ours.seconds, oursRuns: ours.times, tool: 'node -e 0', theirs: node0.seconds, theirsRuns: node0.times, unit: 's'})

    const scanArgs = [...DLQ, 'stats', source, '--filter', 'reason=timeout', '--json']
    const stats = JSON.parse(runOnce(scanArgs).stdout.toString())
    const scan = median(scanArgs, RUNS)
    if (stats.total !== n / 5) throw new Error(`stats --filter reason=timeout counted ${stats.total}, expected ${n / 5}`)
    const bare = await bareScan(url, key)
    rows.push({
      case: `stats --filter reason=timeout over ${n.toLocaleString('en')} entries`,
      ours: n / scan.seconds,
      oursRuns: scan.times.map((t) => n / t),
      tool: 'ioredis XRANGE loop, nothing decoded',
      theirs: bare.n / bare.seconds,
      unit: 'entries/s',
      rssMB: scan.rssMB ?? undefined,
      note: `${scan.seconds.toFixed(2)} s vs ${bare.seconds.toFixed(2)} s`,
    })
    if (scan.rssMB !== null) rows.push({case: 'filtered scan: peak RSS', ours: scan.rssMB, tool: null, theirs: null, unit: 'MB', target: '≤ 200 MB'})
  } finally {
    await redis.unlink(key)
    await redis.quit()
  }
  return rows
}

// `node bench/redis.mjs [--quick]` runs this suite alone.
if (process.argv[1] === new URL(import.meta.url).pathname) {
  const rows = await bench({quick: process.argv.includes('--quick')})
  for (const r of rows) console.log(JSON.stringify(r))
}
