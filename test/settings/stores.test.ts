import {afterAll, describe, expect, it} from 'vitest'
import {dlq, dlqJson} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {STORE_KINDS, dropStore, freshStore} from './helpers.js'

const ENV = {DLQ_STORE: '', DLQ_CONFIG: '/nonexistent/dlq-config.json', DLQ_ACTOR: 'ci-bot@runner-7'}

const stores = new Map(await Promise.all(STORE_KINDS.map(async (kind) => [kind, await freshStore(kind)] as const)))
afterAll(() => Promise.all(STORE_KINDS.map((kind) => dropStore(kind, stores.get(kind)!))))

describe.each(STORE_KINDS)('settings in a %s store', (kind) => {
  const store = stores.get(kind)!
  const gt = (args: string[], env = {}) => dlqJson(['global-target', ...args, '--store', store.uri], {env: {...ENV, ...env}})
  const run = store.available ? it : it.skip

  run('get on an empty store: version 0, no target', () => {
    const r = gt(['get'])
    expect(r.code).toBe(0)
    expect(r.json).toEqual({version: 0, target: null, updatedAt: null, updatedBy: null})
    expectSchema('global-target', r.json)
    expect(gt(['history']).json).toEqual({setting: 'global-target', changes: []})
  })

  run('set, set with the right and a stale expected version, clear, history', () => {
    const first = gt(['set', 'orders-dlq', '--group', 'dlq-workers'])
    expect(first.code).toBe(0)
    expectSchema('global-target', first.json)
    expect(first.json).toMatchObject({version: 1, target: {topic: 'orders-dlq', group: 'dlq-workers'}, updatedBy: {user: 'ci-bot', host: 'runner-7'}})
    expect(Date.parse(first.json.updatedAt)).toBeGreaterThan(Date.now() - 60_000)
    // Key order is part of the contract: scripts and diffs see a stable document.
    expect(Object.keys(first.json)).toEqual(['version', 'target', 'updatedAt', 'updatedBy'])

    const right = gt(['set', 'orders-dlq-2', '--expected-version', '1'], {DLQ_ACTOR: 'alice'})
    expect(right.code).toBe(0)
    expect(right.json).toMatchObject({version: 2, target: {topic: 'orders-dlq-2', group: null}, updatedBy: {user: 'alice'}})

    const stale = gt(['set', 'other-dlq', '--expected-version', '1'])
    expect(stale.code).toBe(3)
    expectSchema('error', stale.json)
    expect(stale.json.error).toMatchObject({code: 'conflict', exitCode: 3, details: {version: 2, target: {topic: 'orders-dlq-2', group: null}}})
    expect(stale.json.error.message).toMatch(/version 2, not 1/)
    expectSchema('global-target', stale.json.error.details)

    // Without --json the current setting goes to stderr, stdout stays empty.
    const staleText = dlq(['global-target', 'clear', '--expected-version', '0', '--store', store.uri], {env: ENV})
    expect(staleText.code).toBe(3)
    expect(staleText.stdout).toBe('')
    expect(staleText.stderr).toMatch(/current setting:\n\s+version\s+2\n\s+topic\s+orders-dlq-2/)

    const cleared = gt(['clear', '--expected-version', '2'])
    expect(cleared.code).toBe(0)
    expect(cleared.json).toMatchObject({version: 3, target: null})
    expect(gt(['get']).json).toMatchObject({version: 3, target: null, updatedBy: {user: 'ci-bot', host: 'runner-7'}})

    const unconditional = gt(['set', 'orders-dlq'])
    expect(unconditional.json.version).toBe(4)

    const history = gt(['history'])
    expectSchema('global-target-history', history.json)
    expect(history.json.changes.map((c: any) => [c.fromVersion, c.version, c.target?.topic ?? null, c.by.user])).toEqual([
      [0, 1, 'orders-dlq', 'ci-bot'],
      [1, 2, 'orders-dlq-2', 'alice'],
      [2, 3, null, 'ci-bot'],
      [3, 4, 'orders-dlq', 'ci-bot'],
    ])
    const text = dlq(['global-target', 'history', '--store', store.uri], {env: ENV})
    expect(text.stdout.split('\n')[0]).toMatch(/^VERSION\s+FROM\s+AT\s+BY\s+TOPIC\s+GROUP$/)
    expect(text.stdout).toMatch(/\n3\s+2\s+\S+\s+ci-bot@runner-7\s+\(cleared\)/)
  })

  run('policies: set, conflict, get, list', () => {
    const p = (args: string[]) => dlqJson(['policy', ...args, '--store', store.uri], {env: ENV})
    expect(p(['get', 'orders']).json).toEqual({sourceTopic: 'orders', version: 0, policy: null, updatedAt: null, updatedBy: null})
    const set = p(['set', 'orders', '--dlq', 'custom', '--dlq-topic', 'orders-dlq', '--group', 'w', '--max-retries', '5', '--expected-version', '0'])
    expect(set.code).toBe(0)
    expectSchema('policy', set.json)
    expect(set.json).toMatchObject({sourceTopic: 'orders', version: 1, policy: {dlq: 'custom', dlqTopic: 'orders-dlq', group: 'w', maxRetries: 5}})
    expect(p(['set', 'payments', '--dlq', 'global']).code).toBe(0)
    expect(p(['set', 'clicks', '--dlq', 'discard', '--max-retries', '0']).code).toBe(0)
    const conflict = p(['set', 'orders', '--dlq', 'discard', '--expected-version', '0'])
    expect(conflict.code).toBe(3)
    expect(conflict.json.error.details).toMatchObject({sourceTopic: 'orders', version: 1, policy: {dlq: 'custom'}})
    expectSchema('policy', conflict.json.error.details)
    expect(p(['set', 'orders', '--dlq', 'global', '--expected-version', '1']).json.version).toBe(2)

    const list = p(['list'])
    expectSchema('policy-list', list.json)
    expect(list.json.policies.map((d: any) => [d.sourceTopic, d.version, d.policy.dlq])).toEqual([
      ['clicks', 1, 'discard'],
      ['orders', 2, 'global'],
      ['payments', 1, 'global'],
    ])
  })

  run('refuses reserved and illegal names before touching the store', () => {
    for (const args of [['global-target', 'set', '__consumer_offsets'], ['global-target', 'set', 'fibril.dlq'], ['policy', 'set', 'stroma.x', '--dlq', 'global'], ['policy', 'set', 'o', '--dlq', 'custom', '--dlq-topic', 'a b']]) {
      const r = dlqJson([...args, '--store', store.uri], {env: ENV})
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.json.error.message).toMatch(/reserved|only contain/)
    }
  })
})

describe('choosing the store', () => {
  it('without --store, DLQ_STORE or a profile: a usage error saying how to name one', () => {
    const r = dlqJson(['global-target', 'get'], {env: ENV})
    expect(r.code).toBe(2)
    expect(r.json.error.message).toMatch(/--store URI.*DLQ_STORE.*profile/)
  })

  it('takes DLQ_STORE, then the profile', async () => {
    const {uri} = await freshStore('file')
    expect(dlqJson(['global-target', 'set', 'from-env'], {env: {...ENV, DLQ_STORE: uri}}).json.version).toBe(1)
    const {mkdtempSync, writeFileSync} = await import('node:fs')
    const {join} = await import('node:path')
    const {tmpdir} = await import('node:os')
    const config = join(mkdtempSync(join(tmpdir(), 'dlq-config-')), 'config.json')
    writeFileSync(config, JSON.stringify({profiles: {ci: {store: uri}}}))
    const r = dlqJson(['global-target', 'get'], {env: {...ENV, DLQ_CONFIG: config, DLQ_PROFILE: 'ci'}})
    expect(r.json).toMatchObject({version: 1, target: {topic: 'from-env'}})
  })

  it('--help lists the exit codes', () => {
    for (const cmd of [['global-target', 'set'], ['global-target', 'get'], ['global-target', 'clear'], ['global-target', 'history'], ['policy', 'set'], ['policy', 'get'], ['policy', 'list']]) {
      const r = dlq([...cmd, '--help'], {env: ENV})
      expect(r.stdout, cmd.join(' ')).toMatch(/EXIT CODES[\s\S]*3\s+conflict/)
    }
  })
})
