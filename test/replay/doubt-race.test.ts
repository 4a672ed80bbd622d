import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {FileLedger} from '../../src/backends/file/ledger.js'
import {MATCH_ALL} from '../../src/core/filter.js'
import {runReplay, type ResultItem} from '../../src/core/replay/execute.js'
import {claimEvents, foldLedger} from '../../src/core/replay/ledger.js'
import {openSink} from '../../src/core/replay/open.js'
import {planWindows} from '../../src/core/replay/plan.js'
import {openReader} from '../../src/core/source.js'
import {fileLedgerKey, fileSourceKey} from '../helpers/ledger.js'
import {closeRedisSpace, emptyStream, openRedisSpace} from '../helpers/redis-space.js'
import {needService} from '../helpers/services.js'

/**
 * A replay that died after claiming its batch leaves the batch in doubt; the next run looks for
 * each message in the target and, not finding it, takes the claim over and sends it. Two such
 * runs started at once (two operators, two CI jobs) both look and both find nothing: taking the
 * claim over is a compare-and-set on the crashed run's claim, so only one of them sends each
 * message. Both runs here share one event loop, so they look before either takes over.
 */
const redis = await needService('redis')

describe.runIf(redis.available)('two replays resolving the same doubts at once', () => {
  let client: import('ioredis').Redis
  let prefix: string
  let sink: string
  let dir: string
  beforeAll(async () => {
    ;({client, prefix, sink} = await openRedisSpace(redis.address, 'race'))
    dir = mkdtempSync(join(tmpdir(), 'dlq-doubt-race-'))
  })
  afterAll(async () => {
    await closeRedisSpace(client, prefix)
    rmSync(dir, {recursive: true, force: true})
  })

  it('send each message once: one run takes each doubt over and sends it, the other does not', async () => {
    const topic = 'race'
    const stream = `${prefix}${topic}`
    await emptyStream(client, stream)
    const n = 40
    const lines = Array.from({length: n}, (_, i) =>
      JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'r', attempts: 1, payload: Buffer.from(`{"n":${i}}`).toString('base64'), source: {topic, partition: 0, offset: i}}),
    )
    const src = join(dir, 'dlq.ndjson')
    writeFileSync(src, lines.join('\n') + '\n')

    // A run on another machine claimed every message an hour ago, and died before sending any.
    const probe = await openSink(sink)
    const mark = await probe.mark!(stream, null)
    await probe.close()
    const ledgerPath = join(dir, 'ledger.ndjson')
    const target = {topic: stream, partition: null}
    const keys = [...lines.map(fileLedgerKey), ...lines.map((l) => fileSourceKey(l)!)]
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString()
    writeFileSync(ledgerPath, claimEvents(keys.map((position) => ({position, target, mark})), 'elsewhere/1/crashed', false, anHourAgo).map((e) => `${JSON.stringify(e)}\n`).join(''))

    const run = async (): Promise<ResultItem[]> => {
      const reader = await openReader(src)
      const out = await openSink(sink)
      const ledger = new FileLedger(ledgerPath)
      const deps = {reader, sink: out, ledger}
      const items: ResultItem[] = []
      try {
        await runReplay(planWindows(deps, {all: true, filter: MATCH_ALL}), deps, {onItem: (r) => items.push(r)})
      } finally {
        await out.close()
        await ledger.close()
        await reader.close()
      }
      return items
    }
    const [a, b] = await Promise.all([run(), run()])

    // Every message is in the target once.
    const sent = ((await client.xrange(stream, '-', '+')) as Array<[string, string[]]>).map(([, fields]) => fields[fields.indexOf('payload') + 1] ?? fields.join(' '))
    expect(sent.sort()).toEqual(Array.from({length: n}, (_, i) => `{"n":${i}}`).sort())
    // Each position was replayed by exactly one run; the other did not send it.
    for (let i = 0; i < n; i++) {
      const p = String(i)
      const [ra, rb] = [a.find((r) => r.position === p)!, b.find((r) => r.position === p)!]
      expect([ra.outcome, rb.outcome].filter((o) => o === 'replayed'), `position ${p}: ${ra.reason} / ${rb.reason}`).toHaveLength(1)
      const other = ra.outcome === 'replayed' ? rb : ra
      expect(['in_progress', 'already_replayed']).toContain(other.reason)
    }
    // The ledger says so too: every message done, by the run that sent it.
    const state = foldLedger(readFileSync(ledgerPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)))
    expect(lines.map((l) => state.get(fileLedgerKey(l))?.state)).toEqual(Array(n).fill('done'))
  })
})
