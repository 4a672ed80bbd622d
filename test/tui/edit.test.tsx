import {render} from 'ink-testing-library'
import {chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {openFileReader} from '../../src/backends/file/index.js'
import {MATCH_ALL} from '../../src/core/filter.js'
import type {DlqReader} from '../../src/core/reader.js'
import {BrowseApp} from '../../src/tui/browse-app.js'
import type {ReplayPort} from '../../src/tui/replay-port.js'
import {openReplayPort} from '../../src/tui/replay-wiring.js'
import {BIN, FIXTURES, dlq, dlqJson} from '../helpers/cli.js'
import {frameWith, press, type InkApp} from '../helpers/ink.js'
import {needService, uniqueName} from '../helpers/services.js'
import {shellLine, Tmux} from '../helpers/tmux.js'

const redis = await needService('redis')
const dir = mkdtempSync(join(tmpdir(), 'dlq-tui-edit-'))
const log = join(dir, 'editor.log')

/** An $EDITOR that edits non-interactively: notes the file it got and its mode, then runs `action` on it. */
function editor(name: string, action: string): string {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\necho "$1 $(stat -c %a "$1")" >> '${log}'\n${action}\n`)
  chmodSync(path, 0o755)
  return path
}

describe.runIf(redis.available)('browse: e edits the payload in $EDITOR and replays the edited version behind the confirmation', () => {
  let client: import('ioredis').Redis
  let stream: string
  let file: string
  let reader: DlqReader
  let port: ReplayPort
  let app: InkApp | null = null
  const saved = {EDITOR: process.env.EDITOR, VISUAL: process.env.VISUAL}

  beforeAll(async () => {
    const {Redis} = await import('ioredis')
    client = new Redis(redis.address)
    stream = uniqueName('tui-edit')
    await client.xgroup('CREATE', stream, 'consumers', '$', 'MKSTREAM')
    file = join(dir, 'mixed.ndjson')
    copyFileSync(join(FIXTURES, 'mixed.ndjson'), file)
    reader = await openFileReader(file)
    port = await openReplayPort(reader, {source: file, sinkUri: redis.address, to: stream})
    delete process.env.VISUAL
  })
  afterEach(() => {
    app?.unmount()
    app = null
  })
  afterAll(async () => {
    process.env.EDITOR = saved.EDITOR
    if (saved.VISUAL !== undefined) process.env.VISUAL = saved.VISUAL
    await port.close()
    await reader.close()
    await client.del(stream)
    client.disconnect()
  })

  const start = async () => {
    app = render(<BrowseApp reader={reader} filterSpec={{}} from={null} payloadLimit={4096} replay={port} size={{columns: 160, rows: 40}} />)
    await frameWith(app, '0…16 (17 messages)')
    return app
  }
  const consume = async () => {
    const res = (await client.xreadgroup('GROUP', 'consumers', 'c1', 'COUNT', 100, 'STREAMS', stream, '>')) as Array<[string, Array<[string, string[]]>]> | null
    return (res?.[0]?.[1] ?? []).map(([, f]) => f[f.indexOf('payload') + 1])
  }

  it('shows the change, sends nothing on n, sends the edited payload once on y, in a 0600 temp file removed after', async () => {
    process.env.EDITOR = editor('fix.sh', `sed -i 's/"amount":"0.00"/"amount":"10.00"/' "$1"`)
    const a = await start()
    await press(a, 'e')
    let frame = await frameWith(a, 'Replay the selection?')
    expect(frame).toContain('1 message will be sent to')
    expect(frame).toContain('Sent EDITED (the ledger records the edit):')
    expect(frame).toContain('0: payload.amount: "0.00" → "10.00"')
    await press(a, 'n')
    await frameWith(a, 'POSITION')
    expect(await consume()).toEqual([])

    const [path, mode] = readFileSync(log, 'utf8').trim().split('\n')[0].split(' ')
    expect(mode).toBe('600')
    expect(path.endsWith('.json')).toBe(true)
    expect(existsSync(path)).toBe(false)

    await press(a, 'e')
    await frameWith(a, 'Sent EDITED')
    await press(a, 'y')
    frame = await frameWith(a, 'Replay: 1 replayed, 0 skipped, 0 failed (of 1)')
    expect(await consume()).toEqual(['{"event":"order.created","id":1000,"amount":"10.00"}'])
    const ledger = readFileSync(join(dir, 'mixed.ndjson.replay-ledger.ndjson'), 'utf8')
    expect(ledger).toMatch(/"op":"done".*"edit":\{"sha256":"[0-9a-f]{64}"\}/)

    // The same message again: the ledger has it, so nothing is sent.
    await press(a, '\r')
    await frameWith(a, 'POSITION')
    await press(a, 'e')
    frame = await frameWith(a, 'Nothing to send.')
    expect(frame).toContain('1 skipped: 1 already_replayed')
    await press(a, 'n')
    expect(await consume()).toEqual([])
  })

  /** `work` with a reader of `path` and its replay port (to this test's stream), both closed after. */
  const withPort = async (path: string, work: (r: DlqReader, p: ReplayPort) => Promise<void>) => {
    const r = await openFileReader(path)
    const p = await openReplayPort(r, {source: path, sinkUri: redis.address, to: stream})
    try {
      await work(r, p)
    } finally {
      await p.close()
      await r.close()
    }
  }

  it('a browse opened later marks the message replayed by an earlier run (the ledger is read by message identity)', async () => {
    // Its own copy of the DLQ and its own ledger: message 3 replayed by the CLI, before browse starts.
    const later = join(dir, 'later.ndjson')
    copyFileSync(join(FIXTURES, 'mixed.ndjson'), later)
    const cli = dlq(['replay', later, '--offset', '3', '--sink', redis.address, '--to', stream, '--yes'])
    expect(cli.code, cli.stderr).toBe(0)
    await consume()
    await withPort(later, async (reader2, port2) => {
      const page = await reader2.page({from: null, limit: 50, filter: MATCH_ALL})
      expect(await port2.replayedAmong(page.records)).toEqual(['3'])
      app = render(<BrowseApp reader={reader2} filterSpec={{}} from={null} payloadLimit={4096} replay={port2} size={{columns: 160, rows: 40}} />)
      try {
        const frame = await frameWith(app, /✓ 3 /)
        expect(frame).not.toMatch(/✓ [0-2] /)
      } finally {
        app.unmount()
        app = null
      }
    })
  })

  it('a byte-identical copy of a replayed file entry is marked replayed too (one identity, as replay treats it)', async () => {
    const twice = join(dir, 'twice.ndjson')
    const line = readFileSync(join(FIXTURES, 'mixed.ndjson'), 'utf8').split('\n')[3]
    writeFileSync(twice, `${line}\n${line}\n`)
    const cli = dlq(['replay', twice, '--offset', '0', '--sink', redis.address, '--to', stream, '--yes'])
    expect(cli.code, cli.stderr).toBe(0)
    await consume()
    await withPort(twice, async (reader3, port3) => {
      const page = await reader3.page({from: null, limit: 50, filter: MATCH_ALL})
      expect((await port3.replayedAmong(page.records)).sort()).toEqual(['0', '1'])
    })
  })

  it('a record that is not the original message: browse says e writes the payload to send (the CLI says --transform), and e does', async () => {
    // Kafka Streams dead-letters a record whose bytes it freed with neither key nor value.
    const lost = join(dir, 'lost.ndjson')
    const headers = {'__streams.errors.topic': 'shipments', '__streams.errors.partition': '0', '__streams.errors.offset': '43', '__streams.errors.exception': 'java.lang.IllegalStateException', '__streams.errors.message': 'boom'}
    writeFileSync(lost, JSON.stringify({topic: 'shipments-dlq', partition: 0, offset: 9, timestamp: 1_795_341_603_000, key: null, value: null, headers}) + '\n')
    const own = uniqueName('tui-lost')
    await client.xgroup('CREATE', own, 'consumers', '$', 'MKSTREAM')
    try {
      // The CLI's words are unchanged: it has --transform, not a key.
      const cli = dlqJson(['replay', lost, '--offset', '0', '--sink', redis.address, '--to', own, '--dry-run'])
      expect([cli.code, cli.json.items[0].reason]).toEqual([1, 'not_original'])
      expect(cli.json.items[0].detail).toMatch(/: replay sends only the original message; a --transform that returns the payload sends that instead$/)

      const r = await openFileReader(lost)
      const p = await openReplayPort(r, {source: lost, sinkUri: redis.address, to: own})
      try {
        app = render(<BrowseApp reader={r} filterSpec={{}} from={null} payloadLimit={4096} replay={p} size={{columns: 160, rows: 40}} />)
        await frameWith(app, '0…0 (1 message)')
        await press(app, ' ')
        await frameWith(app, '1 selected')
        await press(app, 'r')
        const frame = await frameWith(app, 'Replay the selection?')
        expect(frame).toContain('Nothing to send.')
        // Said first, so the dialog's line (cut at the screen's edge) shows it.
        expect(frame).toContain('0: skipped (not_original): replay sends only the original message (press e on it to write the payload to send in $EDITOR): neither key nor value')
        expect(frame).not.toContain('--transform')
        await press(app, 'n')
        await frameWith(app, 'POSITION')
        // The record holds no payload: e opens an empty file, and what is saved is sent.
        process.env.EDITOR = editor('write.sh', `printf '{"rebuilt":43}' > "$1"`)
        await press(app, 'e')
        const edited = await frameWith(app, 'Sent EDITED')
        expect(edited).toContain('1 message will be sent to')
        await press(app, 'y')
        await frameWith(app, 'Replay: 1 replayed, 0 skipped, 0 failed (of 1)')
        const entries = (await client.xrange(own, '-', '+')) as Array<[string, string[]]>
        expect(entries.map(([, f]) => f.includes('{"rebuilt":43}'))).toEqual([true])
      } finally {
        app?.unmount()
        app = null
        await p.close()
        await r.close()
      }
    } finally {
      await client.del(own)
    }
  })

  it('an unchanged payload or an editor that fails replays nothing, and says so', async () => {
    // An editor that only ends the saved file with a newline (vi's fixeol) has not edited the payload.
    process.env.EDITOR = editor('eol.sh', `printf '\\n' >> "$1"`)
    const a = await start()
    await press(a, 'j', 'e')
    let frame = await frameWith(a, /payload unchanged in|Replay the selection\?/)
    expect(frame).not.toContain('Replay the selection?')
    process.env.EDITOR = editor('noop.sh', 'true')
    await press(a, 'j', 'e')
    frame = await frameWith(a, /payload unchanged in|Replay the selection\?/)
    expect(frame).not.toContain('Replay the selection?')
    process.env.EDITOR = editor('fail.sh', 'exit 3')
    await press(a, 'e')
    await frameWith(a, 'the editor exited with 3; nothing is replayed')
    expect(await consume()).toEqual([])
  })
})

describe.runIf(redis.available)('browse: e in a real terminal (tmux), with an editor that takes the screen over', () => {
  const tmux = new Tmux('dlq-tui-edit')
  let client: import('ioredis').Redis
  const stream = uniqueName('tui-edit-tty')
  beforeAll(async () => {
    const {Redis} = await import('ioredis')
    client = new Redis(redis.address)
    await client.xgroup('CREATE', stream, 'consumers', '$', 'MKSTREAM')
  })
  afterAll(async () => {
    tmux.close()
    await client.del(stream)
    client.disconnect()
  })

  it('the editor gets the terminal, browse gets it back and draws the confirmation, y sends the edit, q exits 0', async () => {
    const file = join(dir, 'tty.ndjson')
    copyFileSync(join(FIXTURES, 'mixed.ndjson'), file)
    // Like vi: its own alternate screen, left on exit (which also leaves browse's).
    const ed = editor('tty.sh', `printf '\\033[?1049h\\033[2JEDITOR RUNNING\\n'; sleep 0.3; sed -i 's/"amount":"0.00"/"amount":"5.00"/' "$1"; printf '\\033[?1049l'`)
    const cmd = shellLine([process.execPath, BIN, 'browse', file, '--sink', redis.address, '--to', stream])
    const edit = tmux.start('edit', [150, 35], `EDITOR='${ed}' VISUAL= ${cmd}; echo "EXITED $?"; sleep 60`)
    await edit.waitText('0…16 (17 messages)')
    edit.keys('e')
    const s = await edit.waitText('Replay the selection?')
    expect(s).toContain('0: payload.amount: "0.00" → "5.00"')
    expect(s).not.toContain('EDITOR RUNNING')
    edit.keys('y')
    await edit.waitText('Replay: 1 replayed')
    edit.keys('Enter')
    await edit.waitText('POSITION')
    edit.keys('q')
    const after = await edit.waitText('EXITED 0')
    // Browse went back onto its own screen after the editor left it, so quitting leaves no frame behind on the shell's.
    expect(after).not.toContain('POSITION')
    const entries = await client.xrange(stream, '-', '+')
    expect(entries.map(([, f]) => f[f.indexOf('payload') + 1])).toEqual(['{"event":"order.created","id":1000,"amount":"5.00"}'])
  })
})
