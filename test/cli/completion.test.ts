import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {dlq, dlqJson} from '../helpers/cli.js'

/**
 * Issue 14 item 12: `dlq completion bash|zsh|fish`. Each script is loaded into its real shell
 * (installed by scripts/services.sh tools) and asked for completions of typed words.
 */
const tmp = mkdtempSync(join(tmpdir(), 'dlq-completion-'))
function script(shell: string): string {
  const r = dlq(['completion', shell])
  expect(r.code, r.stderr).toBe(0)
  const path = join(tmp, `dlq.${shell}`)
  writeFileSync(path, r.stdout)
  return path
}

const cases: Array<[string[], string[]]> = [
  [['dlq', ''], ['browse', 'check', 'completion', 'export', 'global-target', 'help', 'inspect', 'policy', 'purge', 'replay', 'stats', 'tail']],
  [['dlq', 'ins'], ['inspect']],
  [['dlq', 'policy', ''], ['clear', 'get', 'history', 'list', 'set']],
  [['dlq', 'inspect', '--output', ''], ['table', 'wide', 'json', 'ndjson']],
  [['dlq', 'inspect', 'x.ndjson', '-o', 'w'], ['wide']],
  [['dlq', 'policy', 'set', 'orders', '--dlq', ''], ['discard', 'global', 'custom']],
  [['dlq', '--json', 'stats', '--limit', '5', '--gr'], ['--grep']],
  [['dlq', 'inspect', '--filter', 're'], ['reason', 'retries']],
  [['dlq', 'global-target', 'set', 'x', '--expected'], ['--expected-version']],
]

describe('shell completion', () => {
  it('--json gives one document with the script in it, as every command\'s --json does', () => {
    const plain = dlq(['completion', 'fish'])
    const j = dlqJson(['completion', 'fish', '--json'])
    expect(j.code).toBe(0)
    expect(j.json).toEqual({shell: 'fish', script: plain.stdout})
  })

  it('bash: commands, topics, flags and flag values', () => {
    const path = script('bash')
    for (const [words, want] of cases) {
      const arr = words.map((w) => `'${w}'`).join(' ')
      const r = spawnSync('bash', ['-c', `source '${path}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _dlq; printf '%s\\n' "\${COMPREPLY[@]}"`], {encoding: 'utf8'})
      expect(r.status, r.stderr).toBe(0)
      const got = r.stdout.split('\n').filter(Boolean)
      expect(got.sort(), words.join(' ')).toEqual([...want].sort())
    }
  })

  it('zsh: the same answers through compadd', () => {
    const path = script('zsh')
    expect(spawnSync('zsh', ['-n', path]).status).toBe(0)
    for (const [words, want] of cases) {
      const arr = words.map((w) => `'${w}'`).join(' ')
      // Outside a completion widget compadd does not exist: a stand-in prints what would be offered.
      const r = spawnSync('zsh', ['-c', `source '${path}'; compadd() { [[ $1 == -a ]] && print -rl -- \${(P)2} }; _files() { print FILES }; words=(${arr}); CURRENT=${words.length}; _dlq`], {encoding: 'utf8'})
      expect(r.status, r.stderr).toBe(0)
      const prefix = words.at(-1)!
      const got = r.stdout.split('\n').filter((w) => w && w.startsWith(prefix))
      expect(got.sort(), words.join(' ')).toEqual([...want].sort())
    }
  })

  it('fish: complete -C gives the same answers, with descriptions', () => {
    const path = script('fish')
    for (const [words, want] of cases) {
      const line = words.join(' ')
      const r = spawnSync('fish', ['--no-config', '-c', `source '${path}'; complete -C '${line}'`], {encoding: 'utf8'})
      expect(r.status, r.stderr).toBe(0)
      const got = r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0])
      expect(got.sort(), line).toEqual([...want].sort())
    }
    const described = spawnSync('fish', ['--no-config', '-c', `source '${path}'; complete -C 'dlq '`], {encoding: 'utf8'}).stdout
    expect(described).toMatch(/^inspect\tShow one page of messages from a DLQ\.$/m)
  })

  it('refuses an unknown shell with a usage error', () => {
    expect(dlq(['completion', 'tcsh']).code).toBe(2)
  })
})
