import {execFileSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'
import {dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'

/**
 * The bad-input corpus of issue 14: one case per item. Each input is made here, in a temp
 * directory, and read by the built CLI; none of them may stop a read, hang it, or leak.
 * Every CLI call has a timeout, so a hang fails the test instead of the run.
 */
const tmp = mkdtempSync(join(tmpdir(), 'dlq-hardening-'))
const env = {DLQ_CACHE_DIR: join(tmp, 'cache')}
const HYPERI = join(FIXTURES, 'hyperi.ndjson')
const HYPERI_LINES = readFileSync(HYPERI, 'utf8').trim().split('\n').length

function hyperi(timestamp: number, payload: string): string {
  return JSON.stringify({timestamp, service: 'svc', reason: 'parse_error', attempts: 1, payload: Buffer.from(payload).toString('base64')})
}

function dir(name: string): string {
  const d = join(tmp, name)
  mkdirSync(d, {recursive: true})
  return d
}

describe('issue 14, bad input', () => {
  it('1: timestamps beyond a Date or negative are unknown everywhere, and stats still counts', () => {
    const file = join(tmp, 'times.ndjson')
    writeFileSync(file, [hyperi(8640000000000001, 'a'), hyperi(-1, 'b'), hyperi(1700000000000, 'c')].join('\n') + '\n')
    const stats = dlqJson(['stats', file], {env})
    expect(stats.code, stats.stderr).toBe(0)
    expect(stats.json.total).toBe(3)
    expect(stats.json.firstTimestamp).toBe('2023-11-14T22:13:20.000Z')
    expect(stats.json.lastTimestamp).toBe('2023-11-14T22:13:20.000Z')
    const page = dlqJson(['inspect', file], {env})
    expectSchema('inspect', page.json)
    expectSchema('stats', stats.json)
    expect(page.json.items.map((m: any) => m.timestamp)).toEqual([null, null, '2023-11-14T22:13:20.000Z'])
    // The stored number is not lost: it is kept in metadata.
    expect(page.json.items[0].metadata['dlq.invalid-timestamp']).toBe(8640000000000001)
    expect(page.json.items[1].metadata['dlq.invalid-timestamp']).toBe(-1)
    const table = dlq(['inspect', file], {env})
    expect(table.stdout).not.toMatch(/1969/)
    const filtered = dlqJson(['inspect', file, '--since', '2000-01-01'], {env})
    expect(filtered.json.items).toHaveLength(1)
  })

  it('2: a filter on a JSON payload nested 5000 deep does not overflow the stack', () => {
    const file = join(tmp, 'deep.ndjson')
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)
    writeFileSync(file, [hyperi(1700000000000, deep), hyperi(1700000000001, '{"a":{"a":1}}')].join('\n') + '\n')
    const r = dlqJson(['inspect', file, '--filter', 'payload.a.a=1'], {env})
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.items.map((m: any) => m.position)).toEqual(['1'])
    const s = dlqJson(['stats', file, '--filter', 'payload.a!=x'], {env})
    expect(s.code, s.stderr).toBe(0)
  })

  it('3: FIFOs, devices and directories named like DLQ files are skipped with a warning; --store refuses them', () => {
    const d = dir('specials')
    copyFileSync(HYPERI, join(d, 'dlq.ndjson'))
    execFileSync('mkfifo', [join(d, 'dlq.ndjson.20260101T000000')])
    symlinkSync('/dev/zero', join(d, 'dlq.ndjson.20260101T000001'))
    symlinkSync('/dev/urandom', join(d, 'dlq.ndjson.20260101T000002.gz'))
    symlinkSync(tmp, join(d, 'dlq.ndjson.20260101T000003'))
    for (const cmd of ['inspect', 'stats']) {
      const r = dlq([cmd, d, '--json'], {env, timeout: 20_000})
      expect(r.code, r.stderr).toBe(0)
      for (const n of ['000000', '000001', '000002.gz', '000003']) expect(r.stderr).toContain(`dlq.ndjson.20260101T${n}`)
      expect(r.stderr).toMatch(/named pipe/)
      expect(r.stderr).toMatch(/a device/)
      expect(r.stderr).toMatch(/a directory/)
      const doc = JSON.parse(r.stdout)
      expectSchema(cmd, doc)
      expect(doc.warnings).toHaveLength(4)
      if (cmd === 'stats') expect(doc.total).toBe(HYPERI_LINES)
    }
    const fifo = join(tmp, 'store.fifo')
    execFileSync('mkfifo', [fifo])
    for (const store of [fifo, '/dev/zero', tmp]) {
      const r = dlq(['global-target', 'get', '--store', store], {env, timeout: 20_000})
      expect(r.code, `${store}: ${r.stderr}`).toBe(4)
      expect(r.stderr).toMatch(/not a regular file/)
    }
    // A lock file whose owner is unreadable says so, never "since undefined".
    const settings = join(tmp, 'settings.json')
    writeFileSync(settings + '.lock', '{"pid": 1}')
    const locked = dlq(['global-target', 'set', 'orders', '--store', settings], {env: {...env, DLQ_LOCK_WAIT_MS: '500'}, timeout: 40_000})
    expect(locked.code).toBe(4)
    expect(locked.stderr).not.toMatch(/undefined/)
  }, 90_000)

  it('4: damaged gzip files keep the records before the damage, name the file, and the rest of the directory is read', () => {
    const d = dir('gz')
    const text = readFileSync(HYPERI)
    const gz = gzipSync(text)
    writeFileSync(join(d, 'dlq.ndjson.20260101T000000.gz'), gz.subarray(0, gz.length - 30)) // truncated
    writeFileSync(join(d, 'dlq.ndjson.20260101T000001.gz'), text) // not gzip at all
    writeFileSync(join(d, 'dlq.ndjson.20260101T000002.gz'), Buffer.concat([gz, Buffer.from('trailing bytes\n')]))
    copyFileSync(HYPERI, join(d, 'dlq.ndjson'))
    const all = dlqJson(['inspect', d, '--limit', '1000'], {env})
    expect(all.code, all.stderr).toBe(0)
    expectSchema('inspect', all.json)
    const bad = all.json.items.filter((m: any) => m.unreadable)
    expect(bad.map((m: any) => m.unreadable).join('\n')).toMatch(/20260101T000000\.gz: the gzip data ends early/)
    expect(bad.map((m: any) => m.unreadable).join('\n')).toMatch(/20260101T000001\.gz: not gzip data/)
    expect(bad.map((m: any) => m.unreadable).join('\n')).toMatch(/20260101T000002\.gz: corrupt gzip data/)
    // The trailing-bytes file and the live file are read in full; the truncated one up to its break.
    const good = all.json.items.filter((m: any) => !m.unreadable)
    expect(good.length).toBeGreaterThanOrEqual(2 * HYPERI_LINES + HYPERI_LINES - 2)
    expect(all.json.items.at(-1).reason).not.toBeNull()
    // A page in a later file is found even though earlier files are damaged.
    const last = Number(all.json.items.at(-1).position)
    const later = dlqJson(['inspect', d, '--from', String(last - 1)], {env})
    expect(later.code, later.stderr).toBe(0)
    expect(later.json.items.map((m: any) => m.position)).toEqual([String(last - 1), String(last)])
    const stats = dlqJson(['stats', d], {env})
    expect(stats.code).toBe(0)
    expect(stats.json.unreadable.count).toBe(bad.length)
  })

  it('4: a large gzip member followed by garbage loses none of its records', () => {
    const d = dir('gz-large')
    const lines = Array.from({length: 30_000}, (_, i) => hyperi(1700000000000 + i, `{"n":${i},"pad":"${'x'.repeat(100 + (i % 50))}"}`))
    writeFileSync(join(d, 'dlq.ndjson.20260101T000000.gz'), Buffer.concat([gzipSync(lines.join('\n') + '\n'), Buffer.from('garbage after the member')]))
    const s = dlqJson(['stats', d], {env})
    expect(s.code, s.stderr).toBe(0)
    expect(s.json.readable).toBe(30_000)
    expect(s.json.unreadable.count).toBe(1)
    const tail = dlqJson(['inspect', d, '--from', '29999'], {env})
    expect(tail.json.items.map((m: any) => [m.position, m.unreadable ?? null])).toEqual([
      ['29999', null],
      ['30000', expect.stringMatching(/corrupt gzip data/)],
    ])
  })

  it('5: metadata.NAME and payload.PATH see own fields only, never prototype properties', () => {
    for (const expr of ['metadata.constructor~native', 'metadata.__proto__~Object', 'payload.constructor~native', 'payload.toString~.']) {
      const r = dlqJson(['inspect', HYPERI, '--filter', expr], {env})
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.items, expr).toHaveLength(0)
    }
    const own = dlqJson(['inspect', HYPERI, '--filter', 'metadata.service~.'], {env})
    expect(own.json.items.length).toBe(HYPERI_LINES)
  })

  it('6: a config file that is not JSON is named with line and column, its content (a password) never printed', () => {
    const config = join(tmp, 'config.json')
    writeFileSync(config, '{\n  "profiles": {"prod": {"redis": {"password": hunter2-secret}}}\n}\n')
    const r = dlq(['inspect', 'redis://127.0.0.1:1/s'], {env: {...env, DLQ_CONFIG: config, DLQ_PROFILE: 'prod'}})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(config)
    expect(r.stderr).toMatch(/line 2, column \d+/)
    expect(r.stderr).not.toMatch(/hunter2/)
    const j = dlq(['inspect', 'redis://127.0.0.1:1/s', '--json'], {env: {...env, DLQ_CONFIG: config, DLQ_PROFILE: 'prod'}})
    expect(j.stdout + j.stderr).not.toMatch(/hunter2/)
  })

  it.each([
    // The mistake's own place, whatever V8 says of it (its messages differ between Node 20 and 24).
    ['a stray word after a complete member', '{\n  "profiles": {\n    "p": {"redis": {"password": "s3cretpw"}}\n  },\n  oops\n}\n', 'line 5, column 3'],
    ['a trailing comma', '{"profiles": {"p": {}},\n}', 'line 2, column 1'],
    ['a value that is not JSON', '{"profiles": {"p": {"redis": {"password": s3cretpw}}}}', 'line 1, column 43'],
    ['a file cut short', '{"profiles": {"p": {"redis": {"password": "s3cretpw"', 'line 1, column 53 (the text ends early)'],
  ])('6: %s is placed where it is', (_what, text, place) => {
    const config = join(tmp, 'config-place.json')
    writeFileSync(config, text)
    const r = dlq(['inspect', 'redis://127.0.0.1:1/s'], {env: {...env, DLQ_CONFIG: config, DLQ_PROFILE: 'p'}})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`syntax error at ${place}`)
    expect(r.stderr).not.toMatch(/s3cretpw/)
  })
})

describe('replay: command lines that would silently do something else are usage errors (exit 2), before anything is opened', () => {
  const base = ['replay', HYPERI, '--offset', '0', '--yes']
  it.each([
    // The topic would be ignored and each message sent to its recorded source topic.
    [['--sink', 'kafka://127.0.0.1:1/other-topic'], /--sink kafka:\/\/127\.0\.0\.1:1\/other-topic names a topic \("other-topic"\): --sink is the store/],
    [['--sink', 'redis://127.0.0.1:1/9/other-stream'], /names a stream \("other-stream"\)/],
    // `--to "$TARGET"` with TARGET unset.
    [['--sink', 'redis://127.0.0.1:1', '--to', ''], /--to: the topic name is empty/],
    [['--sink', 'redis://127.0.0.1:1', '--to', '  '], /--to: the topic name is empty/],
  ])('%j', (extra, message) => {
    const r = dlq([...base, ...extra], {env})
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(message)
  })

  it('a database number alone is a store (redis://host:port/db), not a stream', () => {
    // Port 1 refuses: the error is about reaching the store, not the URI.
    const r = dlq([...base, '--sink', 'redis://127.0.0.1:1/9'], {env})
    expect(r.code).toBe(4)
    expect(r.stderr).not.toMatch(/names a stream/)
  })

  it('a service directory named with a terminal escape is shown escaped in every footer, warning and count, never raw', () => {
    const root = dir('hostile-root')
    const svc = join(root, 'x\u001b[31my')
    mkdirSync(svc)
    writeFileSync(join(svc, 'dlq.ndjson'), hyperi(1_764_000_004_000, 'p4') + '\ngarbage\n')
    for (const args of [['inspect', root], ['inspect', root, '--output', 'ndjson'], ['stats', root], ['tail', root], ['check', root, '--max', '5']]) {
      const r = dlq(args, {env})
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      expect(r.stdout + r.stderr, args.join(' ')).not.toContain('\u001b')
      if (args[0] !== 'check') expect(r.stdout + r.stderr, args.join(' ')).toContain('x\\e[31my:')
    }
  })
})

