import type {Key} from 'ink'
import {describe, expect, it} from 'vitest'
import {KEY_MAP, resolveKey} from '../../src/tui/keymap.js'
import {splitKeys} from '../../src/tui/use-browse-input.js'

const key = (k: Partial<Key> = {}): Key => ({...splitKeys('a', {} as Key)[0][1], ...(Object.fromEntries(Object.keys(k).map((n) => [n, false])) as Key), ...k})
const none = splitKeys('ab', {} as Key)[0][1]

describe('key map', () => {
  it('resolves the documented keys of the list', () => {
    expect(resolveKey('list', '', {...none, downArrow: true})).toBe('down')
    expect(resolveKey('list', 'j', none)).toBe('down')
    expect(resolveKey('list', 'k', none)).toBe('up')
    expect(resolveKey('list', '', {...none, pageDown: true})).toBe('pageDown')
    expect(resolveKey('list', 'g', none)).toBe('first')
    expect(resolveKey('list', 'G', {...none, shift: true})).toBe('last')
    expect(resolveKey('list', ':', none)).toBe('jump')
    expect(resolveKey('list', '/', none)).toBe('filter')
    expect(resolveKey('list', ' ', none)).toBe('toggleSelect')
    expect(resolveKey('list', 'A', none)).toBe('selectAll')
    expect(resolveKey('list', '', {...none, escape: true, meta: true})).toBe('clearSelection')
    expect(resolveKey('list', 'r', none)).toBe('replay')
    expect(resolveKey('list', 'q', none)).toBe('quit')
    expect(resolveKey('list', 'c', {...none, ctrl: true})).toBe('quit')
    expect(resolveKey('list', 'c', none)).toBeNull()
  })

  it('every mode can quit with Ctrl-C, and a prompt leaves letters to the text', () => {
    for (const mode of Object.keys(KEY_MAP) as Array<keyof typeof KEY_MAP>) expect(resolveKey(mode, 'c', {...none, ctrl: true})).toBe('quit')
    expect(resolveKey('prompt', 'q', none)).toBeNull()
    expect(resolveKey('prompt', 'j', none)).toBeNull()
    expect(resolveKey('confirm', 'y', none)).toBe('confirm')
    expect(resolveKey('confirm', 'r', none)).toBeNull()
  })

  it('splits a run of keys read at once into single keys', () => {
    const keys = splitKeys('jj\t \r\x7f', key())
    expect(keys.map(([input]) => input)).toEqual(['j', 'j', '', ' ', '', ''])
    expect(keys[2][1].tab).toBe(true)
    expect(keys[4][1].return).toBe(true)
    expect(keys[5][1].backspace).toBe(true)
    // Esc read together with the next key looks like Alt+key
    const esc = splitKeys(':', {...none, meta: true})
    expect(esc.map(([input, k]) => [input, k.escape])).toEqual([
      ['', true],
      [':', false],
    ])
  })
})
