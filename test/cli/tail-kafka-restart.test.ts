import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {afterAll, describe, expect, it} from 'vitest'
import {BIN, ROOT} from '../helpers/cli.js'
import {needService, until} from '../helpers/services.js'

const kafka = await needService('kafka')

describe.runIf(kafka.available)('tail --follow on Kafka outlives a broker restart', () => {
  // A broker of this test's own, so it can be killed and started again.
  const stateDir = mkdtempSync(join(tmpdir(), 'dlq-follow-restart-'))
  const port = 19192 + Math.floor(Math.random() * 500) * 2 + 1000
  const env = {DLQ_KAFKA_PORT: String(port), DLQ_KAFKA_CONTROLLER_PORT: String(port + 1), DLQ_SERVICES_DIR: stateDir}
  const services = (...args: string[]) => spawnSync('bash', [join(ROOT, 'scripts', 'services.sh'), ...args], {env: {...process.env, ...env}, encoding: 'utf8'})
  afterAll(() => services('down', 'kafka'))

  it('the broker killed while following: it says so, retries, and prints what is written after the restart, each message once', async () => {
    expect(services('up', 'kafka').status).toBe(0)
    const brokers = `127.0.0.1:${port}`
    const made = spawnSync(process.execPath, [join(ROOT, 'bench', 'kafka-topic.mjs'), brokers, 'dlq-follow', '--partitions', '1'], {encoding: 'utf8'})
    expect(made.status, made.stderr).toBe(0)
    const produce = (value: string) => expect(spawnSync('kcat', ['-P', '-b', brokers, '-t', 'dlq-follow'], {input: `${value}\n`, encoding: 'utf8'}).status).toBe(0)

    const child = spawn(process.execPath, [BIN, 'tail', `kafka://${brokers}/dlq-follow`, '--follow', '-n', '0', '--output', 'ndjson'], {stdio: ['ignore', 'pipe', 'pipe']})
    const lines: string[] = []
    let stderr = ''
    createInterface({input: child.stdout}).on('line', (l) => lines.push(l))
    child.stderr.on('data', (d) => (stderr += d))
    // 'close', not 'exit': the child's output may still be on its way when it has exited.
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const seen = () => `${lines.length} lines; stderr: ${stderr}`

    // Written (once a second) until one is seen: then the follow is live.
    let polls = 0
    await until(() => {
      if (lines.length === 0 && polls++ % 20 === 0) produce('{"n":1}')
      return lines.length > 0
    }, seen)
    const first = lines.length
    process.kill(Number(readFileSync(join(stateDir, 'kafka', 'kafka.pid'), 'utf8')), 'SIGKILL')
    await until(() => /cannot connect: retrying every 2 s \(Ctrl-C to stop\)/.test(stderr), seen)
    expect(child.exitCode).toBeNull()

    expect(services('up', 'kafka').status).toBe(0)
    polls = 0
    await until(() => {
      if (lines.length === first && polls++ % 20 === 0) produce('{"n":2}')
      return lines.length > first
    }, seen)
    await until(() => /connected again after \d+ s; following on from where it stood/.test(stderr), seen)
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    // Each message once, in order, none skipped: the cursor stayed where it stood.
    const offsets = lines.map((l) => Number(JSON.parse(l).position.split(':')[1]))
    expect(offsets).toEqual(offsets.map((_, i) => offsets[0] + i))
    expect(lines.map((l) => JSON.parse(l).payload.text).at(-1)).toBe('{"n":2}')
  }, 180_000)
})
