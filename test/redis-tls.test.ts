import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openRedisReader, openRedisSink} from '../src/backends/redis/index.js'
import {dlq, dlqJson} from './helpers/cli.js'
import {freePort} from './helpers/services.js'
import {throwAwayCertificates} from './helpers/tls.js'

/**
 * rediss:// against a real TLS Redis. The shared test Redis has no TLS, so this file starts
 * its own redis-server (same Debian package) on a free loopback port with a throw-away CA,
 * and stops it by its pid afterwards.
 */
const missing = ['redis-server', 'openssl'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
if (missing.length > 0) {
  const msg = `${missing.join(' and ')} not installed (bash scripts/services.sh up redis installs redis-server)`
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI=true and ${msg}`)
  console.warn(`\n\u26a0\u26a0\u26a0 SKIPPING REDIS TLS TESTS: ${msg} \u26a0\u26a0\u26a0\n`)
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket()
      s.once('error', () => resolve(false))
      s.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)))
    })
    if (ok) return
    if (Date.now() > until) throw new Error(`TLS redis-server did not listen on 127.0.0.1:${port} within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe.skipIf(missing.length > 0)('redis over TLS (rediss://)', () => {
  let dir: string
  let port: number
  let server: ChildProcess
  let config: string
  let insecureConfig: string
  const env = () => ({DLQ_CONFIG: config, DLQ_PROFILE: ''})

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dlq-redis-tls-'))
    throwAwayCertificates(dir)
    config = join(dir, 'config.json')
    writeFileSync(config, JSON.stringify({profiles: {default: {redis: {tls: {ca: join(dir, 'ca.crt')}}}}}))
    insecureConfig = join(dir, 'insecure.json')
    writeFileSync(insecureConfig, JSON.stringify({profiles: {default: {redis: {tls: {insecure: true}}}}}))
    port = await freePort()
    server = spawn(
      'redis-server',
      ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', 'server.crt', '--tls-key-file', 'server.key',
        '--tls-ca-cert-file', 'ca.crt', '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--dir', dir],
      {cwd: dir, stdio: 'ignore'},
    )
    await waitForPort(port, 10_000)
  })

  afterAll(async () => {
    if (server?.pid !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve))
      server.kill('SIGTERM')
      await exited
    }
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('replays into and reads from a stream over TLS, trusting the CA from the profile', async () => {
    const saved = {config: process.env.DLQ_CONFIG, profile: process.env.DLQ_PROFILE}
    process.env.DLQ_CONFIG = config
    delete process.env.DLQ_PROFILE
    try {
      const sink = await openRedisSink(`rediss://127.0.0.1:${port}/0`)
      const value = Buffer.from([0x00, 0xff, 0x10])
      const [sent] = await sink.send([{topic: 'tls-dlq', partition: null, key: Buffer.from('k'), value, headers: [{key: 'h', value: null}], timestamp: null}])
      await sink.close()
      const reader = await openRedisReader(`rediss://127.0.0.1:${port}/0/tls-dlq`)
      try {
        expect(reader.info.display).toBe(`rediss://127.0.0.1:${port}/0/tls-dlq`)
        const got = (await reader.get([sent.offset])).get(sent.offset)!
        expect([got.key, got.payload, got.userHeaders]).toEqual([Buffer.from('k'), value, [{key: 'h', value: null}]])
      } finally {
        await reader.close()
      }
    } finally {
      for (const [name, v] of [['DLQ_CONFIG', saved.config], ['DLQ_PROFILE', saved.profile]] as const) {
        if (v === undefined) delete process.env[name]
        else process.env[name] = v
      }
    }
  })

  it('works through the CLI, also with certificate checks turned off in the profile', () => {
    const r = dlqJson(['stats', `rediss://127.0.0.1:${port}/0/tls-dlq`], {env: env()})
    expect(r.code).toBe(0)
    expect(r.json.total).toBe(1)
    const insecure = dlqJson(['stats', `rediss://127.0.0.1:${port}/0/tls-dlq`], {env: {DLQ_CONFIG: insecureConfig, DLQ_PROFILE: ''}})
    expect(insecure.json.total).toBe(1)
  })

  it('an untrusted certificate or plain redis:// against TLS is exit 4 with the reason', () => {
    const untrusted = dlq(['inspect', `rediss://127.0.0.1:${port}/0/tls-dlq`], {env: {DLQ_CONFIG: join(dir, 'none.json'), DLQ_PROFILE: ''}})
    expect(untrusted.code, untrusted.stdout + untrusted.stderr).toBe(4)
    expect(untrusted.stderr).toMatch(/TLS with Redis at 127\.0\.0\.1:\d+ failed: self-signed certificate/)
    const plain = dlq(['inspect', `redis://127.0.0.1:${port}/0/tls-dlq`], {env: env()})
    expect(plain.code, plain.stdout + plain.stderr).toBe(4)
    expect(plain.stderr).toMatch(/lost the connection to Redis at 127\.0\.0\.1:\d+ \(if the server wants TLS, use rediss:\/\/\)/)
  })

  it('a CA file that cannot be read is a usage error naming it', () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({profiles: {default: {redis: {tls: {ca: join(dir, 'no-such-ca.pem')}}}}}))
    const r = dlq(['inspect', `rediss://127.0.0.1:${port}/0/tls-dlq`], {env: {DLQ_CONFIG: bad, DLQ_PROFILE: ''}})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/profile redis\.tls\.ca: cannot read .*no-such-ca\.pem \(ENOENT\)/)
  })
})
