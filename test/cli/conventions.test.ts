import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {dlq, dlqJson, ROOT} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {STORE_KINDS, dropStore, freshStore} from '../settings/helpers.js'

/** Issue 14, "help and conventions": help that works, suggestions, clean errors, policy clear/history. */
describe('help', () => {
  it('11: dlq --help and the topics show each topic\'s own description', () => {
    const top = dlq(['--help'])
    expect(top.code).toBe(0)
    expect(top.stdout).toMatch(/global-target\s+The global DLQ target/)
    expect(top.stdout).toMatch(/policy\s+Per-source-queue DLQ policies/)
    for (const [topic, text] of [
      ['global-target', /The global DLQ target/],
      ['policy', /Per-source-queue DLQ policies/],
    ] as const) {
      const r = dlq([topic, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout.split('\n')[0]).toMatch(text)
    }
  })

  it('11: -h and "dlq help COMMAND" show help with exit 0', () => {
    for (const args of [['-h'], ['inspect', '-h'], ['help', 'inspect'], ['help'], ['help', 'policy', 'set'], ['policy', 'set', '-h']]) {
      const r = dlq(args)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      expect(r.stdout, args.join(' ')).toMatch(/USAGE/)
    }
    expect(dlq(['help', 'inspect']).stdout).toBe(dlq(['inspect', '--help']).stdout)
  })

  it('11: a mistyped command is a usage error that suggests the closest one', () => {
    const cases: Array<[string[], RegExp]> = [
      [['inspct', 'x'], /"inspct" is not a dlq command\. Did you mean "inspect"\?/],
      [['polcy'], /Did you mean "policy"\?/],
      [['policy', 'clr'], /"policy clr" is not a dlq command\. Did you mean "policy clear"\?/],
      [['global-target', 'gte'], /Did you mean "global-target get"\?/],
      // `dlq help NAME` says the same, not oclif's "Command … not found".
      [['help', 'inspct'], /^Error: "inspct" is not a dlq command\. Did you mean "inspect"\?/],
      [['help', 'policy', 'clr'], /^Error: "policy clr" is not a dlq command\. Did you mean "policy clear"\?/],
    ]
    for (const [args, want] of cases) {
      const r = dlq(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(want)
    }
    const none = dlq(['zzzzzz'])
    expect(none.code).toBe(2)
    expect(none.stderr).not.toMatch(/Did you mean/)
    expect(none.stderr).toMatch(/dlq --help/)
  })

  it('11: flag errors print no literal \\t, and the filter fields in help and in the error are the same list', () => {
    const r = dlq(['inspect', 'fixtures/mixed.ndjson', '--limit', 'abc'])
    expect(r.code).toBe(2)
    expect(r.stderr).not.toContain('\\t')
    expect(r.stderr).toMatch(/Expected an integer but received: abc/)
    const err = dlq(['inspect', 'fixtures/mixed.ndjson', '--filter', 'nope=1']).stderr
    const fromError = err.match(/\(fields: ([^)]*)\)/)![1].split(', ')
    const help = dlq(['inspect', '--help']).stdout.replace(/\s+/g, ' ')
    const fromHelp = help.match(/Fields: (.*?)(?: --| -[a-z],|$)/)![1].trim().split(', ')
    expect(fromHelp).toEqual(fromError)
  })

  it('11: every example path in the help exists, and arguments are named consistently (SOURCE_TOPIC)', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
    for (const [id, cmd] of Object.entries<any>(manifest.commands)) {
      for (const ex of cmd.examples ?? []) for (const m of String(ex).matchAll(/\b(fixtures\/[\w./-]+)/g)) expect(existsSync(join(ROOT, m[1])), `${id}: ${m[1]}`).toBe(true)
    }
    for (const sub of ['get', 'set', 'clear', 'history']) {
      const r = dlq(['policy', sub, '--help'])
      expect(r.stdout, sub).toMatch(/SOURCE_TOPIC/)
      expect(r.stdout, sub).not.toMatch(/SOURCETOPIC/)
    }
  })
})

describe('14: a password in a URI on the command line', () => {
  it('warns once on stderr, pointing to the environment or a profile, without repeating the password', () => {
    const r = dlq(['inspect', 'redis://ops:hunter2-secret@127.0.0.1:1/dlq', '--json'])
    expect(r.code).toBe(4)
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/visible to every user in `ps`/)
    expect(warnings[0]).toMatch(/DLQ_REDIS_PASSWORD/)
    expect(r.stdout + r.stderr).not.toMatch(/hunter2/)
    const kafka = dlq(['global-target', 'get', '--store=kafka://u:pw@127.0.0.1:1'])
    expect(kafka.stderr).toMatch(/warning: a password in a kafka:\/\/ URI .*DLQ_KAFKA_PASSWORD/)
  })

  it('says nothing when the password comes from the environment', () => {
    const r = dlq(['inspect', 'redis://ops@127.0.0.1:1/dlq'], {env: {DLQ_REDIS_PASSWORD: 'hunter2-secret'}})
    expect(r.code).toBe(4)
    expect(r.stderr).not.toMatch(/warning/)
    expect(dlq(['inspect', 'fixtures/mixed.ndjson', '-n', '1']).stderr).not.toMatch(/warning/)
  })
})

const stores = new Map(await Promise.all(STORE_KINDS.map(async (kind) => [kind, await freshStore(kind)] as const)))
afterAll(() => Promise.all(STORE_KINDS.map((kind) => dropStore(kind, stores.get(kind)!))))

describe.each(STORE_KINDS)('13: policy clear and history on a %s store', (kind) => {
  const store = stores.get(kind)!
  ;(store.available ? it : it.skip)('clear is a versioned change; history lists every change, oldest first', () => {
    const env = {DLQ_STORE: '', DLQ_ACTOR: 'ci@runner'}
    const s = ['--store', store.uri]
    expect(dlqJson(['policy', 'set', 'orders', '--dlq', 'global', ...s], {env}).code).toBe(0)
    expect(dlqJson(['policy', 'set', 'orders', '--dlq', 'custom', '--dlq-topic', 'orders-dlq', ...s], {env}).code).toBe(0)
    const stale = dlqJson(['policy', 'clear', 'orders', '--expected-version', '1', ...s], {env})
    expect(stale.code).toBe(3)
    expect(stale.json.error.details.version).toBe(2)
    const cleared = dlqJson(['policy', 'clear', 'orders', '--expected-version', '2', ...s], {env})
    expect(cleared.code, cleared.stderr).toBe(0)
    expectSchema('policy', cleared.json)
    expect(cleared.json).toMatchObject({sourceTopic: 'orders', version: 3, policy: null})
    const history = dlqJson(['policy', 'history', 'orders', ...s], {env})
    expect(history.code).toBe(0)
    expectSchema('policy-history', history.json)
    expect(history.json.changes.map((c: any) => [c.version, c.fromVersion, c.policy?.dlq ?? null])).toEqual([
      [1, 0, 'global'],
      [2, 1, 'custom'],
      [3, 2, null],
    ])
    const text = dlq(['policy', 'history', 'orders', ...s], {env})
    expect(text.stdout).toMatch(/\(cleared\)/)
    expect(dlqJson(['policy', 'list', ...s], {env}).json.policies).toEqual([])
    expect(dlq(['policy', 'history', 'never-set', ...s], {env}).stdout).toBe('')
  })
})
