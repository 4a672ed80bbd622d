import {mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {MAX_INDEXES, PRUNED_TO, pruneIndexes} from '../../src/backends/file/line-index.js'
import {dlq} from '../helpers/cli.js'

/** `n` index files named i.json, written i seconds after `base` (so 0 is the oldest). */
function fill(dir: string, n: number, base: number): void {
  for (let i = 0; i < n; i++) {
    const f = join(dir, `${i}.json`)
    writeFileSync(f, '{}')
    utimesSync(f, (base + i * 1000) / 1000, (base + i * 1000) / 1000)
  }
}

describe('the line-index cache stays bounded', () => {
  it('past MAX_INDEXES, the least recently written are removed down to PRUNED_TO; stale temporaries go, fresh ones stay', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-index-prune-'))
    const now = Date.now()
    fill(dir, MAX_INDEXES, now - 10_000_000)
    writeFileSync(join(dir, 'old.json.1.tmp'), '')
    utimesSync(join(dir, 'old.json.1.tmp'), (now - 7_200_000) / 1000, (now - 7_200_000) / 1000)
    writeFileSync(join(dir, 'busy.json.2.tmp'), '')
    // At the limit: nothing but the stale temporary is removed.
    pruneIndexes(dir, now)
    expect(readdirSync(dir).filter((n) => n.endsWith('.json'))).toHaveLength(MAX_INDEXES)
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual(['busy.json.2.tmp'])
    // One more: pruned to PRUNED_TO, the newest kept.
    fill(join(dir), MAX_INDEXES + 1, now - 10_000_000)
    pruneIndexes(dir, now)
    const left = readdirSync(dir).filter((n) => n.endsWith('.json')).map((n) => Number(n.split('.')[0])).sort((a, b) => a - b)
    expect(left).toHaveLength(PRUNED_TO)
    expect(left[0]).toBe(MAX_INDEXES + 1 - PRUNED_TO)
    expect(left.at(-1)).toBe(MAX_INDEXES)
  })

  it('a command that writes an index prunes the directory it writes to, keeping its own index', () => {
    const cache = mkdtempSync(join(tmpdir(), 'dlq-index-cache-'))
    const dir = join(cache, 'index')
    mkdirSync(dir)
    fill(dir, MAX_INDEXES + 10, Date.now() - 10_000_000)
    const file = join(mkdtempSync(join(tmpdir(), 'dlq-index-src-')), 'dlq.ndjson')
    const line = (i: number) => JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 's', reason: 'timeout', attempts: 0, payload: Buffer.from(`{"n":${i}}`).toString('base64')})
    writeFileSync(file, Array.from({length: 3000}, (_, i) => line(i)).join('\n') + '\n')
    const r = dlq(['inspect', file, '--from', '2990', '--json'], {env: {DLQ_CACHE_DIR: cache}})
    expect(r.code, r.stderr).toBe(0)
    const names = readdirSync(dir)
    expect(names).toHaveLength(PRUNED_TO)
    // Its own index is the newest: kept.
    expect(names.filter((n) => !/^\d+\.json$/.test(n))).toHaveLength(1)
  })
})
