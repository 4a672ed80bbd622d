import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'

const f = (name: string) => join(FIXTURES, name)
const env = {DLQ_CACHE_DIR: mkdtempSync(join(tmpdir(), 'dlq-cli-cache-'))}

describe('dlq inspect', () => {
  it('prints a page as JSON matching the schema, with the next position', () => {
    const {code, json} = dlqJson(['inspect', f('conventions.ndjson'), '--limit', '4'], {env})
    expect(code).toBe(0)
    expectSchema('inspect', json)
    expect(json.items.map((m: any) => m.convention)).toEqual(['spring', 'spring-cloud-stream', 'connect', 'streams'])
    expect(json.nextOffsetHint).toBe('4')
    expect(json.end).toBe(false)
    expect(json.items[0].source).toEqual({topic: 'orders', partition: 3, offset: 12345, group: 'order-workers', doubt: null})
    expect(json.items[2].payload.base64).toBe('AAAAACr//hA=')
  })

  it('continues from --from and reaches the end', () => {
    const {json} = dlqJson(['inspect', f('conventions.ndjson'), '--from', '9'], {env})
    expect(json.items.map((m: any) => m.position)).toEqual(['9', '10'])
    expect(json.end).toBe(true)
  })

  it('filters and shows the table with the continue hint', () => {
    const r = dlq(['inspect', f('hyperi.ndjson'), '--filter', 'reason=timeout', '--filter', 'source.topic=orders'], {env})
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/POSITION/)
    expect(r.stdout).toMatch(/shown, 12 examined; end of log/)
    const {json} = dlqJson(['inspect', f('hyperi.ndjson'), '--filter', 'reason=timeout'], {env})
    expect(json.items.every((m: any) => m.reason === 'timeout')).toBe(true)
    expect(json.items.length).toBeGreaterThan(0)
  })

  it('takes one value per repeatable flag, so the DLQ may follow it', () => {
    // Greedy, `--filter X FILE` took FILE for a second filter and failed with "Missing 1 required arg".
    const after = dlqJson(['inspect', '--filter', 'reason=timeout', '-f', 'source.topic=orders', f('hyperi.ndjson')], {env})
    const before = dlqJson(['inspect', f('hyperi.ndjson'), '--filter', 'reason=timeout', '-f', 'source.topic=orders'], {env})
    expect(after.code).toBe(0)
    expect(after.json.items.map((m: any) => m.position)).toEqual(before.json.items.map((m: any) => m.position))
    expect(after.json.items.length).toBeGreaterThan(0)
    // Two values after one flag are a usage error naming the stray one, not a second filter.
    const r = dlq(['inspect', f('hyperi.ndjson'), '--filter', 'reason=timeout', 'reason=x'], {env})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Unexpected argument: reason=x/)
  })

  it('reads a rotated directory as one log', () => {
    const {json} = dlqJson(['inspect', f('rotated/ingest'), '--from', '3', '--limit', '3'], {env})
    const {json: flat} = dlqJson(['inspect', f('hyperi.ndjson'), '--from', '3', '--limit', '3'], {env})
    expect(json.items.map((m: any) => m.payload)).toEqual(flat.items.map((m: any) => m.payload))
  })

  it('never lets hostile bytes reach the terminal raw', () => {
    for (const output of ['table', 'wide', 'json', 'ndjson']) {
      const r = dlq(['inspect', f('hostile.ndjson'), '--output', output], {env})
      expect(r.code).toBe(0)
      // eslint-disable-next-line no-control-regex
      expect(r.stdout, output).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/)
    }
    expect(dlq(['inspect', f('hostile.ndjson')], {env}).stdout).toContain('k\\e[31mred')
  })

  it('round-trips its own NDJSON output without loss', () => {
    const out = dlq(['inspect', f('mixed.ndjson'), '--output', 'ndjson', '--limit', '100'], {env})
    const dir = mkdtempSync(join(tmpdir(), 'dlq-rt-'))
    writeFileSync(join(dir, 'export.ndjson'), out.stdout)
    const a = dlqJson(['inspect', f('mixed.ndjson'), '--limit', '100'], {env}).json.items
    const b = dlqJson(['inspect', join(dir, 'export.ndjson'), '--limit', '100'], {env}).json.items
    expect(b).toHaveLength(a.length)
    for (let i = 0; i < a.length; i++) {
      const {convention, metadata, ...restB} = b[i]
      const {convention: ca, metadata: ma, ...restA} = a[i]
      expect(convention).toBe('dlq')
      expect(metadata['dlq.original-convention']).toBe(ca)
      expect(metadata['dlq.original-position']).toBe(a[i].position)
      expect(restB).toEqual(restA)
      expect(metadata).toMatchObject(ma)
    }
    expect(readFileSync(join(dir, 'export.ndjson'), 'utf8').split('\n').filter(Boolean)).toHaveLength(a.length)
  })

  it('shows corrupt lines as unreadable records and warns on stderr', () => {
    const r = dlq(['inspect', f('corrupt.ndjson')], {env})
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/record 1 is unreadable: invalid JSON/)
    expect(r.stderr).toMatch(/record 9 is unreadable: incomplete last line/)
    const {json} = dlqJson(['inspect', f('corrupt.ndjson')], {env})
    expectSchema('inspect', json)
    expect(json.unreadable.map((u: any) => u.position)).toEqual(['1', '2', '3', '4', '7', '8', '9'])
  })

  it('names the corrupt lines with no time that --since leaves out, instead of dropping them silently', () => {
    const r = dlq(['inspect', f('corrupt.ndjson'), '--since', '2020-01-01'], {env})
    expect(r.code).toBe(0)
    // Lines 1, 4, 7, 8 and 9 carry no time; 2 and 3 are unreadable but timed, so they are shown.
    expect(r.stdout.split('\n').filter((l) => /^\d+ +\d{4}-/.test(l)).map((l) => l.split(' ')[0])).toEqual(['0', '2', '3', '6'])
    expect(r.stderr).toMatch(/note: 5 unreadable records with no time of their own left out by --since\/--until \(positions 1, 4, 7, 8, 9\)/)
    // Without a time filter there is nothing to say.
    expect(dlq(['inspect', f('corrupt.ndjson')], {env}).stderr).not.toMatch(/left out/)
  })

  it.each([
    [['--limit', '5001'], 2, /the most one page may hold is 5000/],
    [['--limit', '0'], 2, /1 to 5000/],
    [['--payload-limit', '2000000'], 2, /1 MiB/],
    [['--from', 'x'], 2, /record number/],
    [['--filter', 'reason'], 2, /no operator/],
    [['--filter', 'nope=1'], 2, /unknown field "nope"/],
    [['--since', 'yesterday'], 2, /not a time/],
    [['--bogus'], 2, /bogus/],
    [['--output', 'xml'], 2, /xml/],
  ])('usage error %j → exit %i', (args, code, msg) => {
    const r = dlq(['inspect', f('hyperi.ndjson'), ...(args as string[])], {env})
    expect(r.code).toBe(code)
    expect(r.stderr).toMatch(msg as RegExp)
    expect(r.stdout).toBe('')
  })

  it('a missing source is exit 4, an unknown scheme exit 2, with JSON errors under --json', () => {
    const missing = dlqJson(['inspect', f('nope.ndjson')], {env})
    expect(missing.code).toBe(4)
    expectSchema('error', missing.json)
    expect(missing.json.error).toMatchObject({code: 'unavailable', exitCode: 4})
    expect(missing.json.error.message).toMatch(/no such file/)
    const scheme = dlqJson(['inspect', 'ftp://u:secret@h/x'], {env})
    expect(scheme.code).toBe(2)
    expect(JSON.stringify(scheme.json) + scheme.stderr).not.toContain('secret')
    const flag = dlqJson(['inspect', f('hyperi.ndjson'), '--limit', '9999'], {env})
    expect(flag.code).toBe(2)
    expectSchema('error', flag.json)
  })

  it('lists the exit codes in --help', () => {
    const r = dlq(['inspect', '--help'], {env})
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/EXIT CODES[\s\S]*130/)
  })
})

describe('dlq stats', () => {
  it('counts by reason, topic and convention, matching the schema', () => {
    const {code, json} = dlqJson(['stats', f('mixed.ndjson')], {env})
    expect(code).toBe(0)
    expectSchema('stats', json)
    expect(json.total).toBe(17)
    expect(json.byConvention.find((c: any) => c.value === 'hyperi').count).toBe(6)
    expect(json.firstTimestamp).toBe('2026-11-22T10:00:00.000Z')
  })

  it('counts unreadable lines with their positions', () => {
    const {json} = dlqJson(['stats', f('corrupt.ndjson')], {env})
    expect(json.unreadable).toEqual({count: 7, positions: ['1', '2', '3', '4', '7', '8', '9'], timeUnknown: 0})
    expect(json.total).toBe(9)
  })

  it('counts the same in parallel threads as in one (unreadable positions included)', () => {
    for (const fixture of ['corrupt.ndjson', 'mixed.ndjson', 'hyperi.ndjson']) {
      const one = dlqJson(['stats', f(fixture)], {env: {...env, DLQ_PARALLEL: '0'}}).json
      const many = dlqJson(['stats', f(fixture)], {env: {...env, DLQ_PARALLEL_MIN_BYTES: '0'}}).json
      expect(many, fixture).toEqual(one)
      const filtered = dlqJson(['stats', f(fixture), '--filter', 'reason=timeout'], {env: {...env, DLQ_PARALLEL_MIN_BYTES: '0'}}).json
      expect(filtered).toEqual(dlqJson(['stats', f(fixture), '--filter', 'reason=timeout'], {env: {...env, DLQ_PARALLEL: '0'}}).json)
    }
  })

  it('applies filters', () => {
    const {json} = dlqJson(['stats', f('hyperi.ndjson'), '--filter', 'reason=timeout'], {env})
    expect(json.byReason).toEqual([{value: 'timeout', count: json.total}])
    expect(json.filter).toEqual(['reason=timeout'])
    const table = dlq(['stats', f('hyperi.ndjson')], {env})
    expect(table.stdout).toMatch(/REASON[\s\S]*parse_error/)
  })
})
