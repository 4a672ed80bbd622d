import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {afterAll, describe, expect, it} from 'vitest'
import {BIN} from '../helpers/cli.js'
import {freePort, needService, startRedis, until} from '../helpers/services.js'

const redis = await needService('redis')

describe.runIf(redis.available)('tail --follow on Redis outlives a server restart', () => {
  const procs: ChildProcess[] = []
  afterAll(() => procs.forEach((p) => p.kill('SIGKILL')))

  it('the server killed while following: it says so, retries, and prints what is written after the restart, each entry once', async () => {
    // A server of this test's own (durable, so the stream is there again after the restart).
    const dir = mkdtempSync(join(tmpdir(), 'dlq-follow-redis-'))
    const port = await freePort()
    let server = await startRedis(port, dir)
    procs.push(server)
    const add = (n: number) => expect(spawnSync('redis-cli', ['-p', String(port), 'XADD', 'dlq', '*', 'payload', `{"n":${n}}`, 'reason', 'timeout'], {encoding: 'utf8'}).status).toBe(0)
    add(0)

    const child = spawn(process.execPath, [BIN, 'tail', `redis://127.0.0.1:${port}/dlq`, '--follow', '-n', '0', '--output', 'ndjson'], {stdio: ['ignore', 'pipe', 'pipe']})
    procs.push(child)
    const lines: string[] = []
    let stderr = ''
    createInterface({input: child.stdout!}).on('line', (l) => lines.push(l))
    child.stderr!.on('data', (d) => (stderr += d))
    // 'close', not 'exit': the child's output may still be on its way when it has exited.
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const seen = () => `${lines.length} lines; stderr: ${stderr}`

    // Written (once a second) until one is seen: then the follow is live.
    let polls = 0
    let n = 1
    await until(() => {
      if (lines.length === 0 && polls++ % 20 === 0) add(n++)
      return lines.length > 0
    }, seen)
    const first = lines.length
    server.kill('SIGKILL')
    await new Promise((r) => server.once('exit', r))
    await until(() => /lost the connection to Redis at 127\.0\.0\.1:\d+.*: retrying every 2 s \(Ctrl-C to stop\)/.test(stderr), seen)
    // Still down at the next try: one notice, not one per try.
    await new Promise((r) => setTimeout(r, 2500))
    expect(child.exitCode).toBeNull()
    expect(stderr.match(/retrying every/g)).toHaveLength(1)

    server = await startRedis(port, dir)
    procs.push(server)
    await until(() => /connected again after \d+ s; following on from where it stood/.test(stderr), seen)
    const last = n
    add(n++)
    await until(() => lines.length > first, seen)
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    // Each entry once, in order, none skipped: what was written before the kill was printed
    // before it, and the follow went on from the last id it had seen.
    const ns = lines.map((l) => JSON.parse(JSON.parse(l).payload.text).n)
    expect(ns).toEqual(Array.from({length: ns.length}, (_, i) => ns[0] + i))
    expect(ns.at(-1)).toBe(last)
    expect(new Set(lines.map((l) => JSON.parse(l).position)).size).toBe(lines.length)
  }, 60_000)
})
