import {describe, expect, it} from 'vitest'
import Browse from '../../src/commands/browse.js'
import Inspect from '../../src/commands/inspect.js'
import Replay from '../../src/commands/replay.js'
import {themeFor} from '../../src/tui/theme.js'
import {dlq} from '../helpers/cli.js'

describe('flags shared by browse, inspect and replay', () => {
  it('browse takes --partition as inspect does, and the replay target flags with the same env vars as replay', () => {
    expect(Browse.flags.partition).toBeDefined()
    expect(Browse.flags.partition).toBe(Inspect.flags.partition)
    for (const name of ['to', 'sink', 'ledger'] as const) {
      expect(Browse.flags[name]).toBeDefined()
      expect(Browse.flags[name].env).toBe(Replay.flags[name].env)
    }
    expect(Browse.flags.to.env).toBe('DLQ_REPLAY_TO')
    // every flag browse shares with inspect or replay reads the same env var there
    for (const other of [Inspect, Replay] as Array<{flags: Record<string, {env?: string}>}>) {
      for (const [name, flag] of Object.entries(Browse.flags as Record<string, {env?: string}>)) {
        if (other.flags[name]) expect(`${name}: ${flag.env}`).toBe(`${name}: ${other.flags[name].env}`)
      }
    }
  })

  it('says "1 record", not "1 records"', () => {
    const r = dlq(['inspect', 'fixtures/mixed.ndjson', '--limit', '1', '--output', 'ndjson'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^1 record; next page/m)
  })
})

describe('browse colours', () => {
  it('NO_COLOR turns colours off (bold and inverse are not colours); FORCE_COLOR wins over it', () => {
    expect(themeFor({}).color('red')).toBe('red')
    expect(themeFor({NO_COLOR: '1'}).color('red')).toBeUndefined()
    expect(themeFor({NO_COLOR: ''}).color('red')).toBe('red')
    expect(themeFor({NO_COLOR: '1', FORCE_COLOR: '1'}).color('cyan')).toBe('cyan')
  })
})
