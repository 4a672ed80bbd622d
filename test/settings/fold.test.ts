import {describe, expect, it} from 'vitest'
import {SettingsFold, describeForeignRecord, encodeLogWrite, isSettingsRecord} from '../../src/core/settings/fold.js'
import type {WriteRequest} from '../../src/core/settings/types.js'

const by = {user: 'ci', host: 'runner'}
const w = (value: unknown, expectedVersion: number | null, key = 'global-target'): Buffer =>
  encodeLogWrite({key, value, expectedVersion, at: '2026-11-23T10:00:00.000Z', by} satisfies WriteRequest)

describe('folding a settings log', () => {
  it('applies writes whose expected version matches, rejects the rest, in log order', () => {
    const fold = new SettingsFold()
    expect(fold.apply(w({topic: 'a'}, 0))).toBe('applied')
    // Two writers that both read version 1: the first in the log wins, the second loses.
    expect(fold.apply(w({topic: 'b'}, 1))).toBe('applied')
    expect(fold.apply(w({topic: 'c'}, 1))).toBe('rejected')
    expect(fold.apply(w({topic: 'd'}, null))).toBe('applied')
    expect(fold.get('global-target')).toMatchObject({version: 3, value: {topic: 'd'}, updatedBy: by})
    expect(fold.changes.get('global-target')!.map((c) => [c.fromVersion, c.version])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ])
  })

  it('keeps keys apart and skips records it cannot read', () => {
    const fold = new SettingsFold()
    expect(fold.apply(w({dlq: 'discard'}, 0, 'policy:orders'))).toBe('applied')
    for (const junk of [null, Buffer.from(''), Buffer.from('not json'), Buffer.from('{"format":99}'), Buffer.from('{"format":1,"key":"k","expectedVersion":-1,"at":"x","by":{"user":"u","host":"h"}}')]) {
      expect(fold.apply(junk)).toBe('ignored')
    }
    expect(fold.get('global-target').version).toBe(0)
    expect(fold.get('policy:orders').version).toBe(1)
  })

  it('tells a settings write (of any format) from a record that is something else', () => {
    const key = Buffer.from('global-target')
    expect(isSettingsRecord(key, w({topic: 'a'}, null))).toBe(true)
    // A newer format is still a settings write: the fold skips it, the topic stays a settings topic.
    expect(isSettingsRecord(key, Buffer.from('{"format":2,"key":"global-target","what":"new"}'))).toBe(true)
    const hyperi = Buffer.from('{"timestamp":1,"service":"s","reason":"parse_error","attempts":1,"payload":"eA=="}')
    for (const [k, v] of [
      [null, Buffer.from('dlq-msg-1')],
      [null, hyperi],
      [key, null],
      [key, Buffer.from('[1]')],
      [null, w({topic: 'a'}, null)], // a settings value without its record key: copied there by something else
      [Buffer.from('policy:x'), w({topic: 'a'}, null)], // the key must be the one the value names
      [key, Buffer.from('{"format":"1","key":"global-target"}')],
    ] as Array<[Buffer | null, Buffer | null]>) {
      expect(isSettingsRecord(k, v), `${k} ${v}`).toBe(false)
    }
    expect(describeForeignRecord(null, Buffer.from('dlq-msg-1'))).toBe('no key and a value of 9 bytes that is not JSON')
    expect(describeForeignRecord(Buffer.from('k'), hyperi)).toBe(`a key of 1 byte and a value of ${hyperi.length} bytes: a JSON object that is not a dlq settings write`)
    expect(describeForeignRecord(key, null)).toBe('a key of 13 bytes and no value')
  })
})
