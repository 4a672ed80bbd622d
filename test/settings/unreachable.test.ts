import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {dlq, dlqJson} from '../helpers/cli.js'

const ENV = {DLQ_STORE: '', DLQ_CONFIG: '/nonexistent/dlq-config.json'}

describe('a store that cannot be reached', () => {
  it.each([
    ['redis://127.0.0.1:1', /cannot reach Redis at 127\.0\.0\.1:1: connection refused/],
    ['kafka://127.0.0.1:1/dlq-settings', /Kafka at 127\.0\.0\.1:1: cannot connect \(ECONNREFUSED\)/],
  ])('%s: exit 4 within seconds, with a clear message', (uri, message) => {
    for (const args of [['global-target', 'get'], ['global-target', 'set', 'orders-dlq', '--expected-version', '0'], ['policy', 'list']]) {
      const started = Date.now()
      const r = dlqJson([...args, '--store', uri], {env: ENV})
      expect(r.code, r.stderr).toBe(4)
      expect(r.json.error).toMatchObject({code: 'unavailable', exitCode: 4})
      expect(r.json.error.message).toMatch(message)
      expect(Date.now() - started).toBeLessThan(15_000)
    }
  })

  it('a file in a directory that does not exist: exit 4, and nothing is created', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'dlq-settings-')), 'missing')
    const file = join(dir, 'settings.json')
    const r = dlq(['global-target', 'set', 'orders-dlq', '--store', file], {env: ENV})
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/does not exist \(create the directory first\)/)
    expect(existsSync(dir)).toBe(false)
  })

  it('an unknown scheme is a usage error', () => {
    const r = dlqJson(['global-target', 'get', '--store', 'http://127.0.0.1:1/x'], {env: ENV})
    expect(r.code).toBe(2)
    expect(r.json.error.message).toMatch(/unknown scheme "http:\/\/"/)
  })
})
