import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {closeSync, mkdtempSync, openSync, readFileSync, statSync, writeSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {openFileReader} from '../../src/backends/file/index.js'
import {MATCH_ALL} from '../../src/core/filter.js'
import type {DecodedRecord} from '../../src/core/record.js'
import {BIN, dlq, dlqJson, FIXTURES} from '../helpers/cli.js'

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
    expect(r.json).toMatchObject({records: 5, unreadable: 1, file: out})
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
})
