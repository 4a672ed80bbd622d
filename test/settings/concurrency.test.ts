import {afterAll, describe, expect, it} from 'vitest'
import {KAFKA_BROKERS} from '../helpers/services.js'
import {dlqJson} from '../helpers/cli.js'
import {STORE_KINDS, dlqAsync, dropStore, freshStore} from './helpers.js'

const ENV = {DLQ_STORE: '', DLQ_CONFIG: '/nonexistent/dlq-config.json'}
const WRITERS = 20

const stores = new Map(await Promise.all(STORE_KINDS.map(async (kind) => [kind, await freshStore(kind)] as const)))
afterAll(() => Promise.all(STORE_KINDS.map((kind) => dropStore(kind, stores.get(kind)!))))

describe.each(STORE_KINDS)('%s store: %i writers race with the same expected version', (kind) => {
  const store = stores.get(kind)!
  const run = store.available ? it : it.skip

  run(`exactly one of ${WRITERS} wins, the others exit 3, the version goes up by one`, {timeout: 180_000}, async () => {
    const seed = dlqJson(['global-target', 'set', 'seed-dlq', '--store', store.uri], {env: ENV})
    expect(seed.code, seed.stderr).toBe(0)
    const base = seed.json.version as number

    const results = await Promise.all(
      Array.from({length: WRITERS}, (_, i) =>
        dlqAsync(['global-target', 'set', `racer-${i}`, '--expected-version', String(base), '--store', store.uri, '--json'], {...ENV, DLQ_ACTOR: `racer-${i}@test`}),
      ),
    )
    const codes = results.map((r) => r.code)
    const winners = results.flatMap((r, i) => (r.code === 0 ? [i] : []))
    expect(winners.length, `exit codes: ${codes.join(' ')}\n${results.find((r) => r.code !== 0 && r.code !== 3)?.stderr ?? ''}`).toBe(1)
    expect(codes.filter((c) => c === 3)).toHaveLength(WRITERS - 1)
    const winner = winners[0]
    expect(JSON.parse(results[winner].stdout)).toMatchObject({version: base + 1, target: {topic: `racer-${winner}`}})
    for (const r of results.filter((x) => x.code === 3)) {
      const details = JSON.parse(r.stdout).error.details
      // A loser sees the state it lost to: the winner's write, or (if it read before the winner
      // landed, on the Kafka store's pre-check) never anything newer than that.
      expect(details.version).toBeGreaterThanOrEqual(base)
      expect(details.version).toBeLessThanOrEqual(base + 1)
    }

    const after = dlqJson(['global-target', 'get', '--store', store.uri], {env: ENV})
    expect(after.json).toMatchObject({version: base + 1, target: {topic: `racer-${winner}`}, updatedBy: {user: `racer-${winner}`, host: 'test'}})
    const history = dlqJson(['global-target', 'history', '--store', store.uri], {env: ENV}).json.changes
    expect(history.map((c: any) => [c.fromVersion, c.version])).toEqual([
      [0, 1],
      [base, base + 1],
    ])

    if (kind === 'kafka') {
      // Reading the settings topic must leave no consumer group behind.
      const {Admin} = await import('@platformatic/kafka')
      const admin = new Admin({clientId: 'dlq-settings-test', bootstrapBrokers: KAFKA_BROKERS.split(',')})
      try {
        const groups = [...(await admin.listGroups()).keys()]
        expect(groups.filter((g) => g.startsWith('dlq-settings'))).toEqual([])
      } finally {
        await admin.close()
      }
    }
  })
})

describe('kafka store: writers race to create the settings topic', () => {
  it('exactly one of 20 wins when the topic does not exist yet', {timeout: 180_000}, async () => {
    const store = await freshStore('kafka')
    if (!store.available) return
    try {
      const results = await Promise.all(
        Array.from({length: WRITERS}, (_, i) => dlqAsync(['global-target', 'set', `first-${i}`, '--expected-version', '0', '--store', store.uri], ENV)),
      )
      const codes = results.map((r) => r.code).sort()
      expect(codes, results.map((r) => r.stderr).join('')).toEqual([0, ...Array(WRITERS - 1).fill(3)])
      expect(dlqJson(['global-target', 'history', '--store', store.uri], {env: ENV}).json.changes).toHaveLength(1)
    } finally {
      await dropStore('kafka', store)
    }
  })
})
