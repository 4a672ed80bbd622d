import {render} from 'ink-testing-library'
import {appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {isAbsolute, join} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {openFileReader} from '../../src/backends/file/index.js'
import type {DlqReader} from '../../src/core/reader.js'
import {BrowseApp} from '../../src/tui/browse-app.js'
import {KEY_MAP} from '../../src/tui/keymap.js'
import type {PlanView, ReplayPort, ResultView} from '../../src/tui/replay-port.js'
import {FIXTURES} from '../helpers/cli.js'
import {ANSI, frameWhere, frameWith, press, strip, type InkApp} from '../helpers/ink.js'

const PLAN: PlanView = {
  sink: 'redis://127.0.0.1:16379/0',
  send: 2,
  skip: 1,
  byTarget: [{topic: 'payments', partition: null, count: 2}],
  removedHeaders: ['kafka_dlt-original-offset', 'kafka_dlt-original-topic'],
  skipped: {already_replayed: 1},
  notes: [{position: '3', text: 'skipped (already_replayed): replayed to payments at 1-0'}],
}

const RESULT: ResultView = {
  requested: 3,
  replayed: 2,
  skipped: 1,
  failed: 0,
  items: [
    {position: '0', outcome: 'replayed', target: 'payments@1795433012115-0', reason: null},
    {position: '1', outcome: 'replayed', target: 'payments@1795433012115-1', reason: null},
    {position: '3', outcome: 'skipped', target: null, reason: 'already_replayed'},
  ],
}

/** A replay engine stand-in that records what it was asked to do. */
function fakeReplay() {
  const calls: {planned: string[][]; executed: number} = {planned: [], executed: 0}
  const port: ReplayPort = {
    plan: async (positions) => {
      calls.planned.push(positions)
      return {view: PLAN, plan: {positions}}
    },
    execute: async () => {
      calls.executed++
      return RESULT
    },
    replayedAmong: async (records) => records.map((r) => r.position).filter((p) => p === '5'),
    close: async () => {},
  }
  return {port, calls}
}

let readers: DlqReader[] = []
let apps: InkApp[] = []
afterEach(async () => {
  for (const a of apps) a.unmount()
  for (const r of readers) await r.close()
  apps = []
  readers = []
})

async function start(file: string, opts: {replay?: ReplayPort; columns?: number; rows?: number; payloadLimit?: number; followMs?: number} = {}) {
  const reader = await openFileReader(isAbsolute(file) ? file : join(FIXTURES, file))
  readers.push(reader)
  const app = render(
    <BrowseApp
      reader={reader}
      filterSpec={{}}
      from={null}
      payloadLimit={opts.payloadLimit ?? 4096}
      replay={opts.replay ?? fakeReplay().port}
      size={{columns: opts.columns ?? 150, rows: opts.rows ?? 40}}
      followMs={opts.followMs}
    />,
  )
  apps.push(app)
  return app
}

describe('browse screen', () => {
  it('shows the status bar, the list with escaped previews, and the detail pane of the first message', async () => {
    const app = await start('mixed.ndjson')
    const frame = await frameWith(app, '0…16 (17 messages)')
    expect(frame).toContain('dlq browse')
    expect(frame).toContain('mixed.ndjson')
    expect(frame).toContain('at 0')
    expect(frame).toContain('no filter')
    expect(frame).toContain('0 selected')
    expect(frame).toMatch(/POSITION\s+TIME UTC\s+SOURCE\s+REASON\s+KEY\s+PAYLOAD/)
    expect(frame).toMatch(/0\s+2026-11-22 10:00:00 payments\/0\s+parse_error/)
    // binary payloads are hex in the list, never raw
    expect(frame).toContain('hex:000000002afffe10')
    // the detail pane: fields, metadata and the payload as pretty JSON
    expect(frame).toMatch(/source\s+topic payments {2}partition 0 {2}offset 5000/)
    expect(frame).toContain('metadata (2)')
    expect(frame).toContain('payload (51 B, json)')
    expect(frame).toContain('"event": "order.created",')
  })

  it('moves through the list and shows headers, metadata and a hex dump in the detail pane', async () => {
    const app = await start('mixed.ndjson', {rows: 70})
    await frameWith(app, '0…16 (17 messages)')
    await press(app, 'j', 'j', 'j', 'j', 'j', 'j')
    let frame = await frameWith(app, 'at 6')
    expect(frame).toContain('kafka_dlt-exception-fqcn')
    expect(frame).toContain('convention      spring')
    await press(app, 'j', 'j')
    frame = await frameWith(app, 'at 8')
    // a binary payload is shown as a hex dump automatically
    expect(frame).toMatch(/payload \(\d+ B, hex\)/)
    expect(frame).toMatch(/00000000 {2}00 00 00 00 2a ff fe 10/)
    await press(app, 'k', 'x')
    frame = await frameWith(app, /at 7[\s\S]*payload \(\d+ B, hex\)/)
    expect(frame).toMatch(/\|\{"payment":9,"ca\|/)
  })

  it('never lets control characters from a DLQ reach the terminal', async () => {
    const app = await start('hostile.ndjson')
    await frameWith(app, 'at 0')
    for (const f of app.frames) {
      // Ink's own styling uses ESC [ … m; anything else (OSC, clear screen, bell, C1) came from the data.
      const rest = f.replace(ANSI, '')
      expect(rest).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/)
    }
  })

  it('a bad filter shows its error in place and keeps the old filter; a good one filters the list', async () => {
    const app = await start('mixed.ndjson')
    await frameWith(app, '0…16 (17 messages)')
    await press(app, '/', ...'reason~~('.split(''), '\r')
    let frame = await frameWith(app, '✗')
    expect(frame).toMatch(/filter \/ reason~~\(\s+✗ filter "reason~~\(":/)
    expect(frame).toContain('no filter')
    await press(app, '\x15', ...'reason=timeout'.split(''), '\r')
    // The unfiltered list has this row too, and the status bar names the filter before the list is read again: wait for both.
    frame = await frameWhere(app, (f) => f.includes('filter: reason=timeout') && /1\s+2026-11-22 10:01:00 orders\/1\s+timeout/.test(f), 'the filtered list')
    expect(frame).not.toContain('parse_error')
  })

  it('jumps to a position, and says so when a position is malformed', async () => {
    const app = await start('mixed.ndjson')
    await frameWith(app, '0…16 (17 messages)')
    await press(app, ':', 'x', 'y', '\r')
    let frame = await frameWith(app, '✗')
    expect(frame).toContain('a file DLQ position is a record number')
    await press(app, '\x15', '1', '2', '\r')
    frame = await frameWith(app, 'at 12')
    expect(frame).toMatch(/reason\s+-/)
  })

  it('replay: plan in a confirmation dialog, nothing sent on n, results after y, replayed messages marked', async () => {
    const {port, calls} = fakeReplay()
    const app = await start('mixed.ndjson', {replay: port})
    // position 5 is in the ledger already: marked from the start
    await frameWhere(app, (f) => /✓ 5 /.test(f), 'the ledger mark on 5')
    await press(app, ' ', ' ')
    await frameWith(app, '2 selected')
    await press(app, 'r')
    let frame = await frameWith(app, 'Replay the selection?')
    expect(calls.planned).toEqual([['0', '1']])
    expect(frame).toContain('2 messages will be sent to redis://127.0.0.1:16379/0')
    expect(frame).toContain('2 → payments (partition chosen by the store)')
    expect(frame).toContain('1 skipped: 1 already_replayed')
    expect(frame).toContain('System metadata removed: kafka_dlt-original-offset, kafka_dlt-original-topic')
    expect(frame).toContain('Send 2? y: send')
    await press(app, 'n')
    frame = await frameWith(app, 'POSITION')
    expect(calls.executed).toBe(0)
    expect(frame).toContain('2 selected')

    await press(app, 'r')
    await frameWith(app, 'Replay the selection?')
    await press(app, 'y')
    frame = await frameWith(app, 'Replay: 2 replayed, 1 skipped, 0 failed (of 3)')
    expect(calls.executed).toBe(1)
    expect(frame).toMatch(/0\s+replayed\s+payments@1795433012115-0/)
    expect(frame).toMatch(/3\s+skipped\s+already_replayed/)
    await press(app, '\r')
    frame = await frameWith(app, 'POSITION')
    expect(frame).toMatch(/✓ 0 /)
    expect(frame).toMatch(/✓ 1 /)
    expect(frame).toContain('0 selected')
  })

  it('a replay that cannot be planned says why and stays in the list', async () => {
    const port: ReplayPort = {...fakeReplay().port, plan: () => Promise.reject(new Error('a file DLQ has no cluster of its own: name where to replay with --sink'))}
    const app = await start('mixed.ndjson', {replay: port})
    await frameWith(app, '0…16 (17 messages)')
    await press(app, ' ', 'r')
    const frame = await frameWith(app, 'replay: a file DLQ has no cluster')
    expect(frame).toContain('POSITION')
  })

  it('a large payload shows its size and a preview; p loads all of it', async () => {
    const app = await start('mixed.ndjson', {payloadLimit: 16})
    let frame = await frameWith(app, 'payload (51 B')
    expect(frame).toContain('first 16 B shown; p loads it all')
    await press(app, 'p')
    frame = await frameWith(app, 'payload (51 B, json)')
    expect(frame).not.toContain('p loads it all')
    // Tab gives the detail pane the keys; scrolling down shows the rest of the payload.
    await press(app, '\t', ...'jjjjjjjj'.split(''))
    frame = await frameWith(app, '"amount": "0.00"')
    expect(frame).toContain('(Tab: back to list)')
  })

  it('lays the screen out for the terminal size and shows the keys on ?', async () => {
    const app = await start('mixed.ndjson', {rows: 16, columns: 90})
    let frame = await frameWith(app, 'at 0')
    expect(frame.split('\n').length).toBeLessThanOrEqual(15)
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(90)
    await press(app, '?')
    frame = await frameWith(app, 'Keys')
    expect(frame).toContain('jump to a position')
    // 25 keys do not fit 11 rows in two columns: the help scrolls instead of leaving keys out
    expect(frame).toContain('1–11 of 13 rows')
    expect(frame).not.toContain('replay the selection')
    await press(app, 'j')
    frame = await frameWith(app, '2–12 of 13 rows')
    expect(frame).toContain('replay the selection')
    await press(app, 'j')
    frame = await frameWith(app, '3–13 of 13 rows')
    expect(frame).toContain('edit the payload in $EDITOR')
  })
})

const tmp = mkdtempSync(join(tmpdir(), 'dlq-screen-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

/** Presses `key` until the frame satisfies `ok` (at most `max` times). */
async function pressUntil(app: InkApp, key: string, ok: (f: string) => boolean, max = 60): Promise<string> {
  for (let i = 0; i < max; i++) {
    const f = strip(app.lastFrame())
    if (ok(f)) return f
    await press(app, key)
    await new Promise((r) => setTimeout(r, 5))
  }
  return frameWhere(app, ok, `a frame after ${max} × ${JSON.stringify(key)}`)
}

const TRACE = [
  'org.springframework.kafka.listener.ListenerExecutionFailedException: Listener method could not be invoked with the incoming message; nested exception is org.springframework.messaging.converter.MessageConversionException',
  '\tat org.springframework.kafka.listener.KafkaMessageListenerContainer$ListenerConsumer.decorateException(KafkaMessageListenerContainer.java:2950)',
  'Caused by: com.fasterxml.jackson.core.JsonParseException: Unexpected character (code 125) at [Source: (String)"{"id":17,"total":}"; line: 1, column: 18] END-OF-TRACE',
].join('\n')

function springFile(): string {
  const file = join(tmp, `spring-${Math.random().toString(36).slice(2)}.ndjson`)
  const line = (offset: number, headers: Record<string, string>) =>
    JSON.stringify({topic: 'orders-dlt', partition: 0, offset, timestamp: 1795341600000 + offset, key: `k${offset}`, value: `{"id":${offset}}`, headers})
  writeFileSync(
    file,
    [
      line(0, {'kafka_dlt-original-topic': 'orders', 'kafka_dlt-exception-fqcn': 'org.springframework.kafka.listener.ListenerExecutionFailedException', 'kafka_dlt-exception-stacktrace': TRACE}),
      line(1, {'kafka_dlt-original-topic': 'orders'}),
    ].join('\n') + '\n',
  )
  return file
}

describe('browse screen: reading details', () => {
  it('Enter shows the detail full screen with a long stack trace wrapped; w cuts lines, → scrolls sideways; Esc goes back', async () => {
    const app = await start(springFile(), {columns: 80, rows: 24})
    await frameWith(app, 'at 0')
    await press(app, '\r')
    let frame = await frameWith(app, 'Esc/q back')
    expect(frame).not.toContain('POSITION')
    // The reason itself now quotes the trace's last Caused by, so scroll until the trace's own line shows.
    frame = await pressUntil(app, 'j', (f) => f.includes('Caused by: com.fasterxml.jackson.core.JsonParseException'))
    expect(frame).toContain('Caused by: com.fasterxml.jackson.core.JsonParseException')
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    // unwrapped, the long lines are cut at the screen edge …
    await press(app, 'w')
    frame = await frameWith(app, '[nowrap]')
    frame = await pressUntil(app, 'j', (f) => f.includes('Caused by: com.fasterxml.jackson.core'))
    expect(frame).not.toContain('END-OF-TRACE')
    // … and → brings their ends into view
    frame = await pressUntil(app, 'l', (f) => f.includes('END-OF-TRACE'))
    expect(frame).toMatch(/→\d+/)
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    await press(app, '\x1b')
    frame = await frameWith(app, 'POSITION')
    expect(frame).toContain('at 0')
    // q in the full-screen detail goes back too, and only then quits
    await press(app, '\r')
    await frameWith(app, 'Esc/q back')
    await press(app, 'q')
    await frameWith(app, 'POSITION')
  })

  it('s saves the whole payload byte for byte (not the preview) and says where; an existing file is not overwritten', async () => {
    const app = await start('mixed.ndjson', {payloadLimit: 16})
    await frameWith(app, '0…16 (17 messages)')
    await press(app, ...'jjjjjjj'.split(''))
    await frameWith(app, 'at 7')
    const target = join(tmp, 'saved-7.bin')
    await press(app, 's')
    let frame = await frameWith(app, 'save payload to : dlq-payload-7.bin')
    await press(app, '\x15', ...target.split(''), '\r')
    frame = await frameWith(app, /saved .* to /)
    expect(frame).toContain(`to ${target}`)
    const reader = await openFileReader(join(FIXTURES, 'mixed.ndjson'))
    readers.push(reader)
    const stored = (await reader.get(['7'])).get('7')!.payload!
    expect(stored.length).toBeGreaterThan(16)
    expect(readFileSync(target).equals(stored)).toBe(true)
    await press(app, 's', '\x15', ...target.split(''), '\r')
    frame = await frameWith(app, '✗')
    expect(frame).toContain('exists; type another name')
    expect(readFileSync(target).equals(stored)).toBe(true)
  })
})

describe('browse screen: live', () => {
  it('follow mode: messages appended to the file appear at the end and the cursor on the last one follows them', async () => {
    const file = join(tmp, 'growing.ndjson')
    copyFileSync(join(FIXTURES, 'mixed.ndjson'), file)
    const app = await start(file, {followMs: 50})
    await frameWith(app, '0…16 (17 messages)')
    await press(app, 'G')
    await frameWith(app, 'at 16')
    const lines = readFileSync(join(FIXTURES, 'mixed.ndjson'), 'utf8').trim().split('\n')
    appendFileSync(file, `${lines[1]}\n${lines[2]}\n`)
    await frameWith(app, '│ at 18 │')
    // the counts are read again once new messages came in
    const frame = await frameWith(app, '0…18 (19 messages)')
    expect(frame).toMatch(/›\s+18\s/)
  })

  it('follow mode does not redraw an idle screen (no flicker while it looks for new messages)', async () => {
    const app = await start('mixed.ndjson', {followMs: 20})
    await frameWith(app, '0…16 (17 messages)')
    await press(app, 'G')
    await frameWith(app, 'at 16')
    await new Promise((r) => setTimeout(r, 200))
    const settled = app.frames.length
    const last = app.lastFrame()
    // ~25 polls go by
    await new Promise((r) => setTimeout(r, 500))
    expect(app.frames.slice(settled).filter((f) => f !== last)).toEqual([])
  })

  it('R looks for new messages when follow mode is off', async () => {
    const file = join(tmp, 'growing-r.ndjson')
    copyFileSync(join(FIXTURES, 'mixed.ndjson'), file)
    // no poll comes before F (a poll in flight could see the new line)
    const app = await start(file, {followMs: 60_000})
    await frameWith(app, '0…16 (17 messages)')
    await press(app, 'F')
    await frameWith(app, 'follow off')
    const lines = readFileSync(join(FIXTURES, 'mixed.ndjson'), 'utf8').trim().split('\n')
    appendFileSync(file, `${lines[3]}\n`)
    await new Promise((r) => setTimeout(r, 300))
    expect(strip(app.lastFrame())).toContain('(17 messages)')
    await press(app, 'R')
    await frameWith(app, '0…17 (18 messages)')
    await press(app, 'G')
    await frameWith(app, 'at 17')
  })
})

describe('browse screen: sizes', () => {
  it('at 80×12 the help scrolls to every key instead of dropping some', async () => {
    const app = await start('mixed.ndjson', {columns: 80, rows: 12})
    await frameWith(app, 'at 0')
    await press(app, '?')
    let frame = await frameWith(app, 'Keys')
    const seen = new Set<string>()
    for (let i = 0; i < 30; i++) {
      for (const line of frame.split('\n')) seen.add(line)
      await press(app, 'j')
      frame = strip(app.lastFrame())
    }
    const all = [...seen].join('\n')
    for (const b of KEY_MAP.list) expect(all).toContain(b.help.slice(0, 20))
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
  })

  it('p then x on a 20 MB payload: the hex view comes at once and scrolls to the last byte', async () => {
    const file = join(tmp, 'big.ndjson')
    const payload = Buffer.from(`{"blob":"${'a'.repeat(20 * 1024 * 1024)}"}`)
    writeFileSync(file, JSON.stringify({timestamp: 1795341600000, service: 'ingest', reason: 'too_large', attempts: 1, payload: payload.toString('base64')}) + '\n')
    const app = await start(file, {columns: 120, rows: 30})
    await frameWith(app, 'at 0')
    await press(app, '\r')
    await frameWith(app, /payload \(20\.0 MiB, text\) — first 4\.0 KiB shown; p loads it all/)
    await press(app, 'p')
    await frameWhere(app, (f) => f.includes('payload (20.0 MiB, text)') && !f.includes('p loads it all'), 'the whole payload', 20_000)
    const t = Date.now()
    await press(app, 'x')
    let frame = await frameWith(app, 'payload (20.0 MiB, hex)')
    await press(app, 'G')
    const last = (payload.length - 1) & ~15
    frame = await frameWith(app, `${last.toString(16).padStart(8, '0')}  `)
    expect(frame).toMatch(/\|a*"\}\|/)
    expect(Date.now() - t).toBeLessThan(3000)
  }, 60_000)
})
