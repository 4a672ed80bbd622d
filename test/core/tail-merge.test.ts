import {describe, expect, it} from 'vitest'
import {blankRecord, type DecodedRecord} from '../../src/core/record.js'
import {NewestMerge} from '../../src/core/tail.js'

const rec = (position: string, timestamp: number | null): DecodedRecord => ({...blankRecord(position), timestamp})
const merged = (limit: number, ...logs: DecodedRecord[][]) => {
  const m = new NewestMerge(limit)
  for (const log of logs) m.add(log)
  return m.records().map((r) => r.position)
}

describe('NewestMerge: the newest N of several logs', () => {
  it('by time, oldest first; equal times: the later log is newer', () => {
    const a = [rec('0:0', 10), rec('0:1', 30), rec('0:2', 50)]
    const b = [rec('1:0', 20), rec('1:1', 30), rec('1:2', 40)]
    expect(merged(4, a, b)).toEqual(['0:1', '1:1', '1:2', '0:2'])
    expect(merged(10, a, b)).toEqual(['0:0', '1:0', '0:1', '1:1', '1:2', '0:2'])
    expect(merged(0, a, b)).toEqual([])
  })

  it('a log gives a run of its last records, in its own order, where its times are not in order', () => {
    // Partition 0 holds a record stamped earlier than the one before it (a producer's CreateTime).
    const a = [rec('0:0', 50), rec('0:1', 5)]
    const b = [rec('1:0', 20)]
    expect(merged(2, a, b)).toEqual(['0:1', '1:0'])
    expect(merged(3, a, b)).toEqual(['0:0', '0:1', '1:0'])
  })

  it('a record without a time goes with the one before it in its log (or, first, with the one after it); a log with no time at all is oldest', () => {
    const a = [rec('a:0', null), rec('a:1', 40), rec('a:2', null)]
    const b = [rec('b:0', 30), rec('b:1', null)]
    const c = [rec('c:0', null)]
    expect(merged(3, c, b, a)).toEqual(['a:0', 'a:1', 'a:2'])
    expect(merged(5, c, b, a)).toEqual(['b:0', 'b:1', 'a:0', 'a:1', 'a:2'])
    expect(merged(6, c, b, a)).toEqual(['c:0', 'b:0', 'b:1', 'a:0', 'a:1', 'a:2'])
  })

  it('records without a time at the head of what was read take the time of the record before them when the reader found it', () => {
    // Log b's last three records are corrupt lines written after b's record at 90 (read further back): newer than a's.
    const a = [rec('a:0', 10), rec('a:1', 20), rec('a:2', 30)]
    const b = [rec('b:2', null), rec('b:3', null), rec('b:4', null)]
    expect(merged(3, a, b)).toEqual(['a:0', 'a:1', 'a:2'])
    const m = new NewestMerge(3)
    m.add(a)
    m.add(b, 90)
    expect(m.records().map((r) => r.position)).toEqual(['b:2', 'b:3', 'b:4'])
    // A time before them beats the time after them: b:1 was written after b:0 (at 5), not with b:2 (at 50).
    const m2 = new NewestMerge(2)
    m2.add([rec('a:0', 20)])
    m2.add([rec('b:1', null), rec('b:2', 50)], 5)
    expect(m2.records().map((r) => r.position)).toEqual(['a:0', 'b:2'])
  })

  it('merging the logs one at a time, cut to N each time, gives what merging them all at once gives', () => {
    let seed = 7
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    for (let round = 0; round < 50; round++) {
      const logs = Array.from({length: 4}, (_, p) => Array.from({length: Math.floor(rand() * 8)}, (_, o) => rec(`${p}:${o}`, rand() < 0.2 ? null : Math.floor(rand() * 20))))
      const all = merged(100, ...logs)
      for (const n of [1, 3, 6]) expect(merged(n, ...logs)).toEqual(all.slice(Math.max(0, all.length - n)))
    }
  })
})
