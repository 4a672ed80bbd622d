import {Box, useApp} from 'ink'
import {useCallback, useEffect, useMemo, useReducer, useRef} from 'react'
import {buildFilter, type FilterSpec} from '../core/filter.js'
import type {DlqReader} from '../core/reader.js'
import type {DecodedRecord} from '../core/record.js'
import {escapeText} from '../output/escape.js'
import {ConfirmDialog} from './components/confirm-dialog.js'
import {DetailPane} from './components/detail-pane.js'
import {Footer} from './components/footer.js'
import {HelpOverlay} from './components/help-overlay.js'
import {MessageList, type ListRowView} from './components/message-list.js'
import {ReplayResults} from './components/replay-results.js'
import {StatusBar} from './components/status-bar.js'
import {detailView, listColumns, listHeader, listLine, type ListColumns} from './format.js'
import {footerHints, type Command, type KeyMode} from './keymap.js'
import {canStepBack, lastOrigin, runLoad} from './loader.js'
import type {ReplayPort} from './replay-port.js'
import {browseReducer, focused, initialState, moreBefore, startUnreachable, visibleRecords, wantedLoad, type Action, type BrowseState} from './state.js'
import {useBrowseInput, type Edit} from './use-browse-input.js'
import {layout, useTerminalSize, type TerminalSize} from './use-terminal-size.js'

export interface BrowseAppProps {
  reader: DlqReader
  /** The filter flags given on the command line; `/` edits `filters`, the rest stays. */
  filterSpec: FilterSpec
  from: string | null
  payloadLimit: number
  replay: ReplayPort
  pageSize?: number
  maxPages?: number
  /** A fixed size instead of the terminal's (tests). */
  size?: TerminalSize
  /** Called once the user quits (before Ink exits). */
  onQuit?: () => void
}

/** Filter expressions as typed after `/`: several joined by `&&`. */
export const splitFilterText = (text: string): string[] =>
  text
    .split('&&')
    .map((t) => t.trim())
    .filter((t) => t !== '')

function modeKeys(s: BrowseState): KeyMode {
  switch (s.mode.kind) {
    case 'list':
      return 'list'
    case 'help':
      return 'help'
    case 'prompt':
      return 'prompt'
    case 'confirm':
      return 'confirm'
    case 'results':
      return 'results'
    default:
      return 'busy'
  }
}

/** Lines are cached per record and column layout: paging redraws without formatting again. */
const lineCache = new WeakMap<DecodedRecord, {cols: ListColumns; line: string}>()
function cachedLine(r: DecodedRecord, cols: ListColumns): string {
  const hit = lineCache.get(r)
  if (hit && hit.cols === cols) return hit.line
  const line = listLine(r, cols)
  lineCache.set(r, {cols, line})
  return line
}

/**
 * The container: owns the reader and the replay port, runs the loads the reducer asks for,
 * and hands plain data to the widgets.
 */
export function BrowseApp({reader, filterSpec, from, payloadLimit, replay, pageSize, maxPages, size, onQuit}: BrowseAppProps) {
  const {exit} = useApp()
  const term = useTerminalSize(size)
  const {listHeight, detailHeight, bodyHeight} = layout(term.rows)
  const [state, reactDispatch] = useReducer(browseReducer, null, () =>
    initialState({filter: buildFilter(filterSpec), origin: from, pageSize, maxPages, canStepBack: canStepBack(reader), listHeight, detailHeight}),
  )
  // The ref runs ahead of React: keys read in one chunk ("/reason=x\r") each see the state the
  // previous key left. The reducer is pure, so applying it here too gives the same state.
  const stateRef = useRef(state)
  const dispatch = useCallback((a: Action) => {
    stateRef.current = browseReducer(stateRef.current, a)
    reactDispatch(a)
  }, [])

  useEffect(() => {
    if (state.listHeight !== listHeight || state.detailHeight !== detailHeight) dispatch({type: 'resize', listHeight, detailHeight})
  }, [listHeight, detailHeight, state.listHeight, state.detailHeight])

  // ---- loading pages ----
  const load = wantedLoad(state)
  const loadKey = load ? `${load.kind}|${load.generation}|${'from' in load ? load.from : load.before}|${state.pages.length}` : null
  const aborts = useRef(new Set<AbortController>())
  useEffect(() => {
    if (!load) return
    dispatch({type: 'loadStarted', request: load})
    const ac = new AbortController()
    aborts.current.add(ac)
    const filter = stateRef.current.filter
    runLoad(reader, load, filter, payloadLimit, ac.signal)
      .then((action) => {
        if (ac.signal.aborted) return
        dispatch(action)
        if (action.type === 'pageLoaded' && action.page.records.length > 0) {
          replay
            .replayedAmong(action.page.records.map((r) => r.position))
            .then((positions) => dispatch({type: 'replayedKnown', positions}))
            .catch(() => {})
        }
      })
      .catch((error: Error) => {
        if (!ac.signal.aborted) dispatch({type: 'loadFailed', generation: load.generation, message: escapeText(error.message)})
      })
      .finally(() => aborts.current.delete(ac))
    // Only a new request starts a load; the abort happens when the list starts over.
  }, [loadKey])

  // A filter change or jump starts the list over: loads of the old list are no longer wanted.
  useEffect(() => {
    return () => {
      for (const ac of aborts.current) ac.abort()
    }
  }, [state.generation])

  // Bounds after the first page, so counting a large file does not delay the first screen.
  const haveFirstPage = state.pages.length > 0 || state.tail.atEnd
  useEffect(() => {
    if (!haveFirstPage || state.bounds) return
    reader.bounds().then(
      (bounds) => dispatch({type: 'bounds', bounds}),
      () => {},
    )
  }, [haveFirstPage])

  useEffect(() => {
    if (!state.seekingLast) return
    reader.bounds().then(
      (bounds) => {
        dispatch({type: 'bounds', bounds})
        dispatch({type: 'lastAt', origin: lastOrigin(reader, bounds, state.pageSize) ?? '0'})
      },
      (error: Error) => dispatch({type: 'loadFailed', generation: stateRef.current.generation, message: escapeText(error.message)}),
    )
  }, [state.seekingLast])

  // ---- the full payload of the focused message, on request ----
  const current = focused(state)
  useEffect(() => {
    if (!state.detail.loadingFull || !current) return
    const position = current.position
    reader.get([position]).then(
      (found) => dispatch({type: 'fullLoaded', position, record: found.get(position) ?? null}),
      (error: Error) => dispatch({type: 'notice', text: escapeText(error.message), error: true}),
    )
  }, [state.detail.loadingFull, current?.position])

  // ---- replay ----
  const planning = state.mode.kind === 'planning' ? state.mode.positions : null
  useEffect(() => {
    if (!planning) return
    replay.plan(planning).then(
      (prepared) => dispatch({type: 'planReady', view: prepared.view, plan: prepared.plan}),
      (error: Error) => dispatch({type: 'replayFailed', message: escapeText(error.message)}),
    )
  }, [planning])

  const sendPlan = useCallback(
    (plan: unknown) => {
      dispatch({type: 'replayConfirmed'})
      replay.execute(plan, {onProgress: (done, total) => dispatch({type: 'replayProgress', done, total})}).then(
        (result) => dispatch({type: 'replayDone', result}),
        (error: Error) => dispatch({type: 'replayFailed', message: escapeText(error.message)}),
      )
    },
    [replay],
  )

  // ---- keys ----
  const quit = useCallback(() => {
    onQuit?.()
    exit()
  }, [exit, onQuit])

  const onCommand = useCallback(
    (c: Command) => {
      const s = stateRef.current
      const mode = s.mode
      if (c === 'quit') return quit()
      if (mode.kind === 'help') return dispatch({type: 'help', open: false})
      if (mode.kind === 'prompt') {
        if (c === 'cancel') return dispatch({type: 'closePrompt'})
        if (c !== 'submit') return
        if (mode.prompt === 'jump') {
          const text = mode.text.trim()
          if (text === '') return dispatch({type: 'closePrompt'})
          try {
            return dispatch({type: 'jump', position: reader.parsePosition(text)})
          } catch (error) {
            return dispatch({type: 'promptError', message: escapeText((error as Error).message)})
          }
        }
        try {
          // A bad expression is shown in place and the old filter stays in force.
          const filter = buildFilter({...filterSpec, filters: splitFilterText(mode.text)})
          return dispatch({type: 'filterApplied', filter})
        } catch (error) {
          return dispatch({type: 'promptError', message: escapeText((error as Error).message)})
        }
      }
      if (mode.kind === 'confirm') {
        if (c === 'confirm' && mode.view.send > 0) return sendPlan(mode.plan)
        if (c === 'cancel' || c === 'confirm') return dispatch({type: 'closeDialog'})
        return
      }
      if (mode.kind === 'results') {
        if (c === 'up' || c === 'down') return dispatch({type: 'resultsScroll', delta: c === 'up' ? -1 : 1})
        if (c === 'cancel') return dispatch({type: 'closeDialog'})
        return
      }
      switch (c) {
        case 'up':
          return dispatch({type: 'move', delta: -1})
        case 'down':
          return dispatch({type: 'move', delta: 1})
        case 'pageUp':
          return dispatch({type: 'page', direction: -1})
        case 'pageDown':
          return dispatch({type: 'page', direction: 1})
        case 'first':
          return dispatch({type: 'first'})
        case 'last':
          return dispatch({type: 'last'})
        case 'jump':
          return dispatch({type: 'openPrompt', prompt: 'jump'})
        case 'filter':
          return dispatch({type: 'openPrompt', prompt: 'filter'})
        case 'toggleSelect':
          return dispatch({type: 'toggleSelect'})
        case 'selectAll':
          return dispatch({type: 'selectAll'})
        case 'clearSelection':
          return dispatch({type: 'clearSelection'})
        case 'replay':
          return dispatch({type: 'replayRequested'})
        case 'focus':
          return dispatch({type: 'toggleFocus'})
        case 'hex':
          return dispatch({type: 'toggleHex'})
        case 'fullPayload':
          return dispatch({type: 'fullRequested'})
        case 'help':
          return dispatch({type: 'help', open: true})
      }
    },
    [quit, reader, filterSpec, sendPlan],
  )

  const onEdit = useCallback((e: Edit) => {
    const mode = stateRef.current.mode
    if (mode.kind !== 'prompt') return
    const text = e.type === 'insert' ? mode.text + e.text : e.type === 'backspace' ? Array.from(mode.text).slice(0, -1).join('') : ''
    dispatch({type: 'promptText', text})
  }, [])

  const keyMode = modeKeys(state)
  const modeOf = useCallback(() => modeKeys(stateRef.current), [])
  useBrowseInput(modeOf, onCommand, onEdit)

  // ---- drawing ----
  const width = term.columns
  const visible = visibleRecords(state)
  const positionWidth = visible.reduce((w, v) => Math.max(w, v.record.position.length), 8)
  const cols = useMemo(() => listColumns(width, positionWidth), [width, positionWidth])
  const rows: ListRowView[] = visible.map(({index, record}) => ({
    index,
    line: cachedLine(record, cols),
    selected: state.selection.has(record.position),
    replayed: state.replayed.has(record.position),
  }))

  const detail = useMemo(
    () => (current ? detailView(current, {hex: state.detail.hex, full: state.detail.full, loadingFull: state.detail.loadingFull, previewLimit: payloadLimit}) : null),
    [current, state.detail.hex, state.detail.full, state.detail.loadingFull, payloadLimit],
  )

  const up = moreBefore(state) ? '▲ more above' : startUnreachable(state) && state.top === 0 ? '▲ g: from the first message' : ''
  const down = !state.tail.atEnd ? '▼ more below' : ''
  const header = `${listHeader(cols).trimEnd()}  ${[up, down].filter(Boolean).join(' ')}`
  const b = state.bounds
  const boundsText = b ? (b.first === null ? 'empty' : `${escapeText(b.first)}…${escapeText(b.last ?? '?')}${b.count === null ? '' : ` (${b.count.toLocaleString('en')})`}`) : 'bounds …'
  const busy =
    state.mode.kind === 'planning'
      ? 'planning replay…'
      : state.mode.kind === 'replaying'
        ? `replaying ${state.mode.done}/${state.mode.total}…`
        : state.loading || state.seekingLast
          ? 'loading…'
          : null
  const filters = [...state.filter.text].map(escapeText)

  const empty = state.loading || !haveFirstPage ? 'loading…' : state.filter.isEmpty ? 'No messages.' : 'No messages match the filter.'
  const prompt =
    state.mode.kind === 'prompt'
      ? {label: state.mode.prompt === 'filter' ? 'filter / ' : 'jump to position : ', text: escapeText(state.mode.text), error: state.mode.error}
      : null

  let body
  if (state.mode.kind === 'help') body = <HelpOverlay width={width} height={bodyHeight} />
  else if (state.mode.kind === 'confirm') body = <ConfirmDialog width={width} height={bodyHeight} view={state.mode.view} />
  else if (state.mode.kind === 'results') body = <ReplayResults width={width} height={bodyHeight} result={state.mode.result} scroll={state.mode.scroll} />
  else
    body = (
      <>
        <MessageList width={width} height={listHeight} header={header} rows={rows} cursor={state.cursor} focused={state.focus === 'list'} empty={empty} />
        <DetailPane width={width} height={detailHeight} title={detail?.title ?? ''} lines={detail?.lines ?? []} scroll={state.detail.scroll} focused={state.focus === 'detail'} />
      </>
    )

  return (
    <Box flexDirection="column" width={width}>
      <StatusBar
        width={width}
        source={escapeText(reader.info.display)}
        bounds={boundsText}
        position={current ? escapeText(current.position) : '-'}
        filters={filters}
        selected={state.selection.size}
        busy={busy}
      />
      {body}
      <Footer width={width} prompt={prompt} notice={state.notice} hints={footerHints(keyMode)} />
    </Box>
  )
}
