import {describe, expect, it} from 'vitest'
import {eventLine} from '../../src/backends/file/ledger.js'
import type {LedgerEvent} from '../../src/core/replay/ledger.js'

describe('file ledger lines', () => {
  it('are exactly what JSON.stringify writes, for every kind of event', () => {
    const at = '2026-11-30T12:00:00.000Z'
    const events: LedgerEvent[] = [
      {op: 'claim', position: '0:42', runId: 'r-1', target: {topic: 'orders', partition: 3}, mark: '{"3":17}', force: false, at},
      {op: 'claim', position: '1700000000000-0', runId: 'r-1', target: {topic: 'ördérs "quoted" \\ \u2028', partition: null}, mark: null, force: true, at},
      // A doubt taken over: the run it takes over is named.
      {op: 'claim', position: '0:43', runId: 'r-1', target: {topic: 'orders', partition: 3}, mark: '{"3":18}', force: false, over: 'host/7/"crashed"', at},
      {op: 'done', position: '7', runId: 'r-2', target: {topic: 't', partition: 0}, offset: '123', at},
      {op: 'done', position: '8', runId: 'r-2', target: {topic: 't', partition: null}, offset: null, at},
      {op: 'release', position: '9', runId: 'r-3', at},
    ]
    for (const e of events) {
      expect(eventLine(e)).toBe(JSON.stringify(e) + '\n')
      expect(JSON.parse(eventLine(e))).toEqual(e)
    }
  })
})
