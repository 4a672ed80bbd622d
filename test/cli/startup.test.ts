import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {describe, expect, it} from 'vitest'
import {dlq, FIXTURES, ROOT} from '../helpers/cli.js'

// What a command loads before it reads its first byte (issue 12, start-up): only the invoked
// command's module, and none of Node's modules that only other paths need.
const dir = mkdtempSync(join(tmpdir(), 'dlq-startup-'))
// A module-loader hook that writes every ES module the CLI loads (hooks run off the main
// thread, so stderr is the way out), and an exit handler that writes Node's own modules.
writeFileSync(join(dir, 'hooks.mjs'), `export async function load(url, context, next) {
  if (url.startsWith('file:')) process.stderr.write('@@esm ' + url + '\\n')
  return next(url, context)
}
`)
writeFileSync(join(dir, 'trace.mjs'), `import {register} from 'node:module'
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)})
process.on('exit', () => process.stderr.write('@@builtins ' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' ') + '\\n'))
`)

function traced(args: string[]) {
  const r = dlq(args, {env: {NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'trace.mjs')).href}`}})
  const esm = [...r.stderr.matchAll(/^@@esm (.*)$/gm)].map((m) => m[1].split('/').pop()!)
  const builtins = r.stderr.match(/^@@builtins (.*)$/m)?.[1].split(' ') ?? []
  return {...r, esm, builtins}
}

describe('start-up', () => {
  it('inspect loads its own command module and no other command', () => {
    const r = traced(['inspect', join(FIXTURES, 'hyperi.ndjson'), '--limit', '1'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/1 shown/)
    expect(r.esm.filter((f) => /^inspect-[A-Z0-9]+\.js$/.test(f))).toHaveLength(1)
    expect(r.esm.filter((f) => /^(browse|check|completion|export|purge|replay|stats|tail|help|get|set|clear|list|history)-[A-Z0-9]+\.js$/.test(f))).toEqual([])
  })

  it("inspect of a file loads none of the Node modules only other paths need", () => {
    const r = traced(['inspect', join(FIXTURES, 'hyperi.ndjson'), '--limit', '1'])
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
    const cli = await import(pathToFileURL(join(ROOT, 'dist', 'cli.js')).href)
    const table = await cli.loadAllCommands()
    expect(Object.keys(table).sort()).toEqual(Object.keys(manifest.commands).sort())
    for (const command of Object.values(table)) expect(typeof (command as {run?: unknown}).run).toBe('function')
    expect(await cli.loadCommand('no-such-command')).toBe(false)
  })
})
