import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {FileLedger} from '../../src/backends/file/ledger.js'

/**
 * The replay ledger's lock file, left behind by a dlq killed while it held it (kill -9 during
 * a claim): the next replay must not wait for it to age (a minute) and then refuse to run.
 */
const dir = mkdtempSync(join(tmpdir(), 'dlq-lock-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** This process's PID namespace and boot, as a lock records them (a pid means a process only within both). */
const NS = `${readlinkSync('/proc/self/ns/pid')} ${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`
const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout)
const claim = (ledger: FileLedger, position: string) => ledger.claim([{position, target: {topic: 'orders', partition: 0}, mark: null}], 'test/1/run', false)

describe('the file ledger lock', () => {
  it('a lock left by a process that died is broken at once, and the claim is made', async () => {
    const path = join(dir, 'dead.ndjson')
    writeFileSync(`${path}.lock`, JSON.stringify({pid: deadPid(), host: hostname(), token: 'gone', at: new Date().toISOString(), ns: NS}))
    const started = Date.now()
    expect([...(await claim(new FileLedger(path), 'msg:a'))]).toEqual(['msg:a'])
    expect(Date.now() - started).toBeLessThan(5000)
    expect(existsSync(`${path}.lock`)).toBe(false)
    expect(readFileSync(path, 'utf8')).toMatch(/"claim"/)
  })

  it('a lock held by a live process is waited for, then refused naming its owner; the ledger is untouched', async () => {
    const path = join(dir, 'live.ndjson')
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {stdio: 'ignore'})
    try {
      writeFileSync(`${path}.lock`, JSON.stringify({pid: holder.pid, host: hostname(), token: 'held', at: '2026-12-01T00:00:00.000Z', ns: NS}))
      process.env.DLQ_LOCK_WAIT_MS = '300'
      const error = await claim(new FileLedger(path), 'msg:a').then(() => null, (e: Error) => e)
      expect(error?.message).toMatch(new RegExp(`is locked by pid ${holder.pid} on .* since 2026-12-01T00:00:00.000Z`))
      expect(existsSync(path)).toBe(false)
      expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).token).toBe('held')
    } finally {
      delete process.env.DLQ_LOCK_WAIT_MS
      holder.kill('SIGKILL')
    }
  })

  it('a dead pid of another PID namespace (a container sharing the host name) or boot is not taken for dead: only its age tells', async () => {
    for (const ns of ['pid:[1] another-boot', undefined]) {
      const path = join(dir, `other-ns-${ns === undefined ? 'none' : 'other'}.ndjson`)
      // Its pid may be a live process there: the pid here says nothing about it.
      writeFileSync(`${path}.lock`, JSON.stringify({pid: deadPid(), host: hostname(), token: 'theirs', at: new Date().toISOString(), ...(ns ? {ns} : {})}))
      process.env.DLQ_LOCK_WAIT_MS = '300'
      try {
        await expect(claim(new FileLedger(path), 'msg:a')).rejects.toThrow(/is locked by pid/)
        const old = new Date(Date.now() - 120_000)
        utimesSync(`${path}.lock`, old, old)
        expect([...(await claim(new FileLedger(path), 'msg:a'))]).toEqual(['msg:a'])
      } finally {
        delete process.env.DLQ_LOCK_WAIT_MS
      }
    }
  })

  it('a lock naming this very pid with a token it does not hold is a dead predecessor\'s (a restarted container keeps its pid): broken at once', async () => {
    const path = join(dir, 'same-pid.ndjson')
    writeFileSync(`${path}.lock`, JSON.stringify({pid: process.pid, host: hostname(), token: 'before-the-restart', at: new Date().toISOString(), ns: NS}))
    process.env.DLQ_LOCK_WAIT_MS = '2000'
    try {
      expect([...(await claim(new FileLedger(path), 'msg:a'))]).toEqual(['msg:a'])
    } finally {
      delete process.env.DLQ_LOCK_WAIT_MS
    }
  })

  it('a lock naming no owner (garbage, or not yet written) is broken only once it is old', async () => {
    const path = join(dir, 'garbage.ndjson')
    writeFileSync(`${path}.lock`, '')
    process.env.DLQ_LOCK_WAIT_MS = '300'
    try {
      await expect(claim(new FileLedger(path), 'msg:a')).rejects.toThrow(/is locked by another replay/)
      const old = new Date(Date.now() - 120_000)
      utimesSync(`${path}.lock`, old, old)
      expect([...(await claim(new FileLedger(path), 'msg:a'))]).toEqual(['msg:a'])
    } finally {
      delete process.env.DLQ_LOCK_WAIT_MS
    }
  })
})
