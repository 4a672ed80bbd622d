import {describe, expect, it} from 'vitest'
import type {DlqReader} from '../../src/core/reader.js'
import {newWarnings} from '../../src/core/tail.js'

describe('newWarnings (tail --follow)', () => {
  it('gives each warning added since the last call once, never those there at the start', () => {
    const list = ['at start']
    // Only `warnings` is read; a services root's reader builds a new list on every read, as this getter does.
    const reader = {
      get warnings() {
        return [...list]
      },
    } as unknown as DlqReader
    const later = newWarnings(reader)
    expect(later()).toEqual([])
    list.push('rotated', 'truncated')
    expect(later()).toEqual(['rotated', 'truncated'])
    expect(later()).toEqual([])
    // Added before the ones already said (another service's reader), and a text said before: only the new one.
    list.unshift('new service', 'rotated')
    expect(later()).toEqual(['new service'])
  })

  it('a reader without warnings gives none', () => {
    expect(newWarnings({} as DlqReader)()).toEqual([])
  })
})
