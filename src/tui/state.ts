import type {RecordFilter} from '../core/filter.js'
import {escapeText} from '../output/escape.js'
import type {LogBounds} from '../core/reader.js'
import type {DecodedRecord} from '../core/record.js'
import type {PlanView, ResultView} from './replay-port.js'

/**
 * The whole state of `dlq browse` as one pure reducer: the loaded window of pages, cursor,
 * selection, filter, detail pane and the replay dialog. The container turns `wantedLoad`
 * into reader calls and feeds the results back as actions; nothing here does I/O.
 *
 * Memory: at most `maxPages` pages of records are held. Pages scrolled past are dropped and
 * only their start position and record count are kept (`behind`, capped), which is enough
 * to load the same page again when the cursor comes back.
 */
export interface LoadedPage {
  /** Where reading started to get this page (reloading from here with limit = length gives the same records). */
  from: string | null
  records: DecodedRecord[]
}

export interface PageMark {
  from: string | null
  count: number
}

export type PromptKind = 'filter' | 'jump' | 'save'

export type Mode =
  | {kind: 'list'}
  | {kind: 'help'; scroll: number}
  | {kind: 'prompt'; prompt: PromptKind; text: string; error: string | null}
  | {kind: 'planning'; positions: string[]}
  /** The focused message's payload is open in $EDITOR; an edited version is then planned. */
  | {kind: 'editing'; position: string}
  | {kind: 'confirm'; view: PlanView; plan: unknown}
  | {kind: 'replaying'; done: number; total: number}
  | {kind: 'results'; result: ResultView; scroll: number}

export interface DetailState {
  scroll: number
  /** Columns scrolled to the right (when lines are not wrapped). */
  hscroll: number
  hex: boolean
  /** The focused record read again without the preview cut, when asked for. */
  full: DecodedRecord | null
  loadingFull: boolean
}

export interface BrowseState {
  pageSize: number
  maxPages: number
  maxBehind: number
  /** Rows of the message list and of the detail pane on screen (and of the full-screen detail). */
  listHeight: number
  detailHeight: number
  zoomHeight: number
  /** Bumped whenever the list starts over (filter, jump): loads of an older generation are ignored. */
  generation: number
  /** Where the list starts: null = the start of the log, else a jump target. */
  origin: string | null
  /** A jump target not yet confirmed by a load (reported when it does not exist). */
  jumpTarget: string | null
  pages: LoadedPage[]
  /** Marks of pages dropped before pages[0], oldest first. */
  behind: PageMark[]
  /** True when nothing precedes pages[0] (the log start, or a filter that matched nothing before it). */
  headAtStart: boolean
  /** File positions are record numbers, so the page before any position can be computed. */
  canStepBack: boolean
  /** The reader pages backward itself (pageBefore: Kafka, Redis). */
  canPageBefore: boolean
  /** Where the next forward page starts, and whether the log ended there. */
  tail: {next: string | null; atEnd: boolean}
  loading: 'forward' | 'backward' | null
  /** After G: keep the cursor on the last message while pages arrive. */
  stickToEnd: boolean
  /** G was pressed and the container is looking the end of the log up. */
  seekingLast: boolean
  /** How many positions a step back reads; grows while steps find nothing (a sparse filter). */
  stepSpan: number
  cursor: number
  top: number
  /**
   * Rows the cursor was asked to move past the loaded start (negative) or end (positive)
   * while more is being read there: applied when that page arrives, so keys pressed
   * faster than pages load (PgUp held after G) are not lost.
   */
  owed: number
  focus: 'list' | 'detail'
  /** The detail fills the screen (Enter). */
  zoomed: boolean
  /** Break long detail lines into rows (w) instead of cutting them. */
  wrap: boolean
  /** Follow mode (F): at the end of the log, look for new messages every so often. */
  follow: boolean
  /** A look for new messages (poll or refresh) is under way; the cursor moves to the new last message if it was on the last one. */
  tailing: {cursorAtEnd: boolean} | null
  /** Bumped when the bounds should be read again (refresh, or new messages came in). */
  boundsVersion: number
  detail: DetailState
  /** Selected positions in the order they were selected. */
  selection: ReadonlySet<string>
  /** Positions the ledger or this session replayed. */
  replayed: ReadonlySet<string>
  filter: RecordFilter
  mode: Mode
  bounds: LogBounds | null
  notice: {text: string; error: boolean} | null
}

export type LoadRequest =
  | {kind: 'forward'; generation: number; from: string | null; limit: number}
  | {kind: 'backward'; generation: number; from: string | null; limit: number}
  /** Keep the last `limit` matches of the `span` positions before `before` (file positions only). */
  | {kind: 'step-back'; generation: number; before: string; span: number; limit: number}
  /** The reader's own backward page: the `limit` matches before `before` (pageBefore). */
  | {kind: 'before'; generation: number; before: string; limit: number}

export type Action =
  | {type: 'resize'; listHeight: number; detailHeight: number; zoomHeight?: number}
  | {type: 'move'; delta: number}
  | {type: 'page'; direction: 1 | -1}
  | {type: 'first'}
  | {type: 'last'}
  | {type: 'lastAt'; origin: string}
  | {type: 'jump'; position: string}
  | {type: 'loadStarted'; request: LoadRequest}
  | {type: 'pageLoaded'; generation: number; direction: 'forward' | 'backward'; page: {from: string | null; records: DecodedRecord[]; next: string | null; atEnd: boolean}; stepped?: boolean; reachedStart?: boolean}
  | {type: 'loadFailed'; generation: number; message: string}
  | {type: 'bounds'; bounds: LogBounds}
  | {type: 'openPrompt'; prompt: PromptKind}
  | {type: 'promptText'; text: string}
  | {type: 'promptError'; message: string}
  | {type: 'closePrompt'}
  | {type: 'filterApplied'; filter: RecordFilter}
  | {type: 'toggleSelect'}
  | {type: 'selectAll'}
  | {type: 'clearSelection'}
  | {type: 'help'; open: boolean}
  | {type: 'helpScroll'; delta: number}
  | {type: 'toggleFocus'}
  | {type: 'detailScroll'; delta: number}
  | {type: 'detailHScroll'; delta: number}
  | {type: 'toggleWrap'}
  | {type: 'zoom'; open: boolean}
  | {type: 'detailEdge'; end: 'top' | 'bottom'}
  | {type: 'refresh'}
  | {type: 'poll'}
  | {type: 'toggleFollow'}
  | {type: 'toggleHex'}
  | {type: 'fullRequested'}
  | {type: 'fullLoaded'; record: DecodedRecord | null; position: string}
  | {type: 'replayRequested'}
  | {type: 'editRequested'}
  | {type: 'editEnded'; text: string; error: boolean}
  | {type: 'planReady'; view: PlanView; plan: unknown}
  | {type: 'replayConfirmed'}
  | {type: 'replayProgress'; done: number; total: number}
  | {type: 'replayDone'; result: ResultView}
  | {type: 'replayFailed'; message: string}
  | {type: 'closeDialog'}
  | {type: 'resultsScroll'; delta: number}
  | {type: 'replayedKnown'; positions: string[]}
  | {type: 'notice'; text: string | null; error?: boolean}

export interface InitOptions {
  filter: RecordFilter
  origin?: string | null
  pageSize?: number
  maxPages?: number
  maxBehind?: number
  canStepBack?: boolean
  canPageBefore?: boolean
  follow?: boolean
  listHeight?: number
  detailHeight?: number
}

export const DEFAULT_PAGE_SIZE = 100
export const DEFAULT_MAX_PAGES = 6
/** Marks of dropped pages kept for going back: ~10k × (string + number), a few hundred KB at most. */
export const DEFAULT_MAX_BEHIND = 10_000

export function initialState(opts: InitOptions): BrowseState {
  const origin = opts.origin ?? null
  return {
    pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
    maxPages: Math.max(2, opts.maxPages ?? DEFAULT_MAX_PAGES),
    maxBehind: opts.maxBehind ?? DEFAULT_MAX_BEHIND,
    listHeight: opts.listHeight ?? 10,
    detailHeight: opts.detailHeight ?? 10,
    zoomHeight: (opts.listHeight ?? 10) + (opts.detailHeight ?? 10),
    generation: 0,
    origin,
    jumpTarget: origin,
    pages: [],
    behind: [],
    headAtStart: origin === null,
    canStepBack: opts.canStepBack ?? false,
    canPageBefore: opts.canPageBefore ?? false,
    tail: {next: origin, atEnd: false},
    loading: null,
    stickToEnd: false,
    seekingLast: false,
    stepSpan: opts.pageSize ?? DEFAULT_PAGE_SIZE,
    cursor: 0,
    top: 0,
    owed: 0,
    focus: 'list',
    zoomed: false,
    wrap: true,
    follow: opts.follow ?? true,
    tailing: null,
    boundsVersion: 0,
    detail: emptyDetail(),
    selection: new Set(),
    replayed: new Set(),
    filter: opts.filter,
    mode: {kind: 'list'},
    bounds: null,
    notice: null,
  }
}

const emptyDetail = (): DetailState => ({scroll: 0, hscroll: 0, hex: false, full: null, loadingFull: false})

// ---- selectors ----

export function loadedCount(s: BrowseState): number {
  let n = 0
  for (const p of s.pages) n += p.records.length
  return n
}

export function recordAt(s: BrowseState, index: number): DecodedRecord | null {
  let i = index
  if (i < 0) return null
  for (const p of s.pages) {
    if (i < p.records.length) return p.records[i]
    i -= p.records.length
  }
  return null
}

export const focused = (s: BrowseState): DecodedRecord | null => recordAt(s, s.cursor)

/** The rows on screen, with their index in the loaded window. */
export function visibleRecords(s: BrowseState): Array<{index: number; record: DecodedRecord}> {
  const out: Array<{index: number; record: DecodedRecord}> = []
  let base = 0
  const end = s.top + s.listHeight
  for (const p of s.pages) {
    const n = p.records.length
    if (base + n > s.top && base < end) {
      for (let i = Math.max(0, s.top - base); i < n && base + i < end; i++) out.push({index: base + i, record: p.records[i]})
    }
    base += n
    if (base >= end) break
  }
  return out
}

/** Can the list go further back than what is loaded? */
export function moreBefore(s: BrowseState): boolean {
  return !s.headAtStart && (s.behind.length > 0 || s.canStepBack || s.canPageBefore)
}

/** The list starts after a jump and the store cannot page backwards from there (g goes to the first message). */
export function startUnreachable(s: BrowseState): boolean {
  return !s.canStepBack && !s.canPageBefore && s.behind.length === 0 && (s.pages[0]?.from ?? s.origin) !== null
}

/** How close to either end of the loaded records the cursor may get before the next page is fetched. */
export const prefetchMargin = (s: BrowseState): number => Math.max(s.listHeight * 2, 20)

/**
 * Follow mode looks for new messages only while the whole log is loaded up to its end and
 * the cursor is near it: new records then join the window without growing it unboundedly
 * behind a cursor that is elsewhere.
 */
export const wantsPoll = (s: BrowseState): boolean =>
  s.follow && s.tail.atEnd && s.loading === null && !s.seekingLast && s.tailing === null && loadedCount(s) - 1 - s.cursor < prefetchMargin(s)

/**
 * The next page the container should read, if any: forward when the cursor is within the
 * prefetch margin of the loaded end, backward when it is near the loaded start.
 */
export function wantedLoad(s: BrowseState): LoadRequest | null {
  if (s.loading !== null || s.seekingLast) return null
  const total = loadedCount(s)
  const margin = prefetchMargin(s)
  // A refresh (tailing) reads the new end at once, wherever the cursor is.
  if (!s.tail.atEnd && (total - 1 - s.cursor < margin || s.stickToEnd || s.tailing !== null)) {
    return {kind: 'forward', generation: s.generation, from: s.tail.next, limit: s.pageSize}
  }
  if (s.cursor < margin && !s.headAtStart) {
    const mark = s.behind.at(-1)
    if (mark) return {kind: 'backward', generation: s.generation, from: mark.from, limit: Math.max(1, mark.count)}
    const head = s.pages.length > 0 ? s.pages[0].from : s.origin
    if (s.canStepBack && head !== null) return {kind: 'step-back', generation: s.generation, before: head, span: s.stepSpan, limit: s.pageSize}
    if (s.canPageBefore && head !== null) return {kind: 'before', generation: s.generation, before: head, limit: s.pageSize}
  }
  return null
}

export const loadDirection = (r: LoadRequest): 'forward' | 'backward' => (r.kind === 'forward' ? 'forward' : 'backward')

// ---- the reducer ----

function clampView(s: BrowseState): BrowseState {
  const total = loadedCount(s)
  let cursor = Math.min(Math.max(0, s.cursor), Math.max(0, total - 1))
  if (s.stickToEnd) cursor = Math.max(0, total - 1)
  let top = s.top
  if (cursor < top) top = cursor
  if (cursor >= top + s.listHeight) top = cursor - s.listHeight + 1
  top = Math.max(0, Math.min(top, Math.max(0, total - s.listHeight)))
  if (cursor === s.cursor && top === s.top) return s
  return {...s, cursor, top}
}

function withCursor(s: BrowseState, cursor: number, top = s.top): BrowseState {
  const before = focused(s)
  const total = loadedCount(s)
  const owed = cursor < 0 && moreBefore(s) ? cursor : cursor > total - 1 && !s.tail.atEnd && total > 0 ? cursor - (total - 1) : 0
  const next = clampView({...s, cursor, top, owed, stickToEnd: false})
  const after = focused(next)
  // The detail pane belongs to the focused message: a new message starts at its top, preview only.
  return before === after ? next : {...next, detail: {...emptyDetail(), hex: s.detail.hex}}
}

/** Starts the list over at `origin` (null = the log start). */
function restart(s: BrowseState, origin: string | null, extra: Partial<BrowseState> = {}): BrowseState {
  return {
    ...s,
    generation: s.generation + 1,
    origin,
    jumpTarget: origin,
    pages: [],
    behind: [],
    headAtStart: origin === null,
    tail: {next: origin, atEnd: false},
    loading: null,
    stickToEnd: false,
    seekingLast: false,
    stepSpan: s.pageSize,
    cursor: 0,
    top: 0,
    owed: 0,
    tailing: null,
    detail: {...emptyDetail(), hex: s.detail.hex},
    ...extra,
  }
}

/** Drops pages beyond maxPages from the end away from the cursor. */
function trim(s: BrowseState, dropFrom: 'front' | 'back'): BrowseState {
  let pages = s.pages
  let {cursor, top, behind, tail, headAtStart} = s
  const margin = prefetchMargin(s)
  if (dropFrom === 'front') {
    while (pages.length > s.maxPages && cursor >= pages[0].records.length + margin) {
      const [gone, ...rest] = pages
      behind = [...behind, {from: gone.from, count: gone.records.length}]
      if (behind.length > s.maxBehind) behind = behind.slice(behind.length - s.maxBehind)
      pages = rest
      cursor -= gone.records.length
      top -= gone.records.length
      headAtStart = false
    }
  } else {
    let total = pages.reduce((n, p) => n + p.records.length, 0)
    while (pages.length > s.maxPages && total - pages.at(-1)!.records.length - margin > cursor) {
      const gone = pages.at(-1)!
      pages = pages.slice(0, -1)
      total -= gone.records.length
      tail = {next: gone.from, atEnd: false}
    }
  }
  return {...s, pages, cursor, top: Math.max(0, top), behind, tail, headAtStart}
}

function pageLoaded(s: BrowseState, a: Extract<Action, {type: 'pageLoaded'}>): BrowseState {
  if (a.generation !== s.generation) return s
  const {page} = a
  let next: BrowseState = {...s, loading: null}
  if (a.direction === 'forward') {
    if (s.tailing) {
      next.tailing = null
      if (page.records.length > 0) next.boundsVersion = s.boundsVersion + 1
    }
    if (page.records.length === 0) {
      next.tail = {next: page.next, atEnd: page.atEnd}
    } else {
      // The first page after a restart stands for everything from the origin on.
      const from = s.pages.length === 0 ? s.origin : page.from
      next.pages = [...s.pages, {from, records: page.records}]
      next.tail = {next: page.next, atEnd: page.atEnd}
      if (s.tailing?.cursorAtEnd) next.cursor = loadedCount(next) - 1
      else if (s.owed > 0) {
        const want = s.cursor + s.owed
        const last = loadedCount(next) - 1
        next.cursor = Math.min(want, last)
        next.top = s.top + (next.cursor - s.cursor)
        next.owed = want > last && !page.atEnd ? want - last : 0
      }
      next = trim(next, 'front')
    }
    if (s.jumpTarget !== null && s.pages.length === 0) {
      const first = page.records[0]
      if (first && first.position !== s.jumpTarget) {
        next.notice = {text: `position ${escapeText(s.jumpTarget)} is not there; showing from ${escapeText(first.position)}`, error: true}
      } else if (!first && page.atEnd) {
        next.notice = {text: `nothing at or after position ${escapeText(s.jumpTarget)}${s.filter.isEmpty ? '' : ' that matches the filter'}`, error: true}
      }
      if (first || page.atEnd) next.jumpTarget = null
    }
  } else {
    const n = page.records.length
    const behind = s.behind.length > 0 && page.from === s.behind.at(-1)!.from ? s.behind.slice(0, -1) : s.behind
    if (n > 0) {
      next.pages = [{from: page.from, records: page.records}, ...s.pages]
      const want = s.cursor + n + Math.min(0, s.owed)
      next.cursor = Math.max(0, want)
      next.top = s.top + n + (next.cursor - (s.cursor + n))
      next.owed = want < 0 ? want : 0
    } else if (s.pages.length > 0) {
      // Nothing matched in that stretch: the first page now stands for it too.
      next.pages = [{...s.pages[0], from: page.from}, ...s.pages.slice(1)]
    } else {
      next.origin = page.from
    }
    next.behind = behind
    // A page read from null started at the log start: nothing can precede it.
    next.headAtStart = behind.length === 0 && (a.reachedStart === true || page.from === null || !(s.canStepBack || s.canPageBefore))
    if (next.headAtStart && next.owed < 0) next.owed = 0
    if (a.stepped) next.stepSpan = n === 0 ? s.stepSpan * 4 : s.pageSize
    next = trim(next, 'back')
  }
  return clampView(next)
}

function toggleIn(set: ReadonlySet<string>, key: string): Set<string> {
  const out = new Set(set)
  if (out.has(key)) out.delete(key)
  else out.add(key)
  return out
}

export function browseReducer(s: BrowseState, a: Action): BrowseState {
  switch (a.type) {
    case 'resize':
      return clampView({...s, listHeight: Math.max(1, a.listHeight), detailHeight: Math.max(1, a.detailHeight), zoomHeight: Math.max(1, a.zoomHeight ?? s.zoomHeight)})
    case 'move':
      if (detailHasKeys(s)) return {...s, detail: {...s.detail, scroll: Math.max(0, s.detail.scroll + a.delta)}}
      return withCursor(s, s.cursor + s.owed + a.delta)
    case 'page': {
      if (detailHasKeys(s)) return {...s, detail: {...s.detail, scroll: Math.max(0, s.detail.scroll + a.direction * (s.zoomed ? s.zoomHeight : s.detailHeight))}}
      // The window scrolls by a screenful with the cursor, like a pager.
      const step = a.direction * s.listHeight
      return withCursor(s, s.cursor + s.owed + step, s.top + step)
    }
    case 'first':
      if (detailHasKeys(s)) return {...s, detail: {...s.detail, scroll: 0}}
      if (s.headAtStart && (s.canStepBack || s.canPageBefore || (s.pages[0]?.from ?? s.origin) === null)) return withCursor(s, 0, 0)
      return restart(s, null)
    case 'last':
      // The pane clamps the scroll to its last screenful.
      if (detailHasKeys(s)) return {...s, detail: {...s.detail, scroll: Number.MAX_SAFE_INTEGER}}
      if (s.tail.atEnd) return withCursor(s, loadedCount(s) - 1)
      // The container looks the end up (bounds) and answers with lastAt.
      return {...s, seekingLast: true}
    case 'lastAt':
      return restart(s, a.origin, {stickToEnd: true, headAtStart: false, jumpTarget: null, notice: null})
    case 'loadStarted':
      return a.request.generation === s.generation ? {...s, loading: loadDirection(a.request)} : s
    case 'jump':
      return restart(s, a.position, {mode: {kind: 'list'}, notice: null})
    case 'pageLoaded':
      return pageLoaded(s, a)
    case 'loadFailed':
      if (a.generation !== s.generation) return s
      return {...s, loading: null, seekingLast: false, tailing: null, tail: {...s.tail, atEnd: true}, headAtStart: true, notice: {text: a.message, error: true}}
    case 'bounds':
      return {...s, bounds: a.bounds}
    case 'openPrompt': {
      const r = focused(s)
      if (a.prompt === 'save' && !r) return s
      const text = a.prompt === 'filter' ? s.filter.text.join(' && ') : a.prompt === 'save' ? defaultSaveName(r!.position) : ''
      return {...s, mode: {kind: 'prompt', prompt: a.prompt, text, error: null}}
    }
    case 'promptText':
      return s.mode.kind === 'prompt' ? {...s, mode: {...s.mode, text: a.text, error: null}} : s
    case 'promptError':
      return s.mode.kind === 'prompt' ? {...s, mode: {...s.mode, error: a.message}} : s
    case 'closePrompt':
      return s.mode.kind === 'prompt' ? {...s, mode: {kind: 'list'}} : s
    case 'filterApplied':
      // The list starts over where it stood, not at a position the user asked for: no "not
      // there" notice (an earlier jump's target may be long gone, or past the end).
      return restart(s, s.origin, {filter: a.filter, mode: {kind: 'list'}, notice: null, jumpTarget: null})
    case 'toggleSelect': {
      const r = focused(s)
      if (!r) return s
      // Space also steps down, so a run of messages is selected by holding it.
      return withCursor({...s, selection: toggleIn(s.selection, r.position)}, s.cursor + 1)
    }
    case 'selectAll': {
      const sel = new Set(s.selection)
      for (const p of s.pages) for (const r of p.records) sel.add(r.position)
      return {...s, selection: sel}
    }
    case 'clearSelection':
      return s.selection.size === 0 && s.notice === null ? s : {...s, selection: new Set(), notice: null}
    case 'help':
      return {...s, mode: a.open ? {kind: 'help', scroll: 0} : {kind: 'list'}}
    case 'helpScroll':
      return s.mode.kind === 'help' ? {...s, mode: {...s.mode, scroll: Math.max(0, s.mode.scroll + a.delta)}} : s
    case 'toggleFocus':
      return s.zoomed ? s : {...s, focus: s.focus === 'list' ? 'detail' : 'list'}
    case 'detailScroll':
      return {...s, detail: {...s.detail, scroll: Math.max(0, s.detail.scroll + a.delta)}}
    case 'detailHScroll':
      return s.wrap ? s : {...s, detail: {...s.detail, hscroll: Math.max(0, s.detail.hscroll + a.delta)}}
    case 'detailEdge':
      return {...s, detail: {...s.detail, scroll: a.end === 'top' ? 0 : Number.MAX_SAFE_INTEGER}}
    case 'toggleWrap':
      // Rows change with wrapping: start the detail at its top again.
      return {...s, wrap: !s.wrap, detail: {...s.detail, scroll: 0, hscroll: 0}}
    case 'zoom':
      return focused(s) || !a.open ? {...s, zoomed: a.open} : s
    case 'refresh':
    case 'poll': {
      const bump = a.type === 'refresh' ? {boundsVersion: s.boundsVersion + 1} : {}
      // Only a log read to its end can have grown; elsewhere paging down reads on anyway.
      if (!s.tail.atEnd || s.loading !== null || s.seekingLast) return {...s, ...bump}
      const total = loadedCount(s)
      return {...s, ...bump, tail: {...s.tail, atEnd: false}, tailing: {cursorAtEnd: total === 0 || s.cursor >= total - 1}}
    }
    case 'toggleFollow':
      return {...s, follow: !s.follow, notice: {text: s.follow ? 'follow off: R looks for new messages' : 'follow on: new messages appear at the end', error: false}}
    case 'toggleHex':
      return {...s, detail: {...s.detail, hex: !s.detail.hex, scroll: 0}}
    case 'fullRequested': {
      const r = focused(s)
      if (!r || s.detail.full || s.detail.loadingFull || !isPreviewOnly(r)) return s
      return {...s, detail: {...s.detail, loadingFull: true}}
    }
    case 'fullLoaded': {
      if (focused(s)?.position !== a.position) return s
      if (a.record === null) return {...s, detail: {...s.detail, loadingFull: false}, notice: {text: `position ${escapeText(a.position)} is not there any more`, error: true}}
      return {...s, detail: {...s.detail, loadingFull: false, full: a.record}}
    }
    case 'replayRequested': {
      if (s.selection.size === 0) return {...s, notice: {text: 'nothing selected: select messages with space (or A for all loaded) first', error: true}}
      return {...s, mode: {kind: 'planning', positions: [...s.selection]}, notice: null}
    }
    case 'editRequested': {
      const r = focused(s)
      if (!r) return {...s, notice: {text: 'no message to edit', error: true}}
      return {...s, mode: {kind: 'editing', position: r.position}, notice: null}
    }
    case 'editEnded':
      return s.mode.kind === 'editing' ? {...s, mode: {kind: 'list'}, notice: {text: a.text, error: a.error}} : s
    case 'planReady':
      return s.mode.kind === 'planning' || s.mode.kind === 'editing' ? {...s, mode: {kind: 'confirm', view: a.view, plan: a.plan}} : s
    case 'replayConfirmed':
      return s.mode.kind === 'confirm' ? {...s, mode: {kind: 'replaying', done: 0, total: s.mode.view.send}} : s
    case 'replayProgress':
      return s.mode.kind === 'replaying' ? {...s, mode: {kind: 'replaying', done: a.done, total: a.total}} : s
    case 'replayDone': {
      const replayed = new Set(s.replayed)
      for (const it of a.result.items) if (it.outcome === 'replayed' || it.reason === 'already_replayed') replayed.add(it.position)
      const selection = new Set(s.selection)
      for (const it of a.result.items) if (it.outcome !== 'failed') selection.delete(it.position)
      return {...s, replayed, selection, mode: {kind: 'results', result: a.result, scroll: 0}}
    }
    case 'replayFailed':
      return {...s, mode: {kind: 'list'}, notice: {text: `replay: ${a.message}`, error: true}}
    case 'closeDialog':
      return s.mode.kind === 'replaying' ? s : {...s, mode: {kind: 'list'}}
    case 'resultsScroll':
      return s.mode.kind === 'results' ? {...s, mode: {...s.mode, scroll: Math.max(0, s.mode.scroll + a.delta)}} : s
    case 'replayedKnown': {
      if (a.positions.length === 0) return s
      const replayed = new Set(s.replayed)
      for (const p of a.positions) replayed.add(p)
      return {...s, replayed}
    }
    case 'notice':
      return {...s, notice: a.text === null ? null : {text: a.text, error: a.error ?? false}}
  }
}

/** j/k, PgUp/PgDn, g/G scroll the detail instead of moving the cursor. */
export const detailHasKeys = (s: BrowseState): boolean => s.zoomed || s.focus === 'detail'

/** Where `s` saves a payload unless the user types another path. */
export const defaultSaveName = (position: string): string => `dlq-payload-${position.replace(/[^A-Za-z0-9._-]+/g, '_')}.bin`

/** True when the record held in the window is only a preview of its payload. */
export function isPreviewOnly(r: DecodedRecord): boolean {
  return r.payload !== null && r.payloadSize !== null && r.payload.length < r.payloadSize && !r.payloadTruncated
}
