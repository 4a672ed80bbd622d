import {render} from 'ink-testing-library'
import {describe, expect, it} from 'vitest'
import type {PlanItem, ReplayPlan} from '../../src/core/replay/plan.js'
import {ConfirmDialog} from '../../src/tui/components/confirm-dialog.js'
import {planView} from '../../src/tui/replay-wiring.js'
import {strip} from '../helpers/ink.js'

const item = (position: string, dropped?: PlanItem['dropped']): PlanItem => ({
  position,
  action: 'send',
  reason: null,
  detail: null,
  target: {topic: 'orders', partition: null},
  partitionBy: null,
  doubt: null,
  layout: {name: 'payload'},
  headersKept: dropped ? [] : ['trace'],
  headersRemoved: [],
  message: null,
  ledger: null,
  ledgerKey: position,
  ...(dropped ? {dropped} : {}),
})

const plan = (items: PlanItem[]): ReplayPlan => ({source: 'dlq.ndjson', sink: 'redis://127.0.0.1:16379/0', ledger: 'x', items})

describe('the replay confirmation', () => {
  it('says which keys and headers a layout leaves behind, and does not claim they are sent', () => {
    const view = planView(plan([item('0', {key: true, headers: ['tenant', 'x\u001b[2J']}), item('1')]))
    expect(view.dropped).toEqual({messages: 1, keys: 1, headers: ['tenant', 'x\u001b[2J']})
    const {lastFrame, unmount} = render(<ConfirmDialog width={160} height={20} view={view} />)
    const frame = strip(lastFrame() ?? '')
    unmount()
    expect(frame).toContain('NOT SENT: the key of 1 and headers tenant, x\\e[2J (1 message): the layout chosen has no place for them.')
    expect(frame).not.toContain('Payload bytes, key and user headers are sent unchanged.')
    expect(lastFrame()).not.toContain('\u001b[2J')
  })

  it('keeps its plain word when nothing is left behind', () => {
    const view = planView(plan([item('1')]))
    expect(view.dropped).toBeUndefined()
    const {lastFrame, unmount} = render(<ConfirmDialog width={160} height={20} view={view} />)
    expect(strip(lastFrame() ?? '')).toContain('Payload bytes, key and user headers are sent unchanged.')
    unmount()
  })
})
