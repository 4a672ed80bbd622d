import {render} from 'ink-testing-library'
import {describe, expect, it} from 'vitest'
import {NOT_ORIGINAL_HINT, type PlanItem, type ReplayPlan} from '../../src/core/replay/plan.js'
import {ConfirmDialog} from '../../src/tui/components/confirm-dialog.js'
import {planView, resultView} from '../../src/tui/replay-wiring.js'
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

  it("names browse's e key, not the CLI's --transform, for a record that is not the original message (plan and result)", () => {
    const detail = `the value is not the source's: SmallRye wrote the key bytes as the value: ${NOT_ORIGINAL_HINT}`
    const skipped: PlanItem = {...item('4'), action: 'skip', reason: 'not_original', detail, target: null, layout: null, headersKept: []}
    const browse = "4: skipped (not_original): replay sends only the original message (press e on it to write the payload to send in $EDITOR): the value is not the source's: SmallRye wrote the key bytes as the value"
    const view = planView(plan([item('3'), skipped]))
    expect(view.notes.map((n) => `${n.position}: ${n.text}`)).toEqual([browse])
    const {lastFrame, unmount} = render(<ConfirmDialog width={240} height={20} view={view} />)
    const frame = strip(lastFrame() ?? '')
    unmount()
    expect(frame).toContain(browse)
    expect(frame).not.toContain('--transform')
    const result = resultView({requested: 1, replayed: 0, skipped: 1, failed: 0, items: [{position: '4', outcome: 'skipped', target: null, reason: 'not_original', error: detail}]})
    expect(result.items[0].reason).toBe(browse.replace('4: skipped (not_original): ', 'not_original: '))
  })
})
