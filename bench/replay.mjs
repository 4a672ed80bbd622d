// Replay at scale: 1,000,000 messages (--quick 100,000) from a file DLQ to a Redis stream (vs
// redis-cli --pipe of the same XADDs) and to a Kafka topic (vs kcat -P, acks=all, idempotent),
// the same payload bytes in all four; msg/s and peak RSS, each run --runs times on a fresh
// target. Also the dry run of the whole selection (--json and table) against jq reading it.
import {closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import {DLQ, ROOT, RUNS, have, hyperiFile, median, mid, runOnce} from './lib.mjs'

const redisUrl = process.env.DLQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379'
const redisPort = redisUrl.split(':').pop().split('/')[0]
const brokers = process.env.DLQ_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092'

/** The payload of entry i of gen-hyperi.mjs --text (checked against the file below). */
const payloadOf = (i) => JSON.stringify({event: 'order.created', id: i, note: 'x'.repeat(300 + (i % 100))})

/** Writes what the other tools read: payload lines (kcat -P -l) and RESP XADDs (redis-cli --pipe). */
function toolInputs(file, n) {
  const dir = join(ROOT, 'bench', 'data')
  const lines = join(dir, `replay-payloads-${n}.txt`)
  const resp = join(dir, `replay-xadd-${n}.resp`)
  const head = Buffer.alloc(4096)
  const fd = openSync(file, 'r')
  readSync(fd, head, 0, head.length, 0)
  closeSync(fd)
  const first = JSON.parse(head.toString('utf8').split('\n')[0])
  if (Buffer.from(first.payload, 'base64').toString() !== payloadOf(0)) throw new Error(`bench: ${file} is not what gen-hyperi.mjs --text writes`)
  if (existsSync(lines) && existsSync(resp)) return {lines, resp}
  const fl = openSync(lines, 'w')
  const fr = openSync(resp, 'w')
  const key = 'bench-pipe'
  let a = []
  let b = []
  for (let i = 0; i < n; i++) {
    const p = payloadOf(i)
    a.push(p, '\n')
    b.push(`*5\r\n$4\r\nXADD\r\n$${key.length}\r\n${key}\r\n$1\r\n*\r\n$5\r\nvalue\r\n$${Buffer.byteLength(p)}\r\n${p}\r\n`)
    if (a.length > 20_000) {
      writeSync(fl, a.join(''))
      writeSync(fr, b.join(''))
      a = []
      b = []
    }
  }
  writeSync(fl, a.join(''))
  writeSync(fr, b.join(''))
  closeSync(fl)
  closeSync(fr)
  return {lines, resp}
}

const rates = (n, times) => times.map((t) => n / t)

/**
 * CPU seconds the store has used so far: redis-server's own count (INFO cpu), the Kafka
 * broker's from /proc (its pid found by its main class). null when it cannot be read. The
 * difference over a run is the store's share of the machine, which the replay competes with.
 */
function redisCpu(cli) {
  const info = cli('INFO', 'cpu').stdout
  const v = (k) => Number(info.match(new RegExp(`^${k}:([\\d.]+)`, 'm'))?.[1])
  const t = v('used_cpu_user') + v('used_cpu_sys')
  return Number.isFinite(t) ? t : null
}
function kafkaCpu() {
  try {
    // The broker scripts/services.sh started (its pid file); any other broker is not measured.
    const pid = readFileSync(join(process.env.DLQ_SERVICES_DIR ?? join(ROOT, '.services'), 'kafka', 'kafka.pid'), 'utf8').trim()
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return null
  }
}
const spent = (before, after) => (before === null || after === null ? null : after - before)
const storeNote = (name, ours, theirs, n) =>
  ours.length === 0 || ours.includes(null) ? '' : `; ${name} CPU ${(1e6 * mid(ours) / n).toFixed(1)} µs/msg${theirs.length > 0 && !theirs.includes(null) ? ` (${(1e6 * mid(theirs) / n).toFixed(1)} under the other tool)` : ''}`

export async function bench({quick}) {
  const n = quick ? 100_000 : 1_000_000
  const file = hyperiFile(n, {text: true})
  const {lines, resp} = toolInputs(file, n)
  const rows = []
  const work = mkdtempSync(join(tmpdir(), 'dlq-bench-replay-'))
  const stamp = Date.now().toString(36)
  const cli = (...a) => spawnSync('redis-cli', ['-p', redisPort, ...a], {encoding: 'utf8'})
  runOnce(['cat', file])

  try {
    // Dry run of the whole selection: the plan streamed to /dev/null, flat memory.
    const planArgs = [...DLQ, 'replay', file, '--all', '--dry-run', '--to', 'bench-dry', '--sink', redisUrl, '--ledger', join(work, 'dry-ledger.ndjson')]
    cli('XADD', 'bench-dry', '*', 'init', '1')
    const dryJson = median(['sh', '-c', `${planArgs.map((a) => `'${a}'`).join(' ')} --json > /dev/null`], RUNS)
    const dryTable = median(['sh', '-c', `${planArgs.map((a) => `'${a}'`).join(' ')} > /dev/null`], RUNS)
    cli('DEL', 'bench-dry')
    const jq = have('jq') ? median(['sh', '-c', `jq -c '{position: .source.offset, target: .source.topic}' '${file}' > /dev/null`], RUNS) : null
    rows.push({case: `replay --all --dry-run --json, ${n.toLocaleString('en')} messages`, ours: dryJson.seconds, oursRuns: dryJson.times, tool: jq ? 'jq -c {…} over the same file' : null, theirs: jq?.seconds ?? null, theirsRuns: jq?.times, unit: 's', note: `peak RSS ${dryJson.rssMB?.toFixed(0)} MB (target ≤ 200 MB, flat)`})
    rows.push({case: `replay --all --dry-run (table: 200 rows + summary), ${n.toLocaleString('en')}`, ours: dryTable.seconds, oursRuns: dryTable.times, tool: 'the same plan as --json', theirs: dryJson.seconds, theirsRuns: dryJson.times, unit: 's', note: `peak RSS ${dryTable.rssMB?.toFixed(0)} MB`})

    // What reading this DLQ costs before anything is replayed: node reading the file, parsing
    // each line and decoding its payload. A replay cannot be faster than this floor on one
    // thread; its ratio to the raw tools bounds the replay's.
    const floorRuns = (what, extra = []) => {
      const times = []
      for (let i = 0; i < RUNS; i++) {
        const r = runOnce([process.execPath, join(ROOT, 'bench', 'replay-floor.mjs'), file, ...extra])
        if (JSON.parse(r.stdout.toString()).entries !== n) throw new Error(`bench: ${what} read the wrong number of entries`)
        times.push(r.seconds)
      }
      return times
    }
    const floor = floorRuns('the floor')
    // The floor of a replay that can be interrupted and repeated: the same, plus a SHA-256 naming
    // each message and that name claimed in a ledger file, fsync'd 500 at a time — still nothing
    // planned, sent, acknowledged, completed or reported.
    const safeFloor = floorRuns('the safe floor', ['--safe', join(work, 'floor-ledger')])

    // Redis: each run writes n entries to a fresh stream, then it is deleted.
    const ours = []
    let rss = 0
    let cpu = []
    const storeOurs = []
    const storePipe = []
    for (let i = 0; i < RUNS; i++) {
      const stream = `bench-replay-${stamp}-${i}`
      cli('XADD', stream, '*', 'init', '1')
      const before = redisCpu(cli)
      const r = runOnce([...DLQ, 'replay', file, '--all', '--yes', '--to', stream, '--sink', redisUrl, '--ledger', join(work, `ledger-redis-${i}.ndjson`), '--json'], {stdout: 'ignore'})
      storeOurs.push(spent(before, redisCpu(cli)))
      const landed = Number(cli('XLEN', stream).stdout) - 1
      cli('DEL', stream)
      if (landed !== n) throw new Error(`bench: replay to Redis landed ${landed} of ${n}`)
      ours.push(r.seconds)
      cpu.push(r.cpu)
      rss = Math.max(rss, r.rssMB ?? 0)
    }
    const pipe = []
    for (let i = 0; i < RUNS; i++) {
      cli('DEL', 'bench-pipe')
      const before = redisCpu(cli)
      pipe.push(runOnce(['sh', '-c', `redis-cli -p ${redisPort} --pipe < '${resp}' > /dev/null`]).seconds)
      storePipe.push(spent(before, redisCpu(cli)))
      cli('DEL', 'bench-pipe')
    }
    // The same replay by hand, as operators stitch it today: jq decodes each entry's payload
    // and writes the XADD, redis-cli --pipe sends it (text payloads only, no ledger, no checks).
    const hand = []
    if (have('jq')) {
      const xadd = '.payload | @base64d | "*5\\r\\n$4\\r\\nXADD\\r\\n$\\($k|utf8bytelength)\\r\\n\\($k)\\r\\n$1\\r\\n*\\r\\n$5\\r\\nvalue\\r\\n$\\(utf8bytelength)\\r\\n\\(.)\\r\\n"'
      for (let i = 0; i < RUNS; i++) {
        cli('DEL', 'bench-hand')
        hand.push(runOnce(['sh', '-c', `jq -j --arg k bench-hand '${xadd}' '${file}' | redis-cli -p ${redisPort} --pipe > /dev/null`]).seconds)
        const landed = Number(cli('XLEN', 'bench-hand').stdout)
        cli('DEL', 'bench-hand')
        if (landed !== n) throw new Error(`bench: jq | redis-cli --pipe landed ${landed} of ${n}`)
      }
    }
    rows.push({case: `replay ${n.toLocaleString('en')} messages file → Redis stream`, ours: n / mid(ours), oursRuns: rates(n, ours), tool: 'redis-cli --pipe (same XADDs)', theirs: n / mid(pipe), theirsRuns: rates(n, pipe), unit: 'msg/s', target: '≥ 0.5×', note: `CPU ${mid(cpu)?.toFixed(1)} s${storeNote('redis-server', storeOurs, storePipe, n)}`})
    if (hand.length > 0) rows.push({case: `replay ${n.toLocaleString('en')} → Redis against the same replay by hand`, ours: n / mid(ours), oursRuns: rates(n, ours), tool: 'jq (decode) | redis-cli --pipe', theirs: n / mid(hand), theirsRuns: rates(n, hand), unit: 'msg/s', note: 'reads the same DLQ file; no ledger, no checks, text payloads only'})
    rows.push({case: 'the floor: node reading the same file (JSON.parse + base64, nothing else)', ours: n / mid(floor), oursRuns: rates(n, floor), tool: 'redis-cli --pipe (same XADDs)', theirs: n / mid(pipe), theirsRuns: rates(n, pipe), unit: 'msg/s', note: 'not dlq: what any replay of this file must do first'})
    rows.push({case: 'the floor of a safe replay: the floor + a SHA-256 per message, claimed in a ledger file (fsync per 500)', ours: n / mid(safeFloor), oursRuns: rates(n, safeFloor), tool: 'redis-cli --pipe (same XADDs)', theirs: n / mid(pipe), theirsRuns: rates(n, pipe), unit: 'msg/s', note: 'not dlq: the least a replay that can be interrupted and repeated must do, before it sends anything'})
    rows.push({case: `replay ${n.toLocaleString('en')} → Redis against that floor`, ours: n / mid(ours), oursRuns: rates(n, ours), tool: 'the floor (above)', theirs: n / mid(floor), theirsRuns: rates(n, floor), unit: 'msg/s', note: 'the share of the time that is reading the DLQ'})
    rows.push({case: `replay ${n.toLocaleString('en')} → Redis: peak RSS`, ours: rss, tool: null, theirs: null, unit: 'MB', target: '≤ 200 MB'})

    // Kafka: fresh 3-partition topics per run (dlq never creates topics), deleted afterwards.
    if (have('kcat')) {
      const ks = []
      const kc = []
      const kh = []
      let krss = 0
      const kcpu = []
      const kstoreOurs = []
      const kstoreKcat = []
      for (let i = 0; i < RUNS; i++) {
        const topic = `bench-replay-${stamp}-${i}`
        const kcatTopic = `bench-kcat-${stamp}-${i}`
        const handTopic = `bench-hand-${stamp}-${i}`
        const made = spawnSync(process.execPath, [join(ROOT, 'bench', 'kafka-topic.mjs'), brokers, topic, kcatTopic, handTopic, '--partitions', '3'], {encoding: 'utf8'})
        if (made.status !== 0) throw new Error(`bench: could not create topics: ${made.stderr.slice(0, 200)}`)
        try {
          let before = kafkaCpu()
          const r = runOnce([...DLQ, 'replay', file, '--all', '--yes', '--to', topic, '--sink', `kafka://${brokers}`, '--ledger', join(work, `ledger-kafka-${i}.ndjson`), '--json'], {stdout: 'ignore'})
          kstoreOurs.push(spent(before, kafkaCpu()))
          ks.push(r.seconds)
          kcpu.push(r.cpu)
          krss = Math.max(krss, r.rssMB ?? 0)
          before = kafkaCpu()
          kc.push(runOnce(['kcat', '-P', '-b', brokers, '-t', kcatTopic, '-X', 'acks=all', '-X', 'enable.idempotence=true', '-l', lines]).seconds)
          kstoreKcat.push(spent(before, kafkaCpu()))
          if (have('jq')) kh.push(runOnce(['sh', '-c', `jq -r '.payload | @base64d' '${file}' | kcat -P -b ${brokers} -t ${handTopic} -X acks=all -X enable.idempotence=true`]).seconds)
        } finally {
          spawnSync(process.execPath, [join(ROOT, 'bench', 'kafka-topic.mjs'), brokers, topic, kcatTopic, handTopic, '--delete'], {encoding: 'utf8'})
        }
      }
      rows.push({case: `replay ${n.toLocaleString('en')} messages file → Kafka topic`, ours: n / mid(ks), oursRuns: rates(n, ks), tool: 'kcat -P (acks=all, idempotent)', theirs: n / mid(kc), theirsRuns: rates(n, kc), unit: 'msg/s', target: '≥ 0.5×', note: `CPU ${mid(kcpu)?.toFixed(1)} s${storeNote('broker', kstoreOurs, kstoreKcat, n)}`})
      if (kh.length > 0) rows.push({case: `replay ${n.toLocaleString('en')} → Kafka against the same replay by hand`, ours: n / mid(ks), oursRuns: rates(n, ks), tool: 'jq (decode) | kcat -P (acks=all, idempotent)', theirs: n / mid(kh), theirsRuns: rates(n, kh), unit: 'msg/s', note: 'reads the same DLQ file; no ledger, no checks, one-line text payloads only'})
      rows.push({case: `replay ${n.toLocaleString('en')} → Kafka: peak RSS`, ours: krss, tool: null, theirs: null, unit: 'MB', target: '≤ 200 MB'})
      rows.push({case: 'the floor of a safe replay (above)', ours: n / mid(safeFloor), oursRuns: rates(n, safeFloor), tool: 'kcat -P (acks=all, idempotent)', theirs: n / mid(kc), theirsRuns: rates(n, kc), unit: 'msg/s', note: 'not dlq: before anything is sent'})
      rows.push({case: `replay ${n.toLocaleString('en')} → Kafka against the floor`, ours: n / mid(ks), oursRuns: rates(n, ks), tool: 'the floor (above)', theirs: n / mid(floor), theirsRuns: rates(n, floor), unit: 'msg/s', note: 'the share of the time that is reading the DLQ'})
    } else console.error('bench: kcat is missing (scripts/services.sh up installs it): replay to Kafka left out')
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
  return rows
}

// `node bench/replay.mjs [--quick] [--runs N]` runs this suite alone.
if (process.argv[1] === new URL(import.meta.url).pathname) {
  const rows = await bench({quick: process.argv.includes('--quick')})
  for (const r of rows) console.log(JSON.stringify(r))
}
