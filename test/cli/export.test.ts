import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, writeSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {openFileReader} from '../../src/backends/file/index.js'
import {MATCH_ALL} from '../../src/core/filter.js'
import type {DecodedRecord} from '../../src/core/record.js'
import {BIN, dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {needService} from '../helpers/services.js'

const kafka = await needService('kafka')

/** Issue 14 item 7: `dlq export`, a whole and lossless copy of a DLQ, streamed. */
const tmp = mkdtempSync(join(tmpdir(), 'dlq-export-'))
const env = {DLQ_CACHE_DIR: join(tmp, 'cache')}
const b64 = (b: Buffer) => ({base64: b.toString('base64')})

async function readAll(path: string): Promise<DecodedRecord[]> {
  const reader = await openFileReader(path)
  const out: DecodedRecord[] = []
  try {
    for await (const r of reader.scan({filter: MATCH_ALL})) out.push(r)
  } finally {
    await reader.close()
  }
  return out
}

const bytesOf = (r: DecodedRecord) => ({
  payload: r.payload?.toString('hex') ?? null,
  truncated: r.payloadTruncated,
  key: r.key?.toString('hex') ?? null,
  headers: r.userHeaders.map((h) => [h.key, h.value?.toString('hex') ?? null]),
})

describe('dlq export', () => {
  it('round-trips payloads, keys and headers byte for byte, payloads over 1 MiB included', async () => {
    const binary = randomBytes(2 * 1024 * 1024 + 17)
    const text = Buffer.from('ünïcødé 🚀 漢字 \u0007\u001b[31m '.repeat(60_000))
    expect(text.length).toBeGreaterThan(1024 * 1024)
    const source = join(tmp, 'source.ndjson')
    const lines = [
      {key: b64(randomBytes(16)), value: b64(binary), headers: [['bin', b64(Buffer.from([0, 255, 1]))], ['dup', 'a'], ['dup', 'b'], ['nil', null]], timestamp: 1700000000000, topic: 'orders.DLT'},
      {key: 'k-2', value: text.toString('utf8'), headers: {'kafka_dlt-original-topic': 'orders', trace: 'abc'}, timestamp: 1700000000001},
      {key: null, value: '', headers: [], timestamp: 1700000000002},
      {key: 'tomb', value: null, headers: [], timestamp: 1700000000003},
    ]
    writeFileSync(source, lines.map((l) => JSON.stringify(l)).join('\n') + '\nnot json at all\n')

    const out = join(tmp, 'export.ndjson')
    const r = dlqJson(['export', source, '--file', out], {env})
    expect(r.code, r.stderr).toBe(0)
    expectSchema('export', r.json)
    expect(r.json).toMatchObject({records: 5, unreadable: 1, file: out})
    // Each line is a record of the message schema.
    for (const line of readFileSync(out, 'utf8').trim().split('\n')) expectSchema('message', JSON.parse(line))
    // The export is whole: nothing says truncated, and the big payloads are there in full.
    const exported = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    expect(exported.slice(0, 4).every((m: any) => m.payload === null || m.payload.truncated === false)).toBe(true)
    expect(exported[0].payload.size).toBe(binary.length)

    const original = await readAll(source)
    const back = await readAll(out)
    expect(back).toHaveLength(original.length)
    expect(back.slice(0, 4).map(bytesOf)).toEqual(original.slice(0, 4).map(bytesOf))
    expect(back.every((m) => m.convention === 'dlq')).toBe(true)
    expect(back[1].source.topic).toBe('orders')
    // Exported again (through gzip): still the same bytes.
    const gz = join(tmp, 'again.ndjson.gz')
    expect(dlq(['export', out, '--file', gz], {env}).code).toBe(0)
    expect(readFileSync(gz).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    expect((await readAll(gz)).slice(0, 4).map(bytesOf)).toEqual(original.slice(0, 4).map(bytesOf))
    // The unreadable line is exported as such, with what was wrong.
    expect(exported[4].unreadable).toMatch(/invalid JSON/)
  })

  it('goes to stdout, honours filters and --from, and refuses --json without --file', () => {
    const r = dlq(['export', join(FIXTURES, 'hyperi.ndjson'), '--filter', 'reason=timeout', '--from', '1'], {env})
    expect(r.code).toBe(0)
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    expect(recs.length).toBeGreaterThan(0)
    expect(recs.every((m: any) => m.reason === 'timeout' && Number(m.position) >= 1)).toBe(true)
    expect(r.stderr).toMatch(/exported \d+ records/)
    const bad = dlq(['export', join(FIXTURES, 'hyperi.ndjson'), '--json'], {env})
    expect(bad.code).toBe(2)
  })

  it('a --file in a directory that does not exist, or naming a directory, is a usage error before anything is read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-export-path-'))
    // A source that does not exist: the path is checked first, so its error is the one given.
    const missing = dlq(['export', join(dir, 'no-such-dlq.ndjson'), '--file', join(dir, 'nope', 'x.ndjson')], {env})
    expect([missing.code, missing.stderr.trim()]).toEqual([2, `Error: --file ${join(dir, 'nope', 'x.ndjson')}: directory ${join(dir, 'nope')} does not exist`])
    const onDir = dlq(['export', join(FIXTURES, 'hyperi.ndjson'), '--file', dir], {env})
    expect(onDir.code).toBe(2)
    expect(onDir.stderr).toMatch(/is a directory; name the file to write/)
    // Nothing left behind: no temporary file, no export.
    expect(readdirSync(dir)).toEqual([])
  })

  it('keeps memory flat: a 150 MB DLQ exports with a peak RSS far below its size', () => {
    const big = join(tmp, 'big.ndjson')
    const payload = randomBytes(96 * 1024).toString('base64')
    const line = Buffer.from(JSON.stringify({timestamp: 1700000000000, service: 's', reason: 'r', attempts: 1, payload}) + '\n')
    const fd = openSync(big, 'w')
    for (let i = 0; i < 1200; i++) writeSync(fd, line)
    closeSync(fd)
    expect(statSync(big).size).toBeGreaterThan(150_000_000)
    const out = join(tmp, 'big-export.ndjson')
    const r = spawnSync('/usr/bin/time', ['-f', '@@RSS %M', process.execPath, BIN, 'export', big, '--file', out], {encoding: 'utf8', env: {...process.env, ...env}})
    expect(r.status, r.stderr).toBe(0)
    const rssMB = Number(r.stderr.match(/@@RSS (\d+)/)![1]) / 1024
    console.log(`export of ${(statSync(big).size / 1e6).toFixed(0)} MB → ${(statSync(out).size / 1e6).toFixed(0)} MB: peak RSS ${rssMB.toFixed(0)} MB`)
    expect(statSync(out).size).toBeGreaterThan(statSync(big).size)
    expect(rssMB).toBeLessThan(150)
  }, 120_000)

  it('Ctrl-C (or SIGTERM: timeout, a CI runner cancelling) during --file (gzip or not) exits 130 and leaves neither the file nor its temporary one', async () => {
    const big = join(tmp, 'many.ndjson')
    const line = JSON.stringify({timestamp: 1700000000000, service: 's', reason: 'r', attempts: 1, payload: randomBytes(600).toString('base64')}) + '\n'
    writeFileSync(big, line.repeat(200_000))
    for (const [name, signal] of [['interrupted.ndjson.gz', 'SIGINT'], ['interrupted.ndjson', 'SIGINT'], ['terminated.ndjson', 'SIGTERM']] as const) {
      const out = join(tmp, name)
      const child = spawn(process.execPath, [BIN, 'export', big, '--file', out], {env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']})
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      // 'close', not 'exit': the child's output may still be on its way when it has exited.
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      // Interrupted once the export is under way: its temporary file has data.
      const tmpFile = `${out}.${child.pid}.tmp`
      for (const until = Date.now() + 30_000; Date.now() < until && !(existsSync(tmpFile) && statSync(tmpFile).size > 0); ) await new Promise((r) => setTimeout(r, 10))
      child.kill(signal)
      expect(await exited, stderr).toBe(130)
      expect(stderr).toMatch(/interrupted: \d+ records read; .* was not written/)
      expect(existsSync(tmpFile)).toBe(false)
      expect(existsSync(out)).toBe(false)
    }
  }, 60_000)
})

describe.runIf(kafka.available)('dlq export from Kafka', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  it('copies every record of every partition with whole payloads, binary headers and keys', async () => {
    const fx = new KafkaFixture()
    try {
      const topic = await fx.topic('export', 2, {'max.message.bytes': String(8 * 1024 * 1024)})
      const big = randomBytes(1536 * 1024)
      const i32 = Buffer.alloc(4)
      i32.writeInt32BE(3)
      const i64 = Buffer.alloc(8)
      i64.writeBigInt64BE(12345n)
      await fx.produce(topic, [
        {partition: 0, key: randomBytes(8), value: big, headers: [['kafka_dlt-original-topic', 'orders'], ['kafka_dlt-original-partition', i32], ['kafka_dlt-original-offset', i64], ['trace', randomBytes(5)]]},
        {partition: 1, key: 'k', value: 'small', headers: [['a', '1'], ['a', '2'], ['n', null]]},
        {partition: 1, key: null, value: null},
      ])
      const uri = `${KAFKA_URI}/${topic}`
      const out = join(tmp, 'kafka-export.ndjson')
      const r = dlqJson(['export', uri, '--file', out], {env})
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.records).toBe(3)
      const back = await readAll(out)
      const byPosition = new Map(back.map((b) => [String(b.metadata['dlq.original-position']), b]))
      expect([...byPosition.keys()].sort()).toEqual(['0:0', '1:0', '1:1'])
      const first = byPosition.get('0:0')!
      expect(first.payload!.equals(big)).toBe(true)
      expect(first.payloadTruncated).toBe(false)
      expect(first.source).toMatchObject({topic: 'orders', partition: 3, offset: 12345})
      // User headers are kept byte for byte; the Spring metadata stays metadata.
      expect(first.userHeaders.map((h) => h.key)).toEqual(['trace'])
      const second = byPosition.get('1:0')!
      expect(second.userHeaders.map((h) => [h.key, h.value?.toString() ?? null])).toEqual([['a', '1'], ['a', '2'], ['n', null]])
      expect(byPosition.get('1:1')!.payload).toBeNull()
    } finally {
      await fx.close()
    }
  }, 120_000)
})
