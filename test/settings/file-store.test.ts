import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {FileSettingsStore} from '../../src/backends/file/settings-store.js'
import {getGlobalTarget, globalTarget, setGlobalTarget} from '../../src/core/settings/global-target.js'

const by = {user: 'test', host: 'here'}
const fresh = () => join(mkdtempSync(join(tmpdir(), 'dlq-settings-')), 'settings.json')

describe('file settings store', () => {
  it('replaces the file atomically and leaves no temporary or lock file behind', async () => {
    const path = fresh()
    const store = new FileSettingsStore(path)
    await setGlobalTarget(store, globalTarget('a'), {by})
    await setGlobalTarget(store, globalTarget('b', 'g'), {by, expectedVersion: 1})
    expect(readdirSync(join(path, '..'))).toEqual(['settings.json'])
    const doc = JSON.parse(readFileSync(path, 'utf8'))
    expect(doc.format).toBe('dlq-settings')
    expect(doc.history).toHaveLength(2)
  })

  it('breaks a lock left by a writer that died, and one too old to be live', async () => {
    const path = fresh()
    const store = new FileSettingsStore(path)
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'})
    const ns = `${readlinkSync('/proc/self/ns/pid')} ${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`
    writeFileSync(path + '.lock', JSON.stringify({pid: Number(dead.stdout), host: hostname(), token: 'gone', at: new Date().toISOString(), ns}))
    expect((await setGlobalTarget(store, globalTarget('a'), {by})).document.version).toBe(1)
    expect(existsSync(path + '.lock')).toBe(false)

    writeFileSync(path + '.lock', 'garbage from a crash')
    const old = new Date(Date.now() - 120_000)
    utimesSync(path + '.lock', old, old)
    expect((await setGlobalTarget(store, globalTarget('b'), {by, expectedVersion: 1})).document.version).toBe(2)
    expect((await getGlobalTarget(store)).target).toEqual({topic: 'b', group: null})
  })

  it('refuses a file that is not a dlq settings file instead of overwriting it', async () => {
    const path = fresh()
    writeFileSync(path, '{"something": "else"}')
    await expect(setGlobalTarget(new FileSettingsStore(path), globalTarget('a'), {by})).rejects.toThrow(/not a dlq settings file/)
    expect(readFileSync(path, 'utf8')).toBe('{"something": "else"}')
  })
})
