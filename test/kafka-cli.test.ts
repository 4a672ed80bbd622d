import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlq, dlqJson} from './helpers/cli.js'
import {expectSchema} from './helpers/schema.js'
import {needService} from './helpers/services.js'
import {KAFKA_URI, KafkaFixture} from './kafka-fixtures.js'

const svc = await needService('kafka')
/** Nothing listens on port 1 of loopback: a refused connection, the fastest "unreachable". */
const CLOSED = 'kafka://127.0.0.1:1'

describe('kafka sources on the command line: errors without a broker', () => {
  it('an unreachable broker is exit 4 with a clear message, quickly', () => {
    const t = Date.now()
    const r = dlq(['inspect', `${CLOSED}/orders-dlt`])
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/Kafka at 127\.0\.0\.1:1: cannot connect \(ECONNREFUSED\)/)
    expect(Date.now() - t).toBeLessThan(15_000)
  })

  it('a password in the URI is never printed, not even in an error', () => {
    const r = dlqJson(['stats', `kafka://alice:s3cr3t-pw@127.0.0.1:1/orders-dlt?sasl=scram-sha-512`])
    expect(r.code).toBe(4)
    expect(JSON.stringify(r.json) + r.stderr).not.toContain('s3cr3t-pw')
  })

  it('bad URIs are usage errors (exit 2)', () => {
    for (const uri of ['kafka://127.0.0.1:9092/', 'kafka://127.0.0.1:9092/a/b', 'kafka://127.0.0.1:9092/t?nope=1', 'kafka://127.0.0.1:99999/t', 'kafka://127.0.0.1:9092/t?sasl=gssapi', 'kafka://127.0.0.1:9092/t?partition=x']) {
      const r = dlq(['inspect', uri])
      expect(r.code, uri).toBe(2)
    }
  })

  it('credentials without a SASL mechanism are a usage error naming the fix', () => {
    const r = dlq(['inspect', `${CLOSED}/t`], {env: {DLQ_KAFKA_USERNAME: 'bob', DLQ_KAFKA_PASSWORD: 'pw-not-shown'}})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/DLQ_KAFKA_SASL_MECHANISM/)
    expect(r.stderr).not.toContain('pw-not-shown')
  })
})

describe.skipIf(!svc.available)('kafka sources on the command line (real broker)', () => {
  const kafka = new KafkaFixture()
  let topic: string
  beforeAll(async () => {
    topic = await kafka.topic('cli')
    await kafka.produceBulk(
      topic,
      Array.from({length: 12}, (_, i) => ({
        partition: i % 3,
        key: `k${i}`,
        value: JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 'ingest', reason: i % 2 ? 'timeout' : 'parse_error', attempts: 1, payload: Buffer.from(`p${i}`).toString('base64')}),
      })),
    )
  })
  afterAll(() => kafka.close())

  it('inspect pages with the cursor and leaves no consumer group behind', async () => {
    const before = await kafka.groups()
    const first = dlqJson(['inspect', `${KAFKA_URI}/${topic}`, '--limit', '5'])
    expect(first.code).toBe(0)
    expectSchema('inspect', first.json)
    expect(first.json.items.map((m: {position: string}) => m.position)).toEqual(['0:0', '0:1', '0:2', '0:3', '1:0'])
    const next = first.json.nextOffsetHint
    expect(next).toBe('0:4,1:1,2:0')
    const second = dlqJson(['inspect', `${KAFKA_URI}/${topic}`, '--limit', '100', '--from', next])
    expect(second.json.items.map((m: {position: string}) => m.position)).toEqual(['1:1', '1:2', '1:3', '2:0', '2:1', '2:2', '2:3'])
    const stats = dlqJson(['stats', `${KAFKA_URI}/${topic}`, '--filter', 'reason=timeout'])
    expect(stats.code).toBe(0)
    expect(stats.json.total).toBe(6)
    expect(await kafka.groups()).toEqual(before)
  })

  it('--from with a plain offset on a 3-partition topic is a usage error', () => {
    const r = dlq(['inspect', `${KAFKA_URI}/${topic}`, '--from', '3'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/PARTITION:OFFSET/)
  })

  it('?partition= narrows the source; a plain offset then works', () => {
    const r = dlqJson(['inspect', `${KAFKA_URI}/${topic}?partition=2`, '--from', '2'])
    expect(r.code).toBe(0)
    expect(r.json.items.map((m: {position: string}) => m.position)).toEqual(['2:2', '2:3'])
  })

  it('an unknown topic is exit 4', () => {
    const r = dlqJson(['inspect', `${KAFKA_URI}/${topic}-missing`])
    expect(r.code).toBe(4)
    expect(r.json.error?.message ?? JSON.stringify(r.json)).toMatch(/does not exist/)
  })

  it('SASL against a listener without SASL is an authentication failure, exit 4, password not shown', () => {
    const t = Date.now()
    const r = dlq(['inspect', `kafka://carol:hunter2-xyz@${KAFKA_URI.slice(8)}/${topic}?sasl=scram-sha-256`])
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/authentication failed as user "carol" with SASL scram-sha-256 \(password from the URI\)/)
    expect(r.stderr).not.toContain('hunter2-xyz')
    expect(Date.now() - t).toBeLessThan(20_000)
  })

  it('TLS against a plaintext listener fails within the connect timeout, exit 4', () => {
    const t = Date.now()
    const r = dlq(['inspect', `${KAFKA_URI}/${topic}?tls=1`])
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/Kafka at .*(cannot connect|no answer)/)
    expect(Date.now() - t).toBeLessThan(25_000)
  })
})
