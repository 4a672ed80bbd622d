import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, ROOT, dlq} from '../helpers/cli.js'
import {needService, uniqueName, type Service} from '../helpers/services.js'

/**
 * `dlq browse` in a real terminal: tmux runs the built CLI, keys go in with send-keys and the
 * screen comes back with capture-pane. Every wait polls the screen with a bound, no fixed sleeps.
 */
const TMUX = '/usr/bin/tmux'
const socket = uniqueName('dlq-tui')
const session = 'browse'
const tmux = (...args: string[]) => execFileSync(TMUX, ['-L', socket, ...args], {encoding: 'utf8'})
const screen = () => tmux('capture-pane', '-p', '-t', session)
const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k)

// Generous: in CI this shares two cores with brokers and process races, and a frame can be slow to come.
async function waitFor(ok: (s: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const s = screen()
    if (ok(s)) return s
    if (Date.now() > until) throw new Error(`screen never showed ${what} within ${timeoutMs} ms:\n${s}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
const waitText = (text: string | RegExp, timeoutMs?: number) => waitFor((s) => (typeof text === 'string' ? s.includes(text) : text.test(s)), String(text), timeoutMs)
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
  if (!redis.available) return
  const {Redis} = await import('ioredis')
  client = new Redis(redis.address, {lazyConnect: true, maxRetriesPerRequest: 1})
  await client.connect()
  stream = uniqueName('dlq-tui-replay')
  // The Redis sink replays only into a stream that exists.
  await client.xadd(stream, '*', 'seed', '1')
})

afterAll(async () => {
  spawnSync(TMUX, ['-L', socket, 'kill-server'])
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
    const cmd = [process.execPath, BIN, 'browse', file, '--sink', redis.address, '--to', stream].map((a) => `'${a}'`).join(' ')
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', `${cmd}; echo "EXITED $?"; sleep 60`)

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
      const at = fields.findIndex((f) => f.toString() === 'value')
      return JSON.parse(fields[at + 1].toString()) as {id: number}
    })
    expect(values.map((v) => v.id)).toEqual([251, 256])
  })

  it('gives the terminal back on Ctrl-C', async () => {
    spawnSync(TMUX, ['-L', socket, 'kill-session', '-t', session])
    const cmd = [process.execPath, BIN, 'browse', join(dir, 'dlq.ndjson')].map((a) => `'${a}'`).join(' ')
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', `${cmd}; echo "EXITED $?"; stty -a | grep -o -- '-\\?icanon' ; sleep 60`)
    await waitText('0…499 (500 messages)')
    keys('C-c')
    const s = await waitText('EXITED 0')
    // cooked mode again (raw mode would show -icanon)
    expect(s).toMatch(/^icanon$/m)
  })
})
