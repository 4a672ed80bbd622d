import {chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {crc32} from 'node:zlib'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {dlq, FIXTURES, ROOT} from '../helpers/cli.js'

// What a command loads before it reads its first byte (issue 12, start-up): dist/cli.cjs and
// only the invoked command's module in it, none of the bundles for other paths (the Kafka
// client, the schema decoders, the TUI) and none of Node's modules that only other paths need.
const dir = mkdtempSync(join(tmpdir(), 'dlq-startup-'))
// Preloaded (--require): at exit, writes the files require() knows (the bundles are registered
// there, bin/load-cli.js), the commands the command table holds, and Node's own modules.
writeFileSync(join(dir, 'trace.cjs'), `process.on('exit', () => {
  const cache = require('node:module')._cache
  const cli = Object.keys(cache).find((f) => f.endsWith('cli.cjs'))
  process.stderr.write('@@files ' + Object.keys(cache).map((f) => f.split(/[\\\\/]/).pop()).join(' ') + '\\n')
  process.stderr.write('@@commands ' + (cli ? Object.keys(cache[cli].exports.COMMANDS).join(' ') : '') + '\\n')
  process.stderr.write('@@builtins ' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' ') + '\\n')
})
`)

function traced(args: string[]) {
  const r = dlq(args, {env: {NODE_OPTIONS: `--require ${join(dir, 'trace.cjs')}`}})
  const list = (name: string) => r.stderr.match(new RegExp(`^@@${name} (.*)$`, 'm'))?.[1].split(' ').filter(Boolean) ?? []
  return {...r, files: list('files'), commands: list('commands'), builtins: list('builtins')}
}

const inspectArgs = ['inspect', join(FIXTURES, 'hyperi.ndjson'), '--limit', '1']

describe('start-up', () => {
  it('inspect runs its own command module and loads none of the bundles other paths need', () => {
    const r = traced(inspectArgs)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/1 shown/)
    expect(r.commands).toEqual(['inspect'])
    expect(r.files).toContain('cli.cjs')
    for (const f of ['kafka.cjs', 'schema.cjs', 'tui-vendor.js']) expect(r.files).not.toContain(f)
  })

  it('inspect of a file loads none of the Node modules only other paths need', () => {
    const r = traced(inspectArgs)
    expect(r.code, r.stderr).toBe(0)
    expect(r.builtins).toContain('fs') // the list was read
    // child_process (with dgram): oclif's Windows shell lookup and wsl-utils; readline: prompts
    // and oclif's stdin flags; perf_hooks: oclif's performance markers.
    for (const m of ['child_process', 'dgram', 'readline', 'readline/promises', 'perf_hooks']) expect(r.builtins).not.toContain(m)
  })

  it('a command is still found, run and helped when its module loads on demand', () => {
    const set = dlq(['policy', 'set', '--help'])
    expect(set.code).toBe(0)
    expect(set.stdout).toMatch(/USAGE\n {2}\$ dlq policy set SOURCE_TOPIC/)
    const typo = dlq(['inspct', 'x'])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toMatch(/"inspct" is not a dlq command\. Did you mean "inspect"\?/)
  })

  it('the command table loads every command in oclif.manifest.json, and no other', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
    const cli = createRequire(import.meta.url)(join(ROOT, 'dist', 'cli.cjs'))
    const table = await cli.loadAllCommands()
    expect(Object.keys(table).sort()).toEqual(Object.keys(manifest.commands).sort())
    for (const command of Object.values(table)) expect(typeof (command as {run?: unknown}).run).toBe('function')
    expect(await cli.loadCommand('no-such-command')).toBe(false)
  })
})

// bin/load-cli.js: dist/cli.cjs compiled with a V8 code cache kept in DLQ_CODE_CACHE_DIR.
describe('code cache', () => {
  const expected = dlq([...inspectArgs, '--json'], {env: {DLQ_DISABLE_CODE_CACHE: '1'}})
  const run = (cacheDir: string, env: Record<string, string> = {}) => dlq([...inspectArgs, '--json'], {env: {DLQ_CODE_CACHE_DIR: cacheDir, ...env}})
  const caches = (cacheDir: string) => (existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => f.startsWith('cli.cjs-') && f.endsWith('.bin')) : [])

  it('is written by the first run, once, and read by the next', () => {
    expect(expected.code, expected.stderr).toBe(0)
    const cacheDir = join(mkdtempSync(join(tmpdir(), 'dlq-cache-')), 'nested')
    const first = run(cacheDir)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toBe(expected.stdout)
    const [file] = caches(cacheDir)
    expect(file).toBeDefined()
    const written = statSync(join(cacheDir, file))
    expect(written.size).toBeGreaterThan(10_000)
    const second = run(cacheDir)
    expect(second.stdout).toBe(expected.stdout)
    // An accepted cache is not written again; no temporary files are left.
    expect(readdirSync(cacheDir)).toEqual([file])
    expect(statSync(join(cacheDir, file)).mtimeMs).toBe(written.mtimeMs)
  })

  it('a corrupt or truncated cache is rejected, the command runs as without one, and the cache is rewritten', () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'dlq-cache-'))
    expect(run(cacheDir).code).toBe(0)
    const [file] = caches(cacheDir)
    const path = join(cacheDir, file)
    const good = readFileSync(path)
    for (const bad of [Buffer.from('not a V8 code cache'), good.subarray(0, good.length >> 1), Buffer.alloc(0), Buffer.from(good).fill(7, 64, 4096)]) {
      writeFileSync(path, bad)
      const r = run(cacheDir)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe(expected.stdout)
      expect(r.stderr).toBe(expected.stderr)
      expect(readFileSync(path).length).toBeGreaterThan(10_000)
    }
  })

  it('keeps one cache per command, and at most 12 of one bundle (runs with other flags each get their own)', () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'dlq-cache-'))
    expect(dlq(['stats', join(FIXTURES, 'hyperi.ndjson')], {env: {DLQ_CODE_CACHE_DIR: cacheDir}}).code).toBe(0)
    expect(run(cacheDir).code).toBe(0)
    expect(caches(cacheDir).map((f) => f.replace(/.*-/, '')).sort()).toEqual(['inspect.bin', 'stats.bin'])
    for (let i = 0; i < 12; i++) {
      const r = run(cacheDir, {NODE_OPTIONS: `--max-old-space-size=${900 + i}`})
      expect(r.stdout).toBe(expected.stdout)
    }
    expect(caches(cacheDir)).toHaveLength(12)
  })

  it('a cache directory other users can write to is neither read nor written', () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'dlq-cache-'))
    chmodSync(cacheDir, 0o777)
    const r = run(cacheDir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(expected.stdout)
    expect(readdirSync(cacheDir)).toEqual([])
    // A cache planted there is not used: this one, damaged under a correct CRC-32, would
    // crash V8 if it were.
    chmodSync(cacheDir, 0o700)
    expect(run(cacheDir).code).toBe(0)
    const [file] = caches(cacheDir)
    const data = readFileSync(join(cacheDir, file)).subarray(4).fill(7, 64, 4096)
    const sum = Buffer.alloc(4)
    sum.writeUInt32LE(crc32(data))
    writeFileSync(join(cacheDir, file), Buffer.concat([sum, data]))
    chmodSync(cacheDir, 0o777)
    const planted = run(cacheDir)
    expect(planted.code, planted.stderr).toBe(0)
    expect(planted.stdout).toBe(expected.stdout)
  })

  it('with --enable-source-maps the bundle is required as usual (Node maps its traces), no cache', () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'dlq-cache-'))
    const r = run(cacheDir, {NODE_OPTIONS: '--enable-source-maps'})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(expected.stdout)
    expect(readdirSync(cacheDir)).toEqual([])
  })

  it('an unwritable cache directory and DLQ_DISABLE_CODE_CACHE=1 leave the command as it is and write nothing', () => {
    const base = mkdtempSync(join(tmpdir(), 'dlq-cache-'))
    // A regular file where the directory would be: nothing can be created under it.
    const blocked = join(base, 'file')
    writeFileSync(blocked, 'x')
    const r = run(join(blocked, 'cache'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(expected.stdout)
    expect(r.stderr).toBe(expected.stderr)
    const off = join(base, 'off')
    const d = run(off, {DLQ_DISABLE_CODE_CACHE: '1'})
    expect(d.code).toBe(0)
    expect(d.stdout).toBe(expected.stdout)
    expect(existsSync(off)).toBe(false)
  })
})
