import {describe, expect, it} from 'vitest'
import {MATCH_ALL, buildFilter} from '../../src/core/filter.js'
import {
  browseReducer,
  defaultSaveName,
  focused,
  initialState,
  loadedCount,
  visibleRecords,
  wantedLoad,
  wantsPoll,
  type Action,
  type BrowseState,
  type LoadRequest,
} from '../../src/tui/state.js'
import {range, rec} from './records.js'

const reduce = (s: BrowseState, ...actions: Action[]) => actions.reduce(browseReducer, s)

/** Serves a wanted load from an in-memory log of `n` records (positions 0…n-1), like a file reader would. */
function serve(s: BrowseState, n: number): BrowseState {
  const req = wantedLoad(s)
  if (!req) return s
  s = browseReducer(s, {type: 'loadStarted', request: req})
  return browseReducer(s, answer(req, n))
}

function answer(req: LoadRequest, n: number): Action {
  if (req.kind === 'step-back') {
    const before = Number(req.before)
    const start = Math.max(0, before - req.span)
    const all = range(start, before - start)
    const kept = all.slice(-req.limit)
    const more = all.length > kept.length
    return {type: 'pageLoaded', generation: req.generation, direction: 'backward', page: {from: more ? kept[0].position : String(start), records: kept, next: req.before, atEnd: false}, stepped: true, reachedStart: start === 0 && !more}
  }
  const from = req.from === null ? 0 : Number(req.from)
  const count = Math.max(0, Math.min(req.limit, n - from))
  return {
    type: 'pageLoaded',
    generation: req.generation,
    direction: req.kind,
    page: {from: req.from, records: range(from, count), next: String(from + count), atEnd: from + count >= n},
  }
}

/** Serves loads until nothing more is wanted. */
function settle(s: BrowseState, n: number): BrowseState {
  for (let i = 0; i < 1000; i++) {
    const next = serve(s, n)
    if (next === s) return s
    s = next
  }
  throw new Error('loads never settle')
}

const base = (extra: Partial<Parameters<typeof initialState>[0]> = {}) =>
  initialState({filter: MATCH_ALL, pageSize: 50, maxPages: 4, listHeight: 10, detailHeight: 10, canStepBack: true, ...extra})

describe('browse reducer', () => {
  it('asks for the first page from the origin, then shows it with the cursor on the first message', () => {
    let s = base()
    expect(wantedLoad(s)).toEqual({kind: 'forward', generation: 0, from: null, limit: 50})
    s = settle(s, 30)
    expect(loadedCount(s)).toBe(30)
    expect(s.tail.atEnd).toBe(true)
    expect(focused(s)?.position).toBe('0')
    expect(visibleRecords(s).map((v) => v.record.position)).toEqual(range(0, 10).map((r) => r.position))
  })

  it('moves the cursor and scrolls the window to keep it visible; stops at both ends', () => {
    let s = settle(base(), 30)
    s = reduce(s, {type: 'move', delta: -1})
    expect(s.cursor).toBe(0)
    s = reduce(s, ...Array<Action>(12).fill({type: 'move', delta: 1}))
    expect(s.cursor).toBe(12)
    expect(s.top).toBe(3)
    s = reduce(s, {type: 'move', delta: 100})
    expect(focused(s)?.position).toBe('29')
  })

  it('PgDn moves cursor and window by a screenful', () => {
    let s = settle(base(), 200)
    s = reduce(s, {type: 'page', direction: 1})
    expect([s.cursor, s.top]).toEqual([10, 10])
    s = reduce(s, {type: 'page', direction: -1})
    expect([s.cursor, s.top]).toEqual([0, 0])
  })

  it('prefetches the next page before the cursor reaches the end of what is loaded', () => {
    let s = settle(base(), 10_000)
    // Loaded until the cursor is more than the margin away from the end.
    const margin = Math.max(s.listHeight * 2, 20)
    expect(loadedCount(s) - 1 - s.cursor).toBeGreaterThanOrEqual(margin)
    expect(wantedLoad(s)).toBeNull()
    s = reduce(s, {type: 'move', delta: loadedCount(s) - margin})
    expect(wantedLoad(s)?.kind).toBe('forward')
  })

  it('keeps at most maxPages pages while paging through a large log, and comes back to the same records', () => {
    let s = settle(base(), 1_000_000)
    for (let i = 0; i < 500; i++) s = settle(reduce(s, {type: 'page', direction: 1}), 1_000_000)
    expect(focused(s)?.position).toBe('5000')
    expect(s.pages.length).toBeLessThanOrEqual(4)
    expect(s.behind.length).toBeGreaterThan(90)
    for (let i = 0; i < 500; i++) s = settle(reduce(s, {type: 'page', direction: -1}), 1_000_000)
    expect(focused(s)?.position).toBe('0')
    expect(s.headAtStart).toBe(true)
    // The window is contiguous: positions 0, 1, 2, … with no gap or duplicate.
    const positions = s.pages.flatMap((p) => p.records.map((r) => Number(r.position)))
    expect(positions).toEqual(positions.map((_, i) => i))
  })

  it('caps the marks of dropped pages', () => {
    let s = settle(base({maxBehind: 3}), 100_000)
    for (let i = 0; i < 100; i++) s = settle(reduce(s, {type: 'page', direction: 1}), 100_000)
    expect(s.behind.length).toBe(3)
  })

  it('jump starts over at the position; a file log then steps back to show what is before it', () => {
    let s = settle(base(), 1000)
    s = reduce(s, {type: 'jump', position: '500'})
    expect(s.generation).toBe(1)
    expect(wantedLoad(s)).toMatchObject({kind: 'forward', from: '500'})
    s = settle(s, 1000)
    expect(focused(s)?.position).toBe('500')
    expect(loadedCount(s)).toBeGreaterThan(50)
    const first = Number(s.pages[0].records[0].position)
    expect(first).toBeLessThan(500)
    s = reduce(s, {type: 'move', delta: -1})
    expect(focused(s)?.position).toBe('499')
  })

  it('a store that cannot page backwards shows the list from the jump on, and g starts over from the first message', () => {
    let s = settle(base({canStepBack: false}), 1000)
    s = settle(reduce(s, {type: 'jump', position: '500'}), 1000)
    expect(s.pages[0].records[0].position).toBe('500')
    expect(wantedLoad(s)).toBeNull()
    s = settle(reduce(s, {type: 'first'}), 1000)
    expect(focused(s)?.position).toBe('0')
    expect(s.origin).toBeNull()
  })

  it('reports a jump target that does not exist instead of quietly showing another message', () => {
    let s = base({origin: '7'})
    const req = wantedLoad(s)!
    s = reduce(s, {type: 'loadStarted', request: req}, {type: 'pageLoaded', generation: 0, direction: 'forward', page: {from: '7', records: [rec(9)], next: '10', atEnd: true}})
    expect(s.notice?.text).toMatch(/7 is not there; showing from 9/)
  })

  it('a filter applied after a jump past the end starts over without a stale "not there" notice', () => {
    let s = base({origin: '5000'})
    let req = wantedLoad(s)!
    s = reduce(s, {type: 'loadStarted', request: req}, {type: 'pageLoaded', generation: 0, direction: 'forward', page: {from: '5000', records: [], next: '5000', atEnd: true}})
    expect(s.notice?.text).toMatch(/nothing at or after position 5000/)
    s = reduce(s, {type: 'filterApplied', filter: s.filter})
    expect(s.notice).toBeNull()
    req = wantedLoad(s)!
    s = reduce(s, {type: 'loadStarted', request: req}, {type: 'pageLoaded', generation: s.generation, direction: 'forward', page: {from: '5000', records: [rec(2995), rec(2996)], next: '2997', atEnd: true}})
    expect(s.notice).toBeNull()
  })

  it('a position in a notice is escaped (a service directory name is untrusted)', () => {
    let s = base({origin: 'a\u001b[2Jb:7'})
    const req = wantedLoad(s)!
    s = reduce(s, {type: 'loadStarted', request: req}, {type: 'pageLoaded', generation: 0, direction: 'forward', page: {from: 'a\u001b[2Jb:7', records: [{...rec(9), position: 'a\u001b[2Jb:9'}], next: null, atEnd: true}})
    expect(s.notice?.text).toBe('position a\\e[2Jb:7 is not there; showing from a\\e[2Jb:9')
  })

  it('ignores pages of an older generation (loads that were in flight when the filter changed)', () => {
    let s = base()
    const req = wantedLoad(s)!
    s = reduce(s, {type: 'loadStarted', request: req}, {type: 'filterApplied', filter: buildFilter({filters: ['reason=timeout']})})
    s = reduce(s, answer(req, 100))
    expect(loadedCount(s)).toBe(0)
    expect(wantedLoad(s)).toMatchObject({generation: 1, from: null})
  })

  it('G on a file goes to the last message via a page before the end', () => {
    let s = settle(base(), 1000)
    s = reduce(s, {type: 'last'})
    expect(s.seekingLast).toBe(true)
    expect(wantedLoad(s)).toBeNull()
    s = settle(reduce(s, {type: 'lastAt', origin: '950'}), 1000)
    expect(focused(s)?.position).toBe('999')
    // Going up from there steps back page by page (as keys would, one screenful at a time).
    for (let i = 0; i < 6; i++) s = settle(reduce(s, {type: 'move', delta: -10}), 1000)
    expect(focused(s)?.position).toBe('939')
  })

  it('widens the step back while a sparse stretch yields nothing, and resets it after a hit', () => {
    let s = serve(base({origin: '900'}), 1000)
    expect(wantedLoad(s)).toMatchObject({kind: 'step-back', before: '900', span: 50})
    s = reduce(s, {type: 'loadStarted', request: wantedLoad(s)!})
    s = reduce(s, {type: 'pageLoaded', generation: s.generation, direction: 'backward', page: {from: '850', records: [], next: '900', atEnd: false}, stepped: true})
    expect(s.stepSpan).toBe(200)
    expect(wantedLoad(s)).toMatchObject({kind: 'step-back', before: '850', span: 200})
  })

  it('selects with space (stepping down), selects all loaded with A, clears with Esc', () => {
    let s = settle(base(), 30)
    s = reduce(s, {type: 'toggleSelect'}, {type: 'toggleSelect'})
    expect([...s.selection]).toEqual(['0', '1'])
    expect(s.cursor).toBe(2)
    s = reduce(s, {type: 'move', delta: -1}, {type: 'toggleSelect'})
    expect([...s.selection]).toEqual(['0'])
    s = reduce(s, {type: 'selectAll'})
    expect(s.selection.size).toBe(30)
    s = reduce(s, {type: 'clearSelection'})
    expect(s.selection.size).toBe(0)
  })

  it('filter prompt: an error stays in the prompt and the old filter stays in force', () => {
    const old = buildFilter({filters: ['reason=timeout']})
    let s = settle(base({filter: old}), 30)
    s = reduce(s, {type: 'openPrompt', prompt: 'filter'})
    expect(s.mode).toMatchObject({kind: 'prompt', text: 'reason=timeout'})
    s = reduce(s, {type: 'promptText', text: 'bogus~~'}, {type: 'promptError', message: 'unknown field "bogus"'})
    expect(s.mode).toMatchObject({kind: 'prompt', error: 'unknown field "bogus"'})
    expect(s.filter).toBe(old)
    expect(s.generation).toBe(0)
    s = reduce(s, {type: 'promptText', text: 'reason=x'})
    expect(s.mode).toMatchObject({error: null})
    s = reduce(s, {type: 'closePrompt'})
    expect(s.mode.kind).toBe('list')
    expect(s.filter).toBe(old)
  })

  it('replay: needs a selection, then plan → confirm → replaying → results, marking replayed positions', () => {
    let s = settle(base(), 30)
    s = reduce(s, {type: 'replayRequested'})
    expect(s.mode.kind).toBe('list')
    expect(s.notice?.error).toBe(true)
    s = reduce(s, {type: 'toggleSelect'}, {type: 'toggleSelect'}, {type: 'replayRequested'})
    expect(s.mode).toEqual({kind: 'planning', positions: ['0', '1']})
    const view = {sink: 'redis://x', send: 2, skip: 0, byTarget: [{topic: 't', partition: null, count: 2}], removedHeaders: [], skipped: {}, notes: []}
    s = reduce(s, {type: 'planReady', view, plan: {}})
    expect(s.mode.kind).toBe('confirm')
    s = reduce(s, {type: 'replayConfirmed'})
    expect(s.mode).toEqual({kind: 'replaying', done: 0, total: 2})
    s = reduce(s, {
      type: 'replayDone',
      result: {requested: 2, replayed: 1, skipped: 0, failed: 1, items: [{position: '0', outcome: 'replayed', target: 't@1-0', reason: null}, {position: '1', outcome: 'failed', target: null, reason: 'boom'}]},
    })
    expect(s.mode.kind).toBe('results')
    expect([...s.replayed]).toEqual(['0'])
    // What failed stays selected, so `r` tries it again.
    expect([...s.selection]).toEqual(['1'])
  })

  it('cancelling the confirmation sends nothing and returns to the list', () => {
    let s = settle(base(), 5)
    s = reduce(s, {type: 'toggleSelect'}, {type: 'replayRequested'}, {type: 'planReady', view: {sink: 's', send: 1, skip: 0, byTarget: [], removedHeaders: [], skipped: {}, notes: []}, plan: {}})
    s = reduce(s, {type: 'closeDialog'})
    expect(s.mode.kind).toBe('list')
    expect(s.selection.size).toBe(1)
  })

  it('resize re-lays the window around the cursor', () => {
    let s = settle(base(), 100)
    s = reduce(s, {type: 'move', delta: 25})
    s = reduce(s, {type: 'resize', listHeight: 5, detailHeight: 5})
    expect(s.cursor - s.top).toBeLessThan(5)
    expect(visibleRecords(s)).toHaveLength(5)
  })

  it('the detail pane follows the cursor: scroll and full payload reset on a new message', () => {
    const big = rec(0, {payload: Buffer.from('x'.repeat(10)), payloadSize: 5000})
    let s = base()
    s = reduce(s, {type: 'loadStarted', request: wantedLoad(s)!}, {type: 'pageLoaded', generation: 0, direction: 'forward', page: {from: null, records: [big, rec(1)], next: '2', atEnd: true}})
    s = reduce(s, {type: 'toggleFocus'}, {type: 'move', delta: 3}, {type: 'fullRequested'})
    expect(s.detail).toMatchObject({scroll: 3, loadingFull: true})
    s = reduce(s, {type: 'fullLoaded', position: '0', record: rec(0, {payload: Buffer.alloc(5000)})})
    expect(s.detail.full?.payload?.length).toBe(5000)
    s = reduce(s, {type: 'toggleFocus'}, {type: 'move', delta: 1})
    expect(s.detail).toMatchObject({scroll: 0, full: null, loadingFull: false})
  })
})

/** A store that pages backward itself (Kafka, Redis): serves `before` loads like pageBefore. */
function serveBefore(s: BrowseState, n: number): BrowseState {
  const req = wantedLoad(s)
  if (!req) return s
  s = browseReducer(s, {type: 'loadStarted', request: req})
  if (req.kind !== 'before') return browseReducer(s, answer(req, n))
  const before = Number(req.before)
  const start = Math.max(0, before - req.limit)
  const records = range(start, before - start)
  return browseReducer(s, {type: 'pageLoaded', generation: req.generation, direction: 'backward', page: {from: start === 0 ? null : String(start), records, next: req.before, atEnd: false}, reachedStart: start === 0})
}
function settleBefore(s: BrowseState, n: number): BrowseState {
  for (let i = 0; i < 1000; i++) {
    const next = serveBefore(s, n)
    if (next === s) return s
    s = next
  }
  throw new Error('loads never settle')
}

describe('browse reducer: paging back on Kafka and Redis', () => {
  const store = (extra: Partial<Parameters<typeof initialState>[0]> = {}) => base({canStepBack: false, canPageBefore: true, ...extra})

  it('after G, k and PgUp read the pages before (pageBefore) all the way to the first message', () => {
    let s = settleBefore(store(), 1000)
    s = reduce(s, {type: 'last'})
    // the container looks the last position up and answers with lastAt
    s = settleBefore(reduce(s, {type: 'lastAt', origin: '999'}), 1000)
    expect(focused(s)?.position).toBe('999')
    expect(s.pages[0].records[0].position).not.toBe('999')
    s = reduce(s, {type: 'move', delta: -1})
    expect(focused(s)?.position).toBe('998')
    for (let i = 0; i < 120; i++) s = settleBefore(reduce(s, {type: 'page', direction: -1}), 1000)
    expect(focused(s)?.position).toBe('0')
    expect(s.headAtStart).toBe(true)
    expect(wantedLoad(s)).toBeNull()
    const positions = s.pages.flatMap((p) => p.records.map((r) => Number(r.position)))
    expect(positions).toEqual(positions.map((_, i) => i))
  })

  it('PgUp and k pressed before the page above has arrived are not lost', () => {
    let s = settleBefore(store(), 1000)
    s = reduce(s, {type: 'last'})
    // only the last message is loaded when the keys come
    s = serveBefore(reduce(s, {type: 'lastAt', origin: '999'}), 1000)
    expect(loadedCount(s)).toBe(1)
    s = reduce(s, {type: 'page', direction: -1}, {type: 'page', direction: -1}, {type: 'page', direction: -1}, {type: 'move', delta: -1})
    expect(s.owed).toBe(-31)
    s = settleBefore(s, 1000)
    expect(focused(s)?.position).toBe('968')
    expect(s.owed).toBe(0)
    // and at the very start the rest is dropped, not kept for later
    s = reduce(s, ...Array<Action>(200).fill({type: 'page', direction: -1}))
    s = settleBefore(s, 1000)
    s = settleBefore(reduce(s, ...Array<Action>(200).fill({type: 'page', direction: -1})), 1000)
    expect(focused(s)?.position).toBe('0')
    s = reduce(s, {type: 'move', delta: 1})
    expect(focused(s)?.position).toBe('1')
  })

  it('a jump (:1:500) shows what comes before the target too', () => {
    let s = settleBefore(store(), 1000)
    s = settleBefore(reduce(s, {type: 'jump', position: '500'}), 1000)
    expect(focused(s)?.position).toBe('500')
    expect(wantedLoad(s)).toBeNull()
    s = reduce(s, {type: 'move', delta: -3})
    expect(focused(s)?.position).toBe('497')
    expect(s.pages[0].records[0].position).not.toBe('500')
  })
})

describe('browse reducer: refresh and follow', () => {
  it('new messages appear at the end; the cursor on the last message follows them', () => {
    let n = 30
    let s = settle(base(), n)
    s = reduce(s, {type: 'last'})
    expect(focused(s)?.position).toBe('29')
    expect(wantsPoll(s)).toBe(true)
    s = reduce(s, {type: 'poll'})
    expect(wantedLoad(s)).toMatchObject({kind: 'forward', from: '30'})
    n = 35
    const version = s.boundsVersion
    s = settle(s, n)
    expect(focused(s)?.position).toBe('34')
    expect(s.tail.atEnd).toBe(true)
    // the counts in the status bar are read again
    expect(s.boundsVersion).toBe(version + 1)
  })

  it('a cursor elsewhere stays where it is while messages come in; nothing new leaves the list as it was', () => {
    let s = settle(base(), 30)
    s = reduce(s, {type: 'move', delta: 5}, {type: 'refresh'})
    s = settle(s, 40)
    expect(focused(s)?.position).toBe('5')
    expect(loadedCount(s)).toBe(40)
    s = settle(reduce(s, {type: 'refresh'}), 40)
    expect(loadedCount(s)).toBe(40)
    expect(s.tail.atEnd).toBe(true)
  })

  it('a look for new messages does not outlive a filter change or a failed read', () => {
    let s = settle(base(), 15)
    s = reduce(s, {type: 'move', delta: 14}, {type: 'poll'})
    expect(s.tailing).toEqual({cursorAtEnd: true})
    s = reduce(s, {type: 'filterApplied', filter: buildFilter({filters: ['reason=timeout']})})
    expect(s.tailing).toBeNull()
    s = settle(s, 15)
    expect(focused(s)?.position).toBe('0')
    s = reduce(s, {type: 'move', delta: 14}, {type: 'poll'})
    s = reduce(s, {type: 'loadStarted', request: wantedLoad(s)!}, {type: 'loadFailed', generation: s.generation, message: 'broker gone'})
    expect(s.tailing).toBeNull()
  })

  it('F turns follow mode off: no more polling until it is on again', () => {
    let s = settle(base(), 15)
    expect(wantsPoll(s)).toBe(true)
    s = reduce(s, {type: 'toggleFollow'})
    expect(wantsPoll(s)).toBe(false)
    expect(s.notice?.text).toMatch(/follow off/)
    // far from the end of a long log nothing is polled either
    s = settle(reduce(settle(base(), 1000), {type: 'move', delta: 1}), 1000)
    expect(wantsPoll(s)).toBe(false)
  })
})

describe('browse reducer: detail', () => {
  it('Enter opens the detail full screen; j/k, PgDn and g/G scroll it there', () => {
    let s = settle(base(), 30)
    s = reduce(s, {type: 'zoom', open: true}, {type: 'move', delta: 3})
    expect(s.zoomed).toBe(true)
    expect(focused(s)?.position).toBe('0')
    expect(s.detail.scroll).toBe(3)
    s = reduce(s, {type: 'page', direction: 1})
    expect(s.detail.scroll).toBe(3 + s.zoomHeight)
    s = reduce(s, {type: 'first'})
    expect(s.detail.scroll).toBe(0)
    s = reduce(s, {type: 'zoom', open: false}, {type: 'move', delta: 1})
    expect(focused(s)?.position).toBe('1')
  })

  it('w switches wrapping; sideways scrolling works only on cut lines', () => {
    let s = settle(base(), 3)
    s = reduce(s, {type: 'detailHScroll', delta: 8})
    expect(s.detail.hscroll).toBe(0)
    s = reduce(s, {type: 'toggleWrap'}, {type: 'detailHScroll', delta: 8}, {type: 'detailHScroll', delta: 8}, {type: 'detailHScroll', delta: -8})
    expect(s.wrap).toBe(false)
    expect(s.detail.hscroll).toBe(8)
    s = reduce(s, {type: 'detailHScroll', delta: -100})
    expect(s.detail.hscroll).toBe(0)
  })

  it('s opens a prompt with a file name made from the position', () => {
    let s = settle(base(), 3)
    s = reduce(s, {type: 'move', delta: 2}, {type: 'openPrompt', prompt: 'save'})
    expect(s.mode).toMatchObject({kind: 'prompt', prompt: 'save', text: 'dlq-payload-2.bin'})
    expect(defaultSaveName('0:42')).toBe('dlq-payload-0_42.bin')
    expect(defaultSaveName('../../etc/x')).toBe('dlq-payload-.._.._etc_x.bin')
  })
})
