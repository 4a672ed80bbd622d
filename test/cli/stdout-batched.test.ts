import {describe, expect, it} from 'vitest'
import {batched} from '../../src/cli/stdout.js'

describe('batched writes', () => {
  it('gathers lines into pieces of at least the limit, in order, and flush hands on the rest', async () => {
    const pieces: string[] = []
    const out = batched(async (t) => void pieces.push(t), 10)
    for (let i = 0; i < 7; i++) await out.write(`line${i}\n`)
    expect(pieces).toEqual(['line0\nline1\n', 'line2\nline3\n', 'line4\nline5\n'])
    await out.flush()
    await out.flush()
    expect(pieces.join('')).toBe(Array.from({length: 7}, (_, i) => `line${i}\n`).join(''))
    expect(pieces).toHaveLength(4)
  })

  it('waits for the writer only when a piece goes out', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const out = batched(() => gate, 4)
    expect(out.write('ab')).toBeUndefined()
    const pending = out.write('cd')
    expect(pending).toBeInstanceOf(Promise)
    let done = false
    void pending!.then(() => (done = true))
    await Promise.resolve()
    expect(done).toBe(false)
    release()
    await pending
    expect(done).toBe(true)
  })
})
