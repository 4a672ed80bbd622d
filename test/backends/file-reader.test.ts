import {appendFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, truncateSync, writeFileSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openFileReader} from '../../src/backends/file/index.js'
import type {FileReader, FollowCursor} from '../../src/backends/file/reader.js'
import {buildFilter, MATCH_ALL} from '../../src/core/filter.js'
import {scanInBatches} from '../../src/core/reader.js'
import type {DecodedRecord} from '../../src/core/record.js'
import {UnavailableError, UsageError} from '../../src/core/errors.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dlq-file-'))
  process.env.DLQ_CACHE_DIR = join(dir, 'cache')
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const entry = (i: number, reason = i % 3 === 0 ? 'timeout' : 'parse_error') =>
  JSON.stringify({timestamp: 1_764_000_000_000 + i, service: 'svc', reason, attempts: 1, payload: Buffer.from(`msg-${i}`).toString('base64'), source: {topic: 'orders', partition: 0, offset: i}})

function write(name: string, lines: Array<string | Buffer>, raw = false): string {
  const p = join(dir, name)
  writeFileSync(p, Buffer.concat(lines.map((l) => (Buffer.isBuffer(l) ? l : Buffer.from(raw ? l : l + '\n')))))
  return p
}

async function all(path: string, filter = MATCH_ALL): Promise<DecodedRecord[]> {
  const r = await openFileReader(path)
  const out: DecodedRecord[] = []
  for await (const rec of r.scan({filter})) out.push(rec)
  await r.close()
  return out
}

describe('file reader: paging', () => {
  it('pages by record number with next and end', async () => {
    const p = write('page.ndjson', Array.from({length: 10}, (_, i) => entry(i)))
    const r = await openFileReader(p)
    const a = await r.page({from: null, limit: 4, filter: MATCH_ALL})
    expect(a.records.map((x) => x.position)).toEqual(['0', '1', '2', '3'])
    expect([a.next, a.atEnd]).toEqual(['4', false])
    const b = await r.page({from: '8', limit: 4, filter: MATCH_ALL})
    expect(b.records.map((x) => x.payload?.toString())).toEqual(['msg-8', 'msg-9'])
    expect([b.next, b.atEnd]).toEqual(['10', true])
    const f = await r.page({from: '1', limit: 2, filter: buildFilter({filters: ['reason=timeout']})})
    expect(f.records.map((x) => x.position)).toEqual(['3', '6'])
    expect(f.next).toBe('7')
    expect(f.scanned).toBe(6)
    expect((await r.bounds()).count).toBe(10)
    await r.close()
  })

  it('rejects a malformed position', async () => {
    const r = await openFileReader(write('pos.ndjson', [entry(0)]))
    await expect(r.page({from: '1:2', limit: 1, filter: MATCH_ALL})).rejects.toBeInstanceOf(UsageError)
    expect(() => r.parsePosition('-1')).toThrow(/record number/)
    await r.close()
  })

  it('get() returns only positions that exist', async () => {
    const r = await openFileReader(write('get.ndjson', [entry(0), '', entry(2)]))
    const got = await r.get(['0', '1', '2', '9'])
    expect([...got.keys()]).toEqual(['0', '2'])
    await r.close()
  })

  it('finds a page deep in a large file through the index, and keeps it across appends', async () => {
    const p = write('big.ndjson', Array.from({length: 20_000}, (_, i) => entry(i)))
    const first = await openFileReader(p)
    const a = await first.page({from: '15000', limit: 2, filter: MATCH_ALL})
    expect(a.records.map((x) => x.payload?.toString())).toEqual(['msg-15000', 'msg-15001'])
    await first.close()
    const idxFiles = readdirSync(join(dir, 'cache', 'index'))
    expect(idxFiles.length).toBeGreaterThan(0)
    appendFileSync(p, Array.from({length: 10}, (_, i) => entry(20_000 + i) + '\n').join(''))
    const second = await openFileReader(p)
    expect((await second.page({from: '20005', limit: 1, filter: MATCH_ALL})).records[0].payload?.toString()).toBe('msg-20005')
    await second.close()
    // Rewriting the start invalidates the index: results must still be right.
    const lines = readFileSync(p, 'utf8').split('\n')
    lines[0] = entry(0, 'rewritten-and-longer-than-before')
    writeFileSync(p, lines.join('\n'))
    const third = await openFileReader(p)
    expect((await third.page({from: '15000', limit: 1, filter: MATCH_ALL})).records[0].payload?.toString()).toBe('msg-15000')
    await third.close()
  })

  it('the raw-byte prefilter never changes the result', async () => {
    const lines = [
      entry(0, 'timeout'),
      entry(1, 'time\\u006fut'.replace('\\\\', '\\')),
      JSON.stringify({key: 'k', value: 'v', headers: {'stroma.dlq.reason': {base64: Buffer.from('timeout').toString('base64')}, 'stroma.dlq.source_topic': 'x'}}),
      JSON.stringify({key: 'k', value: 'v', headers: {'stroma.dlq.reason': 'timeouts'}}),
      entry(4, 'other'),
    ]
    // entry 1: the JSON escape \u006f is "o", so its reason is "timeout" although the bytes differ.
    lines[1] = lines[1].replace('"reason":"time\\\\u006fut"', '"reason":"time\\u006fut"')
    const p = write('prefilter.ndjson', lines)
    const got = await all(p, buildFilter({filters: ['reason=timeout']}))
    expect(got.map((r) => r.position)).toEqual(['0', '1', '2'])
  })
})

describe('file reader: counting a growing file', () => {
  it('counts asked for while the file grows end at its real count, whatever order they finish in', async () => {
    const path = write('growing-count.ndjson', Array.from({length: 20_000}, (_, i) => entry(i)))
    const r = await openFileReader(path)
    try {
      let lines = 20_000
      for (let round = 0; round < 8; round++) {
        // A first count starts, the writer appends, a second count starts before the first is done (browse in follow mode).
        const first = r.bounds()
        for (let t = 0; t < round; t++) await new Promise((go) => setImmediate(go))
        appendFileSync(path, entry(lines) + '\n' + entry(lines + 1) + '\n')
        lines += 2
        const second = r.bounds()
        await Promise.all([first, second])
        expect((await second).count).toBe(lines)
        expect((await r.bounds()).count).toBe(lines)
      }
    } finally {
      await r.close()
    }
  })
})

describe('file reader: bad input never stops the read', () => {
  it('reports each corrupt line with its position and reads on', async () => {
    const good = entry(0)
    const p = write(
      'corrupt.ndjson',
      [
        Buffer.from('\ufeff' + good + '\n'), // BOM at file start
        Buffer.from('{not json\n'),
        Buffer.from(JSON.stringify({...JSON.parse(good), attempts: 'x'}) + '\n'),
        Buffer.from(JSON.stringify({...JSON.parse(good), payload: '***'}) + '\n'),
        Buffer.concat([Buffer.from('{"key":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","value":"x","headers":{}}\n')]),
        Buffer.from(good + '\r\n'), // CRLF
        Buffer.from('\n'), // blank: keeps its number, not shown
        Buffer.from(good.slice(0, 40)), // truncated last line still being written
      ],
      true,
    )
    const recs = await all(p)
    expect(recs.map((r) => [r.position, r.unreadable === null])).toEqual([
      ['0', true],
      ['1', false],
      ['2', false],
      ['3', false],
      ['4', false],
      ['5', true],
      ['7', false],
    ])
    expect(recs[1].unreadable).toMatch(/invalid JSON/)
    expect(recs[2].unreadable).toMatch(/"attempts"/)
    expect(recs[3].unreadable).toMatch(/base64/)
    expect(recs[4].unreadable).toMatch(/UTF-8/)
    expect(recs[6].unreadable).toMatch(/incomplete last line/)
    expect(recs[1].payload?.toString()).toBe('{not json')
  })

  it('reads a 20 MB line and the lines after it', async () => {
    const big = JSON.stringify({timestamp: 1, service: 's', reason: 'huge', attempts: 0, payload: Buffer.alloc(15 * 1024 * 1024, 0x61).toString('base64')})
    expect(big.length).toBeGreaterThan(20_000_000)
    const p = write('big-line.ndjson', [entry(0), big, entry(2)])
    const recs = await all(p)
    expect(recs.map((r) => r.position)).toEqual(['0', '1', '2'])
    expect(recs[1].payload?.length).toBe(15 * 1024 * 1024)
    expect(recs[2].payload?.toString()).toBe('msg-2')
  })

  it('reports a line over the 64 MiB limit as unreadable, with its size, and reads on', async () => {
    const p = join(dir, 'huge-line.ndjson')
    writeFileSync(p, entry(0) + '\n')
    appendFileSync(p, Buffer.alloc(65 * 1024 * 1024, 0x62))
    appendFileSync(p, '\n' + entry(2) + '\n')
    const recs = await all(p)
    expect(recs.map((r) => r.position)).toEqual(['0', '1', '2'])
    expect(recs[1].unreadable).toMatch(/longer than the 64 MiB limit/)
    expect(recs[1].payloadSize).toBe(65 * 1024 * 1024)
    expect(recs[2].payload?.toString()).toBe('msg-2')
  })
})

describe('file reader: gzip and rotated directories', () => {
  it('reads a .ndjson.gz file transparently', async () => {
    const p = join(dir, 'one.ndjson.gz')
    writeFileSync(p, gzipSync(Array.from({length: 5}, (_, i) => entry(i) + '\n').join('')))
    const recs = await all(p)
    expect(recs.map((r) => r.payload?.toString())).toEqual(['msg-0', 'msg-1', 'msg-2', 'msg-3', 'msg-4'])
  })

  it('keeps record numbers when the live file is rotated and old files are gzipped', async () => {
    const d = join(dir, 'rot', 'svc')
    mkdirSync(d, {recursive: true})
    const live = join(d, 'dlq.ndjson')
    writeFileSync(live, [0, 1, 2].map((i) => entry(i) + '\n').join(''))
    const before = await all(d)
    expect(before.map((r) => r.payload?.toString())).toEqual(['msg-0', 'msg-1', 'msg-2'])

    renameSync(live, join(d, 'dlq.ndjson.20261122T100000'))
    writeFileSync(live, [3, 4].map((i) => entry(i) + '\n').join(''))
    const r1 = await openFileReader(d)
    expect((await r1.page({from: '1', limit: 1, filter: MATCH_ALL})).records[0].payload?.toString()).toBe('msg-1')
    expect((await r1.page({from: '3', limit: 5, filter: MATCH_ALL})).records.map((r) => r.payload?.toString())).toEqual(['msg-3', 'msg-4'])
    await r1.close()

    // second rotation with a collision counter, then the oldest is compressed
    renameSync(live, join(d, 'dlq.ndjson.20261122T100000.1'))
    writeFileSync(live, entry(5) + '\n')
    const rotated = join(d, 'dlq.ndjson.20261122T100000')
    writeFileSync(rotated + '.gz', gzipSync(readFileSync(rotated)))
    rmSync(rotated)
    const after = await all(d)
    expect(after.map((r) => [r.position, r.payload?.toString()])).toEqual([
      ['0', 'msg-0'],
      ['1', 'msg-1'],
      ['2', 'msg-2'],
      ['3', 'msg-3'],
      ['4', 'msg-4'],
      ['5', 'msg-5'],
    ])
  })

  it('a directory of service directories is read service by service, positions SERVICE:N', async () => {
    mkdirSync(join(dir, 'root', 'b'), {recursive: true})
    mkdirSync(join(dir, 'root', 'a'), {recursive: true})
    mkdirSync(join(dir, 'root', 'not-a-service'), {recursive: true})
    writeFileSync(join(dir, 'root', 'a', 'dlq.ndjson.20261122T100000'), entry(0) + '\n')
    writeFileSync(join(dir, 'root', 'a', 'dlq.ndjson'), entry(1) + '\n')
    writeFileSync(join(dir, 'root', 'b', 'dlq.ndjson'), [2, 3, 4].map((i) => entry(i) + '\n').join(''))
    writeFileSync(join(dir, 'root', 'b', 'dlq.ndjson.old'), entry(9) + '\n')
    mkdirSync(join(dir, 'root', 'c'))
    writeFileSync(join(dir, 'root', 'c', 'dlq.ndjson.2026'), entry(9) + '\n')
    const r = await openFileReader(join(dir, 'root'))
    expect(r.info.kind).toBe('services')
    expect(r.warnings).toEqual([
      expect.stringMatching(/root\/c: no DLQ files here .*dlq\.ndjson\.2026: looks like a rotated DLQ file.*; service c skipped/),
      expect.stringMatching(/root\/b\/dlq\.ndjson\.old: looks like a rotated DLQ file but is not named as hyperi-rustlib names them/),
    ])
    const all: string[] = []
    for await (const rec of r.scan({filter: MATCH_ALL})) all.push(`${rec.position}=${rec.payload}`)
    expect(all).toEqual(['a:0=msg-0', 'a:1=msg-1', 'b:0=msg-2', 'b:1=msg-3', 'b:2=msg-4'])
    const p = await r.page({from: 'a:1', limit: 2, filter: MATCH_ALL})
    expect([p.records.map((x) => x.position), p.next, p.atEnd]).toEqual([['a:1', 'b:0'], 'b:1', false])
    // A page full at the end of a service continues there (what it gets meanwhile is not skipped).
    const full = await r.page({from: 'a:0', limit: 2, filter: MATCH_ALL})
    expect([full.records.map((x) => x.position), full.next, full.atEnd]).toEqual([['a:0', 'a:1'], 'a:2', false])
    expect((await r.page({from: full.next, limit: 1, filter: MATCH_ALL})).records.map((x) => x.position)).toEqual(['b:0'])
    const end = await r.page({from: 'b:1', limit: 5, filter: MATCH_ALL})
    expect([end.records.map((x) => x.position), end.next, end.atEnd]).toEqual([['b:1', 'b:2'], 'b:3', true])
    expect(await r.bounds()).toEqual({first: 'a:0', last: 'b:2', count: 5})
    const got = await r.get(['b:2', 'a:5', 'c:0', 'a:0'])
    expect([...got.keys()].sort()).toEqual(['a:0', 'b:2'])
    expect(got.get('b:2')!.payload?.toString()).toBe('msg-4')
    const back = await r.pageBefore!({before: 'b:1', limit: 2, filter: MATCH_ALL})
    expect([back.records.map((x) => x.position), back.from, back.atStart]).toEqual([['a:1', 'b:0'], 'a:1', false])
    const head = await r.pageBefore!({before: 'a:1', limit: 5, filter: MATCH_ALL})
    expect([head.records.map((x) => x.position), head.atStart]).toEqual([['a:0'], true])
    expect(() => r.parsePosition('3')).toThrow(UsageError)
    await expect(r.page({from: 'zz:0', limit: 1, filter: MATCH_ALL})).rejects.toThrow(/no service "zz"/)
    await r.close()
  })

  it('waits for a .gz the writer is still finishing (file-rotate removes the plain file before the gzip trailer)', async () => {
    const d = join(dir, 'gz-window')
    mkdirSync(d)
    const text = Array.from({length: 3000}, (_, i) => entry(i) + '\n').join('')
    const gz = gzipSync(text)
    const name = join(d, 'dlq.ndjson.20261122T100000.gz')
    writeFileSync(name, gz.subarray(0, gz.length - 200))
    writeFileSync(join(d, 'dlq.ndjson'), entry(3000) + '\n')
    const r = await openFileReader(d)
    setTimeout(() => appendFileSync(name, gz.subarray(gz.length - 200)), 150)
    const out: string[] = []
    for await (const rec of r.scan({filter: MATCH_ALL})) out.push(`${rec.position}:${rec.unreadable ?? rec.payload}`)
    await r.close()
    expect(out).toEqual(Array.from({length: 3001}, (_, i) => `${i}:msg-${i}`))
  })

  it('a read holds the files it listed: a rotated file removed or gzipped meanwhile is still read from its descriptor', async () => {
    const d = join(dir, 'held')
    mkdirSync(d)
    writeFileSync(join(d, 'dlq.ndjson.20261120T000000'), [0, 1].map((i) => entry(i) + '\n').join(''))
    writeFileSync(join(d, 'dlq.ndjson.20261121T000000'), [2, 3].map((i) => entry(i) + '\n').join(''))
    writeFileSync(join(d, 'dlq.ndjson'), entry(4) + '\n')
    const r = await openFileReader(d)
    rmSync(join(d, 'dlq.ndjson.20261120T000000'))
    const second = join(d, 'dlq.ndjson.20261121T000000')
    writeFileSync(second + '.gz', gzipSync(readFileSync(second)))
    rmSync(second)
    const out: string[] = []
    for await (const rec of r.scan({filter: MATCH_ALL})) out.push(`${rec.position}:${rec.payload}`)
    expect(out).toEqual(['0:msg-0', '1:msg-1', '2:msg-2', '3:msg-3', '4:msg-4'])
    // A rotation seen at the end of the live file: the renamed file's later lines, then the new live file.
    appendFileSync(join(d, 'dlq.ndjson'), entry(5) + '\n')
    renameSync(join(d, 'dlq.ndjson'), join(d, 'dlq.ndjson.20261122T000000'))
    writeFileSync(join(d, 'dlq.ndjson'), entry(6) + '\n')
    expect((await r.page({from: '4', limit: 10, filter: MATCH_ALL})).records.map((x) => `${x.position}:${x.payload}`)).toEqual(['4:msg-4', '5:msg-5', '6:msg-6'])
    expect((await r.bounds()).count).toBe(7)
    await r.close()
  })

  it('a missing path, or an empty directory that is not recognisably a DLQ, is unavailable', async () => {
    await expect(openFileReader(join(dir, 'nope.ndjson'))).rejects.toBeInstanceOf(UnavailableError)
    // Its parent holds other files: nothing says it is a service directory.
    mkdirSync(join(dir, 'empty'))
    await expect(openFileReader(join(dir, 'empty'))).rejects.toThrow(/no DLQ files here \(expected dlq\.ndjson/)
    // A directory of other files, and one whose subdirectories hold other files, are no DLQ either.
    mkdirSync(join(dir, 'other', 'sub'), {recursive: true})
    writeFileSync(join(dir, 'other', 'sub', 'notes.txt'), 'x')
    await expect(openFileReader(join(dir, 'other'))).rejects.toThrow(/no DLQ files here \(expected dlq\.ndjson/)
    writeFileSync(join(dir, 'other', 'notes.txt'), 'x')
    await expect(openFileReader(join(dir, 'other'))).rejects.toThrow(/no DLQ files here \(expected dlq\.ndjson/)
  })

  it('a services root or service directory with no DLQ file yet is an empty DLQ, read as what it becomes once one appears', async () => {
    const root = join(dir, 'spool')
    mkdirSync(join(root, 'ingest'), {recursive: true})
    mkdirSync(join(root, 'lost+found'))
    const r = await openFileReader(root)
    expect(r.info.kind).toBe('services')
    expect(r.warnings).toEqual([expect.stringMatching(/spool: no DLQ file yet \(a services root.*read as an empty DLQ/)])
    expect(await r.bounds()).toEqual({first: null, last: null, count: 0})
    expect((await r.page({limit: 5, filter: MATCH_ALL})).records).toEqual([])
    expect((await r.get(['ingest:0'])).size).toBe(0)
    // A service directory: in a services root, or holding dlq's ledger, or the crate's default root's name.
    const svc = await openFileReader(join(root, 'ingest'))
    expect([svc.info.kind, (await svc.bounds()).count]).toEqual(['directory', 0])
    mkdirSync(join(dir, 'replayed'))
    writeFileSync(join(dir, 'replayed', 'dlq-replay-ledger.ndjson'), '')
    expect((await openFileReader(join(dir, 'replayed'))).info.kind).toBe('directory')
    mkdirSync(join(dir, 'dlq'))
    expect((await openFileReader(join(dir, 'dlq'))).info.kind).toBe('services')
    writeFileSync(join(root, 'ingest', 'dlq.ndjson'), entry(0) + '\n' + entry(1) + '\n')
    expect((await r.page({limit: 5, filter: MATCH_ALL})).records.map((x) => x.position)).toEqual(['ingest:0', 'ingest:1'])
    expect((await svc.page({limit: 5, filter: MATCH_ALL})).records.map((x) => x.position)).toEqual(['0', '1'])
    await r.close()
    await svc.close()
  })
})

describe('file reader: following a file truncated in place', () => {
  /** Every record one follow step yields (a step reads what changed since the last look). */
  async function step(r: FileReader, cursor: FollowCursor): Promise<string[]> {
    const out: string[] = []
    const it = r.followStep(cursor, MATCH_ALL, new AbortController().signal)
    for (let s = await it.next(); !s.done; s = await it.next()) out.push(Buffer.from(s.value.payload!).toString())
    return out
  }

  it('truncated and written again past its old length between two looks: read from its start, said once', async () => {
    const p = write('truncate-longer.ndjson', [entry(0), entry(1)])
    const r = (await openFileReader(p)) as FileReader
    const cursor = await r.followStart()
    expect(await step(r, cursor)).toEqual([])
    appendFileSync(p, entry(2) + '\n')
    expect(await step(r, cursor)).toEqual(['msg-2'])
    // The same inode, shorter for a moment, then longer than before: only its first bytes tell.
    writeFileSync(p, [10, 11, 12, 13].map((i) => entry(i) + '\n').join(''))
    const after: string[] = []
    for (let i = 0; i < 3; i++) after.push(...(await step(r, cursor)))
    expect(after).toEqual(['msg-10', 'msg-11', 'msg-12', 'msg-13'])
    expect(r.warnings.filter((w) => /truncated in place/.test(w))).toHaveLength(1)
    await r.close()
  })

  it('truncated and written again past its old length before the first look (while the backlog prints): read from its start', async () => {
    const p = write('truncate-before-first-look.ndjson', [entry(0), entry(1)])
    const r = (await openFileReader(p)) as FileReader
    const cursor = await r.followStart()
    expect(cursor.next).toBe(2)
    // Nothing was looked at since the follow started: the first bytes kept at its start tell.
    writeFileSync(p, [10, 11, 12, 13].map((i) => entry(i) + '\n').join(''))
    const after: string[] = []
    for (let i = 0; i < 3; i++) after.push(...(await step(r, cursor)))
    expect(after).toEqual(['msg-10', 'msg-11', 'msg-12', 'msg-13'])
    expect(r.warnings.filter((w) => /truncated in place/.test(w))).toHaveLength(1)
    await r.close()
  })

  it('a torn last line cut back and written whole by its writer is not a truncation: nothing is read twice', async () => {
    const whole = [entry(0), entry(1), entry(2)].map((l) => l + '\n').join('')
    const p = write('torn-tail.ndjson', [Buffer.from(whole + entry(99).slice(0, 40))])
    const r = (await openFileReader(p)) as FileReader
    const cursor = await r.followStart()
    expect(cursor.next).toBe(3)
    // The writer mends its torn write: back to the last newline, then the record whole.
    truncateSync(p, Buffer.byteLength(whole))
    appendFileSync(p, entry(3) + '\n')
    const after: string[] = []
    for (let i = 0; i < 3; i++) after.push(...(await step(r, cursor)))
    expect(after).toEqual(['msg-3'])
    expect(r.warnings.filter((w) => /truncated in place/.test(w))).toHaveLength(0)
    await r.close()
  })

  it('a follow closed before it looked again does not leave the old line index for the file written anew', async () => {
    const p = write('truncate-close.ndjson', Array.from({length: 1500}, (_, i) => entry(i)))
    const r = (await openFileReader(p)) as FileReader
    const cursor = await r.followStart()
    expect(await step(r, cursor)).toEqual([])
    // Written anew with longer lines, and the follow stopped (Ctrl-C) before its next look.
    writeFileSync(p, Array.from({length: 1500}, (_, i) => entry(100_000 + i)).join('\n') + '\n')
    await r.close()
    const again = await openFileReader(p)
    const page = await again.page({from: '1100', limit: 2, filter: MATCH_ALL})
    expect(page.records.map((x) => Buffer.from(x.payload!).toString())).toEqual(['msg-101100', 'msg-101101'])
    await again.close()
  })
})

describe('file reader: scanning a batch at a time', () => {
  it('scanBatches yields exactly what scan does, in order, over several batches and with a filter; scanInBatches falls back to scan', async () => {
    const n = 20_000
    const p = write('batches.ndjson', Array.from({length: n}, (_, i) => (i === 777 ? '{not json' : entry(i))))
    // Timeouts are every third entry; line 777 (one of them) is corrupt.
    const timeouts = Array.from({length: n}, (_, i) => i).filter((i) => i % 3 === 0 && i !== 777).length
    const timeout = buildFilter({filters: ['reason=timeout']})
    for (const filter of [MATCH_ALL, timeout]) {
      const r = await openFileReader(p)
      const batches: DecodedRecord[][] = []
      for await (const b of r.scanBatches({filter})) batches.push(b)
      await r.close()
      const flat = batches.flat()
      expect(batches.length).toBeGreaterThan(1)
      expect(batches.every((b) => b.length > 0)).toBe(true)
      expect(flat.map((x) => `${x.position}:${x.unreadable === null ? x.payload : 'unreadable'}`)).toEqual((await all(p, filter)).map((x) => `${x.position}:${x.unreadable === null ? x.payload : 'unreadable'}`))
      expect(flat.length).toBe(filter === MATCH_ALL ? n : timeouts)
    }
    // A reader without batches (a Kafka or Redis one, or a wrapper) is read through scan, one record per batch.
    const r = await openFileReader(p)
    const plain = {...r, scanBatches: undefined, scan: (req: Parameters<FileReader['scan']>[0]) => r.scan(req)} as unknown as FileReader
    let seen = 0
    for await (const b of scanInBatches(plain, {filter: timeout})) seen += b.length
    await r.close()
    expect(seen).toBe(timeouts)
  })
})
