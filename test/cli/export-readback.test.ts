import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {closeRedisSpace, emptyStream, openRedisSpace} from '../helpers/redis-space.js'
import {needService} from '../helpers/services.js'

const redis = await needService('redis')

/**
 * An export (or an `inspect --output ndjson` page) read back is the DLQ it came from: its
 * unreadable records stay unreadable, so stats and check count them and replay never sends the
 * corrupt line or the DLQ wrapper it holds as a payload.
 */
const tmp = mkdtempSync(join(tmpdir(), 'dlq-export-readback-'))
const env = {DLQ_CACHE_DIR: join(tmp, 'cache')}
const CORRUPT = join(FIXTURES, 'corrupt.ndjson')

describe('an export read back keeps its unreadable records unreadable', () => {
  const exported = join(tmp, 'corrupt-exp.ndjson')
  const page = join(tmp, 'corrupt-page.ndjson')
  beforeAll(() => {
    const r = dlq(['export', CORRUPT, '--file', exported], {env})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/exported 9 records \(7 unreadable\)/)
    const p = dlq(['inspect', CORRUPT, '--output', 'ndjson'], {env})
    expect(p.code, p.stderr).toBe(0)
    writeFileSync(page, p.stdout)
  })

  it('stats and check count them as the original does', () => {
    const original = dlqJson(['stats', CORRUPT], {env}).json
    expect(original.unreadable.count).toBe(7)
    for (const copy of [exported, page]) {
      const s = dlqJson(['stats', copy], {env}).json
      expect(s.unreadable.count, copy).toBe(7)
      expect(s.unreadable.timeUnknown, copy).toBe(original.unreadable.timeUnknown)
      const c = dlqJson(['check', copy, '--max', '100'], {env}).json
      expect(c.unreadable, copy).toBe(7)
    }
  })

  it('inspect shows what was wrong with each, as it did for the original', () => {
    const original = dlqJson(['inspect', CORRUPT], {env}).json.items
    const back = dlqJson(['inspect', exported], {env}).json.items
    expect(back.map((m: any) => m.unreadable ?? null)).toEqual(original.map((m: any) => m.unreadable ?? null))
    expect(back.map((m: any) => m.payload)).toEqual(original.map((m: any) => m.payload))
  })

  describe.runIf(redis.available)('replay', () => {
    let client: import('ioredis').Redis
    let prefix: string
    let sink: string
    beforeAll(async () => {
      ;({client, prefix, sink} = await openRedisSpace(redis.address, 'readback'))
      await emptyStream(client, `${prefix}orders`)
    })
    afterAll(() => closeRedisSpace(client, prefix))

    it('plans the export as the original: the unreadable records are skipped as unreadable', () => {
      const plan = (src: string) => dlqJson(['replay', src, '--all', '--sink', sink, '--dry-run'], {env}).json.items.map((i: any) => [i.action, i.reason, i.detail])
      const original = plan(CORRUPT)
      expect(original.filter((i: any) => i[1] === 'unreadable')).toHaveLength(7)
      expect(plan(exported)).toEqual(original)
      expect(plan(page)).toEqual(original)
    })

    it('sends nothing for them: not the DLQ wrapper, not the corrupt line', async () => {
      // Positions 2 and 3 of the export: hyperi entries with a bad field, whose payload is the whole entry.
      const r = dlqJson(['replay', exported, '--offset', '2', '--offset', '3', '--sink', sink, '--yes'], {env})
      expect(r.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
        ['2', 'skipped', 'unreadable'],
        ['3', 'skipped', 'unreadable'],
      ])
      expect(r.code).toBe(1)
      expect(await client.xlen(`${prefix}orders`)).toBe(0)
    })

    it('a --transform sees the convention the record was first read with, so it selects the same messages from the export', () => {
      const conventions = join(FIXTURES, 'conventions.ndjson')
      const copy = join(tmp, 'conventions-exp.ndjson')
      expect(dlq(['export', conventions, '--file', copy], {env}).code).toBe(0)
      const transform = join(tmp, 'spring-only.mjs')
      writeFileSync(transform, "export default (r) => (r.convention === 'spring' ? {} : null)\n")
      const plan = (src: string) => dlqJson(['replay', src, '--all', '--sink', sink, '--to', 'orders', '--dry-run', '--transform', transform], {env}).json.items.map((i: any) => [i.action, i.reason])
      const original = plan(conventions)
      expect(original.filter((i: any) => i[0] === 'send').length).toBeGreaterThan(0)
      expect(original.filter((i: any) => i[1] === 'skipped_by_transform').length).toBeGreaterThan(0)
      expect(plan(copy)).toEqual(original)
    })
  })
})
