import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlq, dlqJson} from './helpers/cli.js'
import {freePort, needService, uniqueName} from './helpers/services.js'

const svc = await needService('redis')

describe.skipIf(!svc.available)('dlq inspect / stats on redis:// (built CLI)', () => {
  let redis: Redis
  let key: string
  let ids: string[]
  const T0 = 1_764_000_000_000
  const HOUR = 3_600_000
  const user = uniqueName('dlq-test-user')
  const password = `pw-${uniqueName('secret')}`
  const src = () => `${svc.address}/0/${key}`

  beforeAll(async () => {
    redis = new Redis(svc.address, {maxRetriesPerRequest: 1})
    key = uniqueName('dlq-test-cli')
    const hyperi = JSON.stringify({timestamp: T0, service: 'ingest', reason: 'timeout', attempts: 2, payload: Buffer.from('{"id":1}').toString('base64'), source: {topic: 'events'}})
    ids = [
      await redis.xadd(key, `${T0}-0`, 'data', hyperi),
      await redis.xadd(key, `${T0 + HOUR}-0`, 'payload', 'evil \x1b[31mred', 'reason_poisoned', 'bad', 'topic_poisoned', 'orders'),
      await redis.xadd(key, `${T0 + 2 * HOUR}-0`, 'payload', Buffer.from([0xff, 0x00]), 'reason_poisoned', 'timeout', 'topic_poisoned', 'orders'),
    ]
    await redis.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '+@read')
  })
  afterAll(async () => {
    await redis.del(key, `${key}-string`)
    await redis.call('ACL', 'DELUSER', user)
    await redis.quit()
  })

  it('inspect pages through a stream and prints where to continue', () => {
    const p1 = dlqJson(['inspect', src(), '--limit', '2'])
    expect(p1.code).toBe(0)
    expect(p1.json.items.map((m: {position: string}) => m.position)).toEqual(ids.slice(0, 2))
    expect(p1.json.items[0]).toMatchObject({convention: 'hyperi', reason: 'timeout', retries: 2, payload: {text: '{"id":1}'}, source: {topic: 'events'}})
    expect(p1.json).toMatchObject({nextOffsetHint: `${T0 + HOUR}-1`, end: false})
    const p2 = dlqJson(['inspect', src(), '--from', p1.json.nextOffsetHint])
    expect(p2.json.items.map((m: {position: string}) => m.position)).toEqual([ids[2]])
    expect(p2.json.items[0]).toMatchObject({convention: 'watermill', payload: {base64: '/wA='}})
    expect(p2.json.end).toBe(true)
  })

  it('inspect shows a table with untrusted bytes escaped, and filters by time', () => {
    const r = dlq(['inspect', src(), '--since', new Date(T0 + HOUR).toISOString(), '--until', String(T0 + HOUR)])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(ids[1].slice(0, 10))
    // Not shown (the footer may name it: the page read on past --until).
    expect(r.stdout.split('\n').filter((l) => l.startsWith(ids[2]))).toEqual([])
    expect(r.stdout).not.toContain('\x1b')
    expect(r.stdout).toContain('\\e[31mred')
  })

  it('an empty page (a trimmed stream, a window after the newest entry) still says where to continue, with a position --from takes', async () => {
    const empty = uniqueName('dlq-test-empty')
    await redis.xadd(empty, '*', 'a', 'b')
    await redis.xtrim(empty, 'MAXLEN', 0)
    try {
      const r = dlqJson(['inspect', `${svc.address}/0/${empty}`])
      expect([r.code, r.json.items.length, r.json.end]).toEqual([0, 0, true])
      expect(r.json.nextOffsetHint).toBe('0-0')
      const since = dlqJson(['inspect', src(), '--since', String(T0 + 3 * HOUR)])
      expect(since.json.items).toEqual([])
      expect(since.json.nextOffsetHint).toMatch(/^\d+-0$/)
      const t = dlq(['inspect', `${svc.address}/0/${empty}`])
      expect(t.stdout).toMatch(/end of log \(continue later with --from 0-0\)/)
      // The hint is a position: following it is a page, not a usage error.
      await redis.xadd(empty, '*', 'payload', 'later', 'reason_poisoned', 'x', 'topic_poisoned', 'orders')
      const next = dlqJson(['inspect', `${svc.address}/0/${empty}`, '--from', r.json.nextOffsetHint])
      expect([next.code, next.json.items.length]).toEqual([0, 1])
    } finally {
      await redis.del(empty)
    }
  })

  it('stats counts the whole stream, and with a filter', () => {
    const all = dlqJson(['stats', src()])
    expect(all.code).toBe(0)
    expect(all.json).toMatchObject({total: 3, firstTimestamp: new Date(T0).toISOString(), lastTimestamp: new Date(T0 + 2 * HOUR).toISOString()})
    expect(all.json.byConvention).toEqual([
      {value: 'watermill', count: 2},
      {value: 'hyperi', count: 1},
    ])
    const filtered = dlqJson(['stats', src(), '--filter', 'reason=timeout'])
    expect(filtered.json.total).toBe(2)
    expect(filtered.json.bySourceTopic).toEqual([
      {value: 'events', count: 1},
      {value: 'orders', count: 1},
    ])
  })

  it('takes the password from DLQ_REDIS_PASSWORD and never prints it', () => {
    const ok = dlqJson(['stats', `redis://${user}@127.0.0.1:${svc.address.split(':').pop()}/0/${key}`], {env: {DLQ_REDIS_PASSWORD: password}})
    expect(ok.code).toBe(0)
    expect(ok.json.total).toBe(3)
    expect(ok.json.source).toBe(`redis://${user}:***@127.0.0.1:${svc.address.split(':').pop()}/0/${key}`)
  })

  it('a wrong password is exit 4 with a clear message and no password in the output', () => {
    const hostPort = svc.address.replace('redis://', '')
    for (const [args, env] of [
      [['inspect', `redis://${user}:wrong-${password}@${hostPort}/0/${key}`], {}],
      [['inspect', `redis://${user}@${hostPort}/0/${key}`], {DLQ_REDIS_PASSWORD: `wrong-${password}`}],
    ] as const) {
      const r = dlqJson([...args], {env})
      expect(r.code).toBe(4)
      expect(r.json.error).toMatchObject({code: 'unavailable', exitCode: 4})
      expect(r.json.error.message).toMatch(new RegExp(`refused the credentials of user "${user}": authentication failed`))
      expect(JSON.stringify(r.json) + r.stderr).not.toContain(password)
    }
  })

  it('a missing key, a key of another type and a refused port are exit 4 with the reason', async () => {
    await redis.set(`${key}-string`, 'x')
    const cases: Array<[string, RegExp]> = [
      [`${svc.address}/0/${key}-missing`, /there is no stream "dlq-test-cli-.*-missing" \(the key does not exist\)/],
      [`${svc.address}/0/${key}-string`, /key "dlq-test-cli-.*-string" holds a string, not a stream/],
      [`redis://127.0.0.1:${await freePort()}/0/${key}`, /cannot reach Redis at 127\.0\.0\.1:\d+: connection refused/],
    ]
    for (const [source, message] of cases) {
      for (const command of ['inspect', 'stats']) {
        const r = dlq([command, source])
        expect(r.code, `${command} ${source}`).toBe(4)
        expect(r.stderr).toMatch(message)
      }
    }
  })

  it('a malformed position or URI is a usage error (exit 2)', () => {
    const bad = dlq(['inspect', src(), '--from', 'yesterday'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/position "yesterday": a Redis stream position is an entry id/)
    const uri = dlq(['inspect', `${svc.address}/0/a/b`])
    expect(uri.code).toBe(2)
    expect(uri.stderr).toMatch(/write it %2F/)
  })
})
