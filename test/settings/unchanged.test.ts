import {afterAll, describe, expect, it} from 'vitest'
import {dlqJson} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {STORE_KINDS, dropStore, freshStore} from './helpers.js'

/**
 * A deploy script that re-applies its settings on every run must not bump the version under
 * another job's --expected-version: setting the value a setting already has is no change.
 */
const ENV = {DLQ_STORE: '', DLQ_CONFIG: '/nonexistent/dlq-config.json', DLQ_ACTOR: 'deploy@ci'}

const stores = new Map(await Promise.all(STORE_KINDS.map(async (kind) => [kind, await freshStore(kind)] as const)))
afterAll(() => Promise.all(STORE_KINDS.map((kind) => dropStore(kind, stores.get(kind)!))))

describe.each(STORE_KINDS)('re-applying a setting in a %s store', (kind) => {
  const store = stores.get(kind)!
  const run = store.available ? it : it.skip
  const cmd = (args: string[], actor = 'deploy@ci') => dlqJson([...args, '--store', store.uri], {env: {...ENV, DLQ_ACTOR: actor}})

  run('global target: the same value keeps its version and says "unchanged"; --expected-version is still checked first', () => {
    const first = cmd(['global-target', 'set', 'dfe.dlq', '--group', 'g1'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).not.toMatch(/unchanged/)

    const again = cmd(['global-target', 'set', 'dfe.dlq', '--group', 'g1'], 'someone-else@ci')
    expect(again.code, again.stderr).toBe(0)
    expectSchema('global-target', again.json)
    // The stored setting, as it was: who set it and when are not replaced by a no-op.
    expect(again.json).toEqual(first.json)
    expect(again.stderr).toMatch(/unchanged: the global target already has that value \(version 1\); nothing was written/)

    const stale = cmd(['global-target', 'set', 'dfe.dlq', '--group', 'g1', '--expected-version', '0'])
    expect(stale.code).toBe(3)
    expect(stale.json.error.details.version).toBe(1)
    expect(cmd(['global-target', 'set', 'dfe.dlq', '--group', 'g1', '--expected-version', '1']).json.version).toBe(1)

    // Another group is another value.
    expect(cmd(['global-target', 'set', 'dfe.dlq']).json).toMatchObject({version: 2, target: {topic: 'dfe.dlq', group: null}})
    expect(cmd(['global-target', 'clear']).json).toMatchObject({version: 3, target: null})
    const clearAgain = cmd(['global-target', 'clear'])
    expect(clearAgain.code).toBe(0)
    expect(clearAgain.json).toMatchObject({version: 3, target: null})
    expect(clearAgain.stderr).toMatch(/unchanged: the global target is already cleared \(version 3\)/)

    expect(cmd(['global-target', 'history']).json.changes.map((c: any) => [c.fromVersion, c.version])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ])
  })

  run('policy: clearing none writes nothing, the same policy keeps its version, another value is a change', () => {
    const none = cmd(['policy', 'clear', 'orders'])
    expect(none.code, none.stderr).toBe(0)
    expectSchema('policy', none.json)
    expect(none.json).toEqual({sourceTopic: 'orders', version: 0, policy: null, updatedAt: null, updatedBy: null})
    expect(none.stderr).toMatch(/unchanged: the policy of "orders" was never set \(version 0\)/)

    const set = ['policy', 'set', 'orders', '--dlq', 'custom', '--dlq-topic', 'orders.DLT', '--group', 'w', '--max-retries', '5']
    expect(cmd(set).json.version).toBe(1)
    const again = cmd([...set, '--expected-version', '1'])
    expect(again.code, again.stderr).toBe(0)
    expectSchema('policy', again.json)
    expect(again.json).toMatchObject({version: 1, policy: {dlq: 'custom', dlqTopic: 'orders.DLT', group: 'w', maxRetries: 5}})
    expect(again.stderr).toMatch(/unchanged: the policy of "orders" already has that value \(version 1\)/)
    expect(cmd(['policy', 'set', 'orders', '--dlq', 'custom', '--dlq-topic', 'orders.DLT', '--group', 'w', '--max-retries', '6']).json.version).toBe(2)

    expect(cmd(['policy', 'history', 'orders']).json.changes).toHaveLength(2)
    expect(cmd(['policy', 'list']).json.policies.map((p: any) => [p.sourceTopic, p.version])).toEqual([['orders', 2]])
  })
})
