import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {dlqJson} from '../helpers/cli.js'
import {KAFKA_BROKERS, needService, REDIS_URL, uniqueName} from '../helpers/services.js'
import {KafkaFixture} from '../kafka-fixtures.js'

const kafka = await needService('kafka')
const redis = await needService('redis')

describe.runIf(kafka.available)('a Kafka header name that is not UTF-8 is replayed byte for byte', () => {
  const fx = new KafkaFixture()
  afterAll(() => fx.close())

  it('kcat writes a header named with bytes 0xff 0xfe; the replayed copy carries the same name, not U+FFFD', async () => {
    const src = await fx.topic('hdr-bytes-src', 1)
    const dst = await fx.topic('hdr-bytes-dst', 1)
    // librdkafka (kcat) writes a header name as the bytes it is given; bash's $'…' makes them.
    const made = spawnSync('bash', ['-c', `printf '{"a":1}\\n' | kcat -P -b ${KAFKA_BROKERS} -t ${src} -H $'bad\\xff\\xfename=v1' -H 'good=v2'`], {encoding: 'utf8'})
    expect(made.status, made.stderr).toBe(0)
    // Shown escaped (U+FFFD), never as raw bytes on the terminal.
    const shown = dlqJson(['inspect', `kafka://${KAFKA_BROKERS}/${src}`])
    expect(shown.json.items[0].headers).toEqual({'bad\uFFFD\uFFFDname': 'v1', good: 'v2'})
    const r = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${src}`, '--offset', '0:0', '--to', dst, '--yes'])
    expect([r.code, r.json.replayed]).toEqual([0, 1])
    const got = spawnSync('kcat', ['-C', '-b', KAFKA_BROKERS, '-t', dst, '-o', 'beginning', '-c', '1', '-e', '-q', '-f', '%h'], {encoding: 'buffer', timeout: 30_000})
    expect(got.status, got.stderr.toString()).toBe(0)
    expect(got.stdout).toEqual(Buffer.concat([Buffer.from('bad'), Buffer.from([0xff, 0xfe]), Buffer.from('name=v1,good=v2')]))

    // A transform that hands the headers back (here: adding one) keeps the name's bytes too.
    const dir = mkdtempSync(join(tmpdir(), 'dlq-hdr-transform-'))
    const transform = join(dir, 'add.mjs')
    writeFileSync(transform, "export default (r) => ({headers: [...r.headers, {key: 'added', value: 'x'}]})\n")
    const t = dlqJson(['replay', `kafka://${KAFKA_BROKERS}/${src}`, '--offset', '0:0', '--to', dst, '--yes', '--force', '--transform', transform])
    expect([t.code, t.json.replayed], JSON.stringify(t.json)).toEqual([0, 1])
    const again = spawnSync('kcat', ['-C', '-b', KAFKA_BROKERS, '-t', dst, '-o', '1', '-c', '1', '-e', '-q', '-f', '%h'], {encoding: 'buffer', timeout: 30_000})
    expect(again.stdout).toEqual(Buffer.concat([Buffer.from('bad'), Buffer.from([0xff, 0xfe]), Buffer.from('name=v1,good=v2,added=x')]))
  })
})

describe.runIf(redis.available)('a Redis field name that is not UTF-8 is replayed byte for byte', () => {
  it('an entry with a field named 0x62 0xff goes to a stream of the same field layout with the same name', async () => {
    const {Redis} = await import('ioredis')
    const client = new Redis(REDIS_URL)
    const src = uniqueName('hdr-bytes-src')
    const dst = uniqueName('hdr-bytes-dst')
    try {
      const name = Buffer.from([0x62, 0xff])
      const id = await client.xadd(src, '*', 'value', '{"a":1}', name, 'v1', 'good', 'v2')
      // The target's writers write `value` plus one field per header: replay writes the same way.
      await client.xadd(dst, '*', 'value', 'init')
      const r = dlqJson(['replay', `${REDIS_URL}/0/${src}`, '--offset', id!, '--to', dst, '--yes'])
      expect([r.code, r.json.replayed], JSON.stringify(r.json)).toEqual([0, 1])
      const entries = (await client.xrangeBuffer(dst, '-', '+')) as unknown as Array<[Buffer, Buffer[]]>
      const fields = entries[1][1]
      expect(fields.filter((_, i) => i % 2 === 0)).toEqual([Buffer.from('value'), name, Buffer.from('good')])
      expect(fields[3]).toEqual(Buffer.from('v1'))
    } finally {
      await client.del(src, dst)
      client.disconnect()
    }
  })
})
