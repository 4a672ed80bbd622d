import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {renderTable} from '../../src/output/table.js'
import {cut, displayWidth} from '../../src/output/width.js'
import {dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'

/** Issue 14 items 8 and 9: tables that fit the terminal, and stats whose numbers add up. */
const tmp = mkdtempSync(join(tmpdir(), 'dlq-tables-'))
const env = {DLQ_CACHE_DIR: join(tmp, 'cache')}
const f = (name: string) => join(FIXTURES, name)

function wideFile(): string {
  const path = join(tmp, 'wide.ndjson')
  const entry = (i: number, payload: string, reason: string) =>
    JSON.stringify({timestamp: 1700000000000 + i * 60_000, service: 's', reason, attempts: i, payload: Buffer.from(payload).toString('base64'), source: {topic: '注文-トピック', partition: i, offset: 10 ** i}})
  writeFileSync(path, [entry(0, '漢字かな交じり文 '.repeat(20), '解析エラー'), entry(1, '🚀🔥 emoji payload '.repeat(20), 'timeout'), entry(2, 'plain ascii '.repeat(40), 'org.example.SomeVeryLongExceptionClassName')].join('\n') + '\n')
  return path
}

describe('tables fit the terminal', () => {
  it('8: inspect and stats stay within 40, 60, 80 and 120 columns, East Asian text and emoji included', () => {
    const sources = [f('mixed.ndjson'), f('hostile.ndjson'), f('corrupt.ndjson'), wideFile()]
    for (const columns of [40, 60, 80, 120]) {
      for (const src of sources) {
        for (const cmd of [['inspect', src, '--limit', '50'], ['stats', src]]) {
          const r = dlq(cmd, {env: {...env, COLUMNS: String(columns)}})
          expect(r.code, r.stderr).toBe(0)
          // The table lines; the source path and the closing "N shown" sentence are plain text the terminal wraps.
          const table = r.stdout.split('\n').filter((l) => !/^(Source|Filter|Unreadable):|\d+ shown, \d+ examined/.test(l))
          for (const line of table) expect(displayWidth(line), `${cmd.join(' ')} @${columns}: ${line}`).toBeLessThanOrEqual(columns)
        }
      }
    }
  })

  it('8: columns line up by display width, and long text is cut at the end with …', () => {
    const r = dlq(['inspect', wideFile()], {env: {...env, COLUMNS: '100'}})
    const lines = r.stdout.split('\n').slice(0, 4)
    const col = (line: string, head: string) => displayWidth(line.slice(0, line.indexOf(head)))
    const reasonAt = col(lines[0], 'REASON')
    expect(col(lines[1], '解析エラー')).toBe(reasonAt)
    expect(col(lines[2], 'timeout')).toBe(reasonAt)
    expect(lines[3]).toMatch(/org\.ex\S*…/)
    expect(lines[1]).toMatch(/漢字かな.*…$/)
  })

  it('8: --output wide adds columns and is not cut to the terminal', () => {
    const r = dlq(['inspect', f('conventions.ndjson'), '--output', 'wide'], {env: {...env, COLUMNS: '80'}})
    expect(r.stdout.split('\n')[0]).toMatch(/CONVENTION\s+GROUP\s+HEADERS\s+PAYLOAD/)
    expect(Math.max(...r.stdout.split('\n').map(displayWidth))).toBeGreaterThan(80)
  })

  it('8: on narrow terminals KEY, RETRIES, then TIME go before the others get cramped; the position never', () => {
    const head = (columns: number) => dlq(['inspect', f('mixed.ndjson')], {env: {...env, COLUMNS: String(columns)}}).stdout.split('\n')[0]
    expect(head(80)).toMatch(/^POSITION\s+TIME\s+SOURCE\s+REASON\s+PAYLOAD$/)
    expect(head(60)).toMatch(/^POSITION\s+SOURCE\s+REASON\s+PAYLOAD$/)
    expect(head(30)).toMatch(/^POSITION/)
    const roomy = dlq(['inspect', f('mixed.ndjson')], {env: {...env, COLUMNS: '160'}}).stdout.split('\n')[0]
    expect(roomy).toMatch(/RETRIES\s+KEY\s+PAYLOAD/)
  })

  it('8: cut never splits a grapheme, never exceeds the width, and leaves text that fits alone', () => {
    for (const s of ['abc', '漢字漢字漢字', '👩‍👩‍👧‍👦 family', 'e\u0301e\u0301e\u0301e\u0301', 'x'.repeat(1_000_000)]) {
      for (const w of [1, 2, 3, 5, 8]) {
        const c = cut(s, w)
        expect(displayWidth(c.text), `${s.slice(0, 20)} @${w}`).toBeLessThanOrEqual(w)
        expect(c.width).toBe(displayWidth(c.text))
        if (displayWidth(s) <= w) expect(c.text).toBe(s)
        else expect(c.text.endsWith('…')).toBe(true)
      }
    }
    expect(cut('👩‍👩‍👧‍👦 family', 3).text).toBe('👩‍👩‍👧‍👦…')
  })

  it('8: hostile cells cannot break a row; rows render independently of each other', () => {
    const out = renderTable([{head: 'A'}, {head: 'B'}], [['x\ny\u001b[31m', 'ok'], ['\u202eevil', 'fine']], 40)
    expect(out.split('\n')).toHaveLength(3)
    expect(out).not.toMatch(/[\u001b\u202e]/)
  })
})

describe('stats numbers add up', () => {
  it('9: breakdowns count readable records, the text adds an (unreadable) row, shares are of all messages', () => {
    const {code, json} = dlqJson(['stats', f('corrupt.ndjson')], {env})
    expect(code).toBe(0)
    expectSchema('stats', json)
    expect(json.readable + json.unreadable.count).toBe(json.total)
    for (const key of ['byReason', 'bySourceTopic', 'byConvention']) expect(json[key].reduce((n: number, c: any) => n + c.count, 0), key).toBe(json.readable)
    expect(json.byPartition).toEqual([])
    const text = dlq(['stats', f('corrupt.ndjson')], {env}).stdout
    expect(text).toMatch(/\(unreadable\)\s+\d+/)
    // Each table's shares add up to 100%.
    for (const block of text.split('\n\n').filter((b) => /SHARE/.test(b))) {
      const shares = [...block.matchAll(/(\d+\.\d)%/g)].map((m) => Number(m[1]))
      expect(Math.abs(shares.reduce((a, b) => a + b, 0) - 100)).toBeLessThan(0.5)
    }
  })

  it('9: a value the records do not give is "(not recorded)", never confused with the convention "unknown"', () => {
    const text = dlq(['stats', f('mixed.ndjson')], {env}).stdout
    expect(text).toMatch(/\(not recorded\)/)
    expect(text).not.toMatch(/\(unknown\)/)
    const {json} = dlqJson(['stats', f('mixed.ndjson')], {env})
    expect(json.byReason.some((c: any) => c.value === null)).toBe(true)
  })

  it('9: a time histogram from first to last, in buckets of one width', () => {
    const {json} = dlqJson(['stats', f('hyperi.ndjson')], {env})
    const {bucketSeconds, buckets} = json.timeline
    expect(bucketSeconds).toBeGreaterThan(0)
    expect(buckets.length).toBeGreaterThan(1)
    expect(buckets.length).toBeLessThanOrEqual(25)
    expect(buckets.reduce((n: number, b: any) => n + b.count, 0)).toBe(json.readable)
    expect(Date.parse(buckets[0].start)).toBeLessThanOrEqual(Date.parse(json.firstTimestamp))
    expect(Date.parse(buckets.at(-1).start) + bucketSeconds * 1000).toBeGreaterThan(Date.parse(json.lastTimestamp))
    for (let i = 1; i < buckets.length; i++) expect(Date.parse(buckets[i].start) - Date.parse(buckets[i - 1].start)).toBe(bucketSeconds * 1000)
    expect(dlq(['stats', f('hyperi.ndjson')], {env}).stdout).toMatch(/^TIME \(UTC, per/m)
  })
})
