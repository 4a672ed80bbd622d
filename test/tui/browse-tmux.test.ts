import {execFileSync} from 'node:child_process'
import stringWidth from 'string-width'
import {appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, ROOT, dlq} from '../helpers/cli.js'
import {needService, uniqueName, type Service} from '../helpers/services.js'
import {shellLine, Tmux} from '../helpers/tmux.js'
import {KAFKA_URI, KafkaFixture} from '../kafka-fixtures.js'

/**
 * `dlq browse` in a real terminal: tmux runs the built CLI, keys go in with send-keys and the
 * screen comes back with capture-pane. Every wait polls the screen with a bound, no fixed sleeps.
 */
const tmux = new Tmux('dlq-tui')
const browse = tmux.session('browse')
const screen = () => browse.screen()
/** The screen with its SGR attributes (inverse, bold, colours) as escape sequences. */
const screenSgr = () => browse.screen({sgr: true})
const keys = (...k: string[]) => browse.keys(...k)
const waitText = (text: string | RegExp, timeoutMs?: number) => browse.waitText(text, timeoutMs)
/** The status bar's "at POS". */
const at = (pos: string) => waitText(new RegExp(`│ at ${pos} │`))

let redis: Service
let dir: string
let stream: string
let client: import('ioredis').Redis | null = null

beforeAll(async () => {
  redis = await needService('redis')
  dir = mkdtempSync(join(tmpdir(), 'dlq-tui-'))
  // 500 entries with text payloads ({"event":…,"id":N,…}); one in five has reason "timeout" (N % 5 = 1).
  execFileSync(process.execPath, [join(ROOT, 'bench', 'gen-hyperi.mjs'), join(dir, 'dlq.ndjson'), '500', '--text'])
  // Keeps the tmux server up while windows are killed and started: a server exits with its last
  // session, and a new-session racing that exit fails ("server exited unexpectedly").
  tmux.start('keep', [80, 24], 'sleep 3600')
  if (!redis.available) return
  const {Redis} = await import('ioredis')
  client = new Redis(redis.address, {lazyConnect: true, maxRetriesPerRequest: 1})
  await client.connect()
  stream = uniqueName('dlq-tui-replay')
  // The Redis sink replays only into a stream that exists.
  await client.xadd(stream, '*', 'seed', '1')
})

afterAll(async () => {
  tmux.close()
  if (client) {
    await client.del(stream)
    client.disconnect()
  }
  rmSync(dir, {recursive: true, force: true})
})

describe('dlq browse in a real terminal (tmux)', () => {
  it('refuses to start without a terminal', () => {
    const r = dlq(['browse', join(dir, 'dlq.ndjson')], {input: ''})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('dlq browse needs an interactive terminal; use dlq inspect')
  })

  it('pages, jumps, filters, selects two messages and replays them to a Redis stream', async (ctx) => {
    if (!redis.available) ctx.skip()
    const file = join(dir, 'dlq.ndjson')
    const cmd = shellLine([process.execPath, BIN, 'browse', file, '--sink', redis.address, '--to', stream])
    tmux.start(browse.name, [160, 40], `${cmd}; echo "EXITED $?"; sleep 60`)

    let s = await waitText('0…499 (500 messages)')
    expect(s).toMatch(/│ at 0 │ no filter │ 0 selected/)
    expect(s).toMatch(/0\s+2026-11-01 00:00:00 orders\/0\s+parse_error/)

    // 40 rows: a list of 17 rows, so PgDn moves by 17
    keys('NPage')
    await at('17')
    keys('NPage')
    s = await at('34')
    expect(s).toMatch(/34\s+2026-11-01 00:00:34/)

    keys(':')
    await waitText('jump to position :')
    keys('250', 'Enter')
    s = await at('250')
    expect(s).toMatch(/^position +250$/m)

    keys('/')
    await waitText('filter / ')
    keys('reason=timeout', 'Enter')
    s = await waitText(/│ at 251 │ filter: reason=timeout │/)
    expect(s).toMatch(/251\s+2026-11-01 00:04:11 clicks\/5\s+timeout/)
    expect(s).not.toContain('parse_error')

    keys('Space')
    await waitText('1 selected')
    keys('Space')
    s = await waitText('2 selected')
    expect(s).toMatch(/● 251 /)
    expect(s).toMatch(/● 256 /)

    keys('r')
    s = await waitText('Replay the selection?')
    expect(s).toContain(`2 messages will be sent to ${redis.address}`)
    expect(s).toContain(`2 → ${stream}`)
    keys('y')
    s = await waitText('Replay: 2 replayed, 0 skipped, 0 failed (of 2)')
    expect(s).toMatch(new RegExp(`251\\s+replayed\\s+${stream}@\\d+-\\d+`))

    keys('Enter')
    s = await waitText(/✓ 251 /)
    expect(s).toMatch(/✓ 256 /)

    keys('q')
    s = await waitText('EXITED 0')
    // the main screen is back: no trace of the TUI is left on it
    expect(s).not.toContain('dlq browse')

    const entries = await client!.xrangeBuffer(stream, '-', '+')
    expect(entries).toHaveLength(3)
    const values = entries.slice(1).map(([, fields]) => {
      // hyperi entries go back as one field `payload` (what its Redis transport reads).
      const at = fields.findIndex((f) => f.toString() === 'payload')
      return JSON.parse(fields[at + 1].toString()) as {id: number}
    })
    expect(values.map((v) => v.id)).toEqual([251, 256])
  })

  it('gives the terminal back on Ctrl-C', async () => {
    tmux.kill(browse.name)
    const cmd = shellLine([process.execPath, BIN, 'browse', join(dir, 'dlq.ndjson')])
    tmux.start(browse.name, [120, 30], `${cmd}; echo "EXITED $?"; stty -a | grep -o -- '-\\?icanon' ; echo "STTY DONE"; sleep 60`)
    await waitText('0…499 (500 messages)')
    keys('C-c')
    await waitText('EXITED 0')
    // Wait for stty's line too: it is printed just after.
    const s = await waitText('STTY DONE')
    // cooked mode again (raw mode would show -icanon)
    expect(s).toMatch(/^icanon$/m)
  })
})

/** Starts `dlq browse ARGS` in a fresh window of the given size; FORCE_COLOR / NO_COLOR only when given. */
function launch(args: string[], size: [number, number], env: Record<string, string> = {}) {
  tmux.kill(browse.name)
  const argv = ['env', '-u', 'FORCE_COLOR', '-u', 'NO_COLOR', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, 'browse', ...args]
  tmux.start(browse.name, size, `${shellLine(argv)}; echo "EXITED $?"; sleep 60`)
}

/** The row the cursor is on (marked with › in its first column), with its escape sequences. */
const cursorRow = (sgr: string) => sgr.split('\n').find((l) => l.replace(/\x1b\[[0-9;]*m/g, '').startsWith('›'))

describe('dlq browse: what a real terminal shows', () => {
  const kafka = new KafkaFixture()
  let kafkaAvailable = false
  beforeAll(async () => {
    // in CI an unreachable Kafka fails here
    kafkaAvailable = (await needService('kafka')).available
  })
  afterAll(async () => {
    await kafka.close()
  })

  it('marks the selected row with inverse video even with CI=true, and fits 80×24', async () => {
    launch([join(dir, 'dlq.ndjson')], [80, 24], {CI: 'true'})
    let s = await at('0')
    let row = cursorRow(screenSgr())
    // SGR 7 (inverse) switched on right before the row's cursor mark
    expect(row).toMatch(/\x1b\[(?:[0-9;]*;)?7m›\s+0\s/)
    keys('j')
    await at('1')
    row = cursorRow(screenSgr())
    expect(row).toMatch(/\x1b\[(?:[0-9;]*;)?7m›\s+1\s/)
    s = screen()
    const lines = s.trimEnd().split('\n')
    expect(lines.length).toBeLessThanOrEqual(24)
    for (const l of lines) expect(Array.from(l).length).toBeLessThanOrEqual(80)
    expect(s).toMatch(/POSITION TIME UTC SOURCE/)
    expect(s).toContain('PgDn page down')
    expect(s).toMatch(/^── /m)
    // every key of the help fits at 80×24
    keys('?')
    s = await waitText('Esc or ? closes this help')
    for (const text of ['previous message', 'save the payload to a file', 'follow mode', 'replay the selection', 'full-screen detail', 'quit']) expect(s).toContain(text)
    expect(s).not.toContain('rows, ↑↓ j k scroll')
    keys('Escape')
    await waitText('POSITION')
    // full-screen detail and back
    keys('Enter')
    s = await waitText('Esc/q back')
    expect(s).not.toContain('POSITION')
    keys('q')
    await waitText('POSITION')
    keys('q')
    await waitText('EXITED 0')
  })

  it('keeps the columns aligned when reasons hold emoji and East Asian text', async () => {
    const file = join(dir, 'wide.ndjson')
    const reasons = ['plain reason', '🔥 handler failed 🔥', 'データ変換エラー', 'école accent']
    writeFileSync(file, reasons.map((reason, i) => JSON.stringify({timestamp: 1795341600000 + i, service: 'ingest', reason, attempts: 1, payload: Buffer.from(`{"key":"k-${i}"}`).toString('base64')})).join('\n') + '\n')
    launch([file], [100, 20])
    const s = await waitText('(4 messages)')
    const rows = s.split('\n').filter((l) => l.includes('{"key":"k-'))
    expect(rows).toHaveLength(4)
    // the payload column starts at the same terminal column on every row
    const starts = rows.map((l) => stringWidth(l.slice(0, l.indexOf('{"key"'))))
    expect(new Set(starts).size).toBe(1)
    expect(rows[1]).toContain('🔥 handler failed 🔥')
    expect(rows[2]).toContain('データ変換エラー')
  })

  it('NO_COLOR drops colours but keeps the inverse cursor row; colours are on otherwise', async () => {
    launch([join(dir, 'dlq.ndjson')], [120, 30], {NO_COLOR: '1'})
    await at('0')
    expect(cursorRow(screenSgr())).toMatch(/\x1b\[(?:[0-9;]*;)?7m›/)
    keys('Tab')
    await waitText('(Tab: back to list)')
    // the focused detail title is bold, not cyan (SGR 36)
    expect(screenSgr()).not.toMatch(/\x1b\[(?:[0-9;]*;)?36m/)
    launch([join(dir, 'dlq.ndjson')], [120, 30])
    await at('0')
    keys('Tab')
    await waitText('(Tab: back to list)')
    expect(screenSgr()).toMatch(/\x1b\[(?:[0-9;]*;)?36m[^\n]*Tab: back to list/)
  })

  it('messages appended while browsing appear at the end, the cursor following them', async () => {
    const file = join(dir, 'growing.ndjson')
    copyFileSync(join(dir, 'dlq.ndjson'), file)
    launch([file], [160, 40])
    await waitText('(500 messages)')
    keys('G')
    await at('499')
    const [a, b] = readFileSync(join(dir, 'dlq.ndjson'), 'utf8').split('\n')
    appendFileSync(file, `${a}\n${b}\n`)
    const s = await waitText('0…501 (502 messages)')
    expect(s).toMatch(/│ at 501 │/)
    expect(s).toMatch(/›\s+501\s/)
  })

  it('pages backward on a Redis stream after G: PgUp, k and g', async (ctx) => {
    if (!redis.available) ctx.skip()
    const key = uniqueName('dlq-tui-back')
    const T0 = 1_795_000_000_000
    const pipe = client!.pipeline()
    for (let i = 0; i < 300; i++) pipe.xadd(key, `${T0 + i}-0`, 'data', JSON.stringify({timestamp: T0 + i, service: 's', reason: i % 2 ? 'timeout' : 'parse_error', attempts: 1, payload: Buffer.from(`{"i":${i}}`).toString('base64')}))
    await pipe.exec()
    try {
      launch([`${redis.address}/0/${key}`], [160, 40])
      await waitText('(300 messages)')
      keys('G')
      await at(`${T0 + 299}-0`)
      keys('PPage', 'PPage', 'PPage')
      await at(`${T0 + 299 - 51}-0`)
      keys('k')
      await at(`${T0 + 247}-0`)
      for (let i = 0; i < 10; i++) keys('PPage')
      await at(`${T0 + 247 - 10 * 17}-0`)
      keys('g')
      const s = await at(`${T0}-0`)
      expect(s).not.toContain('▲ more above')
      // at the end again, an entry added to the stream shows up with the cursor on it
      keys('G')
      await at(`${T0 + 299}-0`)
      await client!.xadd(key, `${T0 + 300}-0`, 'data', JSON.stringify({timestamp: T0, service: 's', reason: 'late', attempts: 1, payload: ''}))
      await at(`${T0 + 300}-0`)
      await waitText('(301 messages)')
    } finally {
      await client!.del(key)
    }
  })

  it('pages backward on a Kafka topic after G, across partitions', async (ctx) => {
    if (!kafkaAvailable) ctx.skip()
    const topic = await kafka.topic('tui-back', 2)
    const msg = (p: number, i: number) => ({partition: p, value: JSON.stringify({timestamp: 1_795_000_000_000 + i, service: 's', reason: 'parse_error', attempts: 1, payload: Buffer.from(`{"p":${p},"i":${i}}`).toString('base64')})})
    await kafka.produceBulk(topic, [...Array.from({length: 100}, (_, i) => msg(0, i)), ...Array.from({length: 100}, (_, i) => msg(1, i))])
    launch([`${KAFKA_URI}/${topic}`], [160, 40])
    await at('0:0')
    keys('G')
    await at('1:99')
    keys('PPage')
    await at('1:82')
    for (let i = 0; i < 5; i++) keys('PPage')
    // 6 × 17 rows before 1:99 is 0:97 (partition 0 comes first in the log)
    await at('0:97')
    keys('k')
    await at('0:96')
  })
})
