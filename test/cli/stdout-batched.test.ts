import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {batched} from '../../src/cli/stdout.js'
import {BIN, ROOT} from '../helpers/cli.js'

describe('batched writes', () => {
  it('gathers lines into pieces of at least the limit, in order, and flush hands on the rest', async () => {
    const pieces: string[] = []
    const out = batched(async (t) => void pieces.push(t), 10)
    for (let i = 0; i < 7; i++) await out.write(`line${i}\n`)
    expect(pieces).toEqual(['line0\nline1\n', 'line2\nline3\n', 'line4\nline5\n'])
    await out.flush()
    await out.flush()
    expect(pieces.join('')).toBe(Array.from({length: 7}, (_, i) => `line${i}\n`).join(''))
    expect(pieces).toHaveLength(4)
  })

  it('waits for the writer only when a piece goes out', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const out = batched(() => gate, 4)
    expect(out.write('ab')).toBeUndefined()
    const pending = out.write('cd')
    expect(pending).toBeInstanceOf(Promise)
    let done = false
    void pending!.then(() => (done = true))
    await Promise.resolve()
    expect(done).toBe(false)
    release()
    await pending
    expect(done).toBe(true)
  })
})

describe('a reader slower than dlq gets everything dlq wrote (process.exit drops what a pipe has not taken)', () => {
  /** Runs node with `args`, its stdout read only after `pauseMs`: what it wrote, and its exit code. */
  const slowlyRead = (args: string[], pauseMs: number) =>
    new Promise<{out: string; code: number | null}>((resolve) => {
      const child = spawn(process.execPath, args, {cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore']})
      const chunks: Buffer[] = []
      child.stdout.on('data', (d: Buffer) => chunks.push(d))
      child.stdout.pause()
      setTimeout(() => child.stdout.resume(), pauseMs)
      child.on('close', (code) => resolve({out: Buffer.concat(chunks).toString(), code}))
    })

  it('written() resolves once a pipe has taken all of 4 MiB, so an exit after it loses nothing', async () => {
    const script = `const cli = require('./bin/load-cli.js').loadCli(); process.stdout.write('x'.repeat(4 << 20)); cli.written(process.stdout).then(() => process.exit(3))`
    const {out, code} = await slowlyRead(['-e', script], 500)
    expect(code).toBe(3)
    expect(out.length).toBe(4 << 20)
  })

  it('a command whose reader is paused past the 2 s after which a finished command is ended still gets the whole --json document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-slow-reader-'))
    const file = join(dir, 'dlq.ndjson')
    writeFileSync(file, Array.from({length: 5000}, (_, i) => JSON.stringify({timestamp: 1_764_000_000_000 + i, reason: 'timeout', payload: Buffer.from(`{"n":${i},"pad":"${'p'.repeat(300)}"}`).toString('base64')}) + '\n').join(''))
    const {out, code} = await slowlyRead([BIN, 'inspect', file, '--json', '--limit', '5000'], 3000)
    expect(code).toBe(0)
    expect(JSON.parse(out).items).toHaveLength(5000)
  }, 30_000)
})
