import {Box, useApp, useStdin, useStdout} from 'ink'
import {useCallback, useEffect, useMemo, useReducer, useRef} from 'react'
import {buildFilter, type FilterSpec} from '../core/filter.js'
import type {DlqReader} from '../core/reader.js'
import type {DecodedRecord} from '../core/record.js'
import {escapeText} from '../output/escape.js'
import {ConfirmDialog} from './components/confirm-dialog.js'
import {DetailPane} from './components/detail-pane.js'
import {Footer} from './components/footer.js'
import {detailTop} from './components/detail-pane.js'
import {HelpOverlay, helpRows} from './components/help-overlay.js'
import {MessageList, type ListRowView} from './components/message-list.js'
import {ReplayResults} from './components/replay-results.js'
import {StatusBar} from './components/status-bar.js'
import {columnNeeds, detailDoc, listColumns, listHeader, listLine, mergeNeeds, type ListColumns} from './format.js'
import {editInEditor, editorCommand} from './edit-payload.js'
import {footerHints, type Command, type KeyMode} from './keymap.js'
import {canPageBefore, canStepBack, lastOrigin, runLoad} from './loader.js'
import type {ReplayPort} from './replay-port.js'
import {savedText, savePayload} from './save.js'
import {browseReducer, focused, initialState, loadedCount, moreBefore, startUnreachable, visibleRecords, wantedLoad, wantsPoll, type Action, type BrowseState} from './state.js'
import {plural} from './text.js'
import {ThemeContext, themeFor, type Theme} from './theme.js'
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
  /** How often follow mode looks for new messages at the end of the log. */
  followMs?: number
  /** Colours (tests); by default from NO_COLOR / FORCE_COLOR. */
  theme?: Theme
}

export const DEFAULT_FOLLOW_MS = 1000

/** Columns one ← or → scrolls the detail sideways. */
const HSCROLL_STEP = 8

const ZOOM_HINTS = 'Esc/q back · ↑↓ PgUp PgDn g G scroll · w wrap · ←→ sideways · x hex · p whole payload · s save'

const PROMPT_LABEL = {filter: 'filter / ', jump: 'jump to position : ', save: 'save payload to : '} as const

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
export function BrowseApp(props: BrowseAppProps) {
  const theme = useMemo(() => props.theme ?? themeFor(process.env), [props.theme])
  return (
    <ThemeContext.Provider value={theme}>
      <Browse {...props} />
    </ThemeContext.Provider>
  )
}

function Browse({reader, filterSpec, from, payloadLimit, replay, pageSize, maxPages, size, onQuit, followMs = DEFAULT_FOLLOW_MS}: BrowseAppProps) {
  const {exit} = useApp()
  const term = useTerminalSize(size)
  const {listHeight, detailHeight, bodyHeight} = layout(term.rows)
  const zoomHeight = bodyHeight - 1
  const [state, reactDispatch] = useReducer(browseReducer, null, () =>
    initialState({
      filter: buildFilter(filterSpec),
      origin: from,
      pageSize,
      maxPages,
      canStepBack: canStepBack(reader),
      canPageBefore: canPageBefore(reader),
      listHeight,
      detailHeight,
    }),
  )
  // The ref runs ahead of React: keys read in one chunk ("/reason=x\r") each see the state the
  // previous key left. The reducer is pure, so applying it here too gives the same state.
  const stateRef = useRef(state)
  const dispatch = useCallback((a: Action) => {
    stateRef.current = browseReducer(stateRef.current, a)
    reactDispatch(a)
  }, [])

  useEffect(() => {
    if (state.listHeight !== listHeight || state.detailHeight !== detailHeight || state.zoomHeight !== zoomHeight) dispatch({type: 'resize', listHeight, detailHeight, zoomHeight})
  }, [listHeight, detailHeight, zoomHeight, state.listHeight, state.detailHeight, state.zoomHeight])

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
            .replayedAmong(action.page.records)
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
  // Read again on refresh and when follow mode brought new messages.
  const haveFirstPage = state.pages.length > 0 || state.tail.atEnd
  useEffect(() => {
    if (!haveFirstPage) return
    // Only the newest request's answer counts: an older one answering late would show an old count.
    let current = true
    reader.bounds().then(
      (bounds) => current && dispatch({type: 'bounds', bounds}),
      () => {},
    )
    return () => {
      current = false
    }
  }, [haveFirstPage, state.boundsVersion])

  // ---- follow mode: at the end of the log, look for new messages every followMs ----
  const poll = wantsPoll(state) && state.mode.kind !== 'prompt'
  useEffect(() => {
    if (!poll) return
    const t = setTimeout(() => dispatch({type: 'poll'}), followMs)
    return () => clearTimeout(t)
  }, [poll, state.generation, loadedCount(state), followMs])

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

  // ---- fix before replay: the focused payload in $EDITOR, then the plan of the edited version ----
  const {stdin} = useStdin()
  const {stdout} = useStdout()
  const editing = state.mode.kind === 'editing' ? state.mode.position : null
  useEffect(() => {
    if (editing === null) return
    const ended = (text: string, error = true) => dispatch({type: 'editEnded', text: escapeText(text), error})
    ;(async () => {
      if (!replay.planEdited) return ended('editing is not available for this source')
      // The whole payload, not the list's preview.
      const r = (await reader.get([editing])).get(editing)
      if (!r) return ended(`position ${editing} is not there any more`)
      // A record that does not hold the original message may hold no payload at all (Kafka Streams): the one to send is written from scratch.
      if (r.payload === null && r.notOriginal === null) return ended('this message has no payload to edit')
      if (r.payloadTruncated) return ended('only a preview of this payload is stored here; it cannot be edited and replayed')
      const out = editInEditor(r.payload ?? Buffer.alloc(0), {terminal: stdin.isTTY && stdout.isTTY ? {stdin: stdin as NodeJS.ReadStream, stdout: stdout as NodeJS.WriteStream} : undefined})
      if (out.kind === 'refused') return ended(out.why)
      if (out.kind === 'unchanged') return ended(`payload unchanged in ${editorCommand()}: nothing to replay`, false)
      const prepared = await replay.planEdited(editing, out.payload)
      dispatch({type: 'planReady', view: prepared.view, plan: prepared.plan})
    })().catch((error: Error) => ended(error.message))
  }, [editing])

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
      // In the full-screen detail, q and Esc go back to the list (Ctrl-C still quits).
      if (s.zoomed && mode.kind === 'list' && (c === 'clearSelection' || (c === 'quit' && lastKeyWasQ.current))) return dispatch({type: 'zoom', open: false})
      if (c === 'quit') return quit()
      if (mode.kind === 'help') {
        if (c === 'up') return dispatch({type: 'helpScroll', delta: -1})
        if (c === 'down') {
          const {bodyHeight: h} = layout(termRef.current.rows)
          const rows = helpRows(termRef.current.columns, Math.max(1, h - 2)).length
          return mode.scroll + Math.max(1, h - 2) < rows ? dispatch({type: 'helpScroll', delta: 1}) : undefined
        }
        return dispatch({type: 'help', open: false})
      }
      if (mode.kind === 'prompt') {
        if (c === 'cancel') return dispatch({type: 'closePrompt'})
        if (c !== 'submit') return
        if (mode.prompt === 'save') {
          const r = focused(s)
          if (!r) return dispatch({type: 'closePrompt'})
          savePayload(reader, r.position, mode.text).then(
            (saved) => {
              dispatch({type: 'closePrompt'})
              dispatch({type: 'notice', text: escapeText(savedText(saved))})
            },
            (error: Error) => dispatch({type: 'promptError', message: escapeText(error.message)}),
          )
          return
        }
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
        case 'edit':
          return dispatch({type: 'editRequested'})
        case 'focus':
          return dispatch({type: 'toggleFocus'})
        case 'hex':
          return dispatch({type: 'toggleHex'})
        case 'fullPayload':
          return dispatch({type: 'fullRequested'})
        case 'zoom':
          return dispatch({type: 'zoom', open: !s.zoomed})
        case 'wrap':
          return dispatch({type: 'toggleWrap'})
        case 'left':
          return dispatch({type: 'detailHScroll', delta: -HSCROLL_STEP})
        case 'right':
          // Not past the widest row: ← would then take as many presses to come back.
          return s.detail.hscroll < hscrollMax.current ? dispatch({type: 'detailHScroll', delta: HSCROLL_STEP}) : undefined
        case 'save':
          return dispatch({type: 'openPrompt', prompt: 'save'})
        case 'refresh':
          return dispatch({type: 'refresh'})
        case 'follow':
          return dispatch({type: 'toggleFollow'})
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
  // q and Ctrl-C are both "quit"; only q leaves the full-screen detail instead.
  const lastKeyWasQ = useRef(false)
  const hscrollMax = useRef(0)
  const termRef = useRef(term)
  termRef.current = term
  useBrowseInput(modeOf, onCommand, onEdit, true, (input) => {
    lastKeyWasQ.current = input === 'q'
  })

  // ---- drawing ----
  const width = term.columns
  const visible = visibleRecords(state)
  // Columns fit what the loaded pages hold (cached per page), so they do not jump while scrolling.
  const needs = mergeNeeds(state.pages.map((p) => columnNeeds(p.records)))
  const cols = useMemo(() => listColumns(width, needs), [width, needs.position, needs.topic, needs.reason, needs.key])
  const rows: ListRowView[] = visible.map(({index, record}) => ({
    index,
    line: cachedLine(record, cols),
    selected: state.selection.has(record.position),
    replayed: state.replayed.has(record.position),
  }))

  const detail = useMemo(
    () =>
      current
        ? detailDoc(current, {hex: state.detail.hex, full: state.detail.full, loadingFull: state.detail.loadingFull, previewLimit: payloadLimit, wrap: state.wrap, width})
        : null,
    [current, state.detail.hex, state.detail.full, state.detail.loadingFull, payloadLimit, state.wrap, width],
  )

  hscrollMax.current = Math.max(0, (detail?.width ?? 0) - width)

  const up = moreBefore(state) ? '▲ more above' : startUnreachable(state) && state.top === 0 ? '▲ g: from the first message' : ''
  const down = !state.tail.atEnd && state.tailing === null ? '▼ more below' : ''
  const header = `${listHeader(cols).trimEnd()}  ${[up, down].filter(Boolean).join(' ')}`
  const b = state.bounds
  const boundsText = b
    ? b.first === null
      ? 'empty'
      : `${escapeText(b.first)}…${escapeText(b.last ?? '?')}${b.count === null ? '' : ` (${plural(b.count, 'message')})`}`
    : 'bounds …'
  const busy =
    state.mode.kind === 'planning'
      ? 'planning replay…'
      : state.mode.kind === 'editing'
        ? `editing in ${escapeText(editorCommand())}…`
      : state.mode.kind === 'replaying'
        ? `replaying ${state.mode.done}/${state.mode.total}…`
        : (state.loading && state.tailing === null) || state.seekingLast
          ? 'loading…'
          : null
  const filters = [...state.filter.text].map(escapeText)

  const empty = (state.loading && state.tailing === null) || !haveFirstPage ? 'loading…' : state.filter.isEmpty ? 'No messages.' : 'No messages match the filter.'
  const prompt =
    state.mode.kind === 'prompt'
      ? {label: PROMPT_LABEL[state.mode.prompt], text: escapeText(state.mode.text), error: state.mode.error}
      : null

  let body
  const pane = (height: number) => (
    <DetailPane
      width={width}
      height={height}
      doc={detail}
      scroll={state.detail.scroll}
      hscroll={Math.min(state.detail.hscroll, Math.max(0, (detail?.width ?? 0) - width))}
      wrap={state.wrap}
      focused={state.focus === 'detail'}
      zoomed={state.zoomed}
    />
  )
  if (state.mode.kind === 'help') body = <HelpOverlay width={width} height={bodyHeight} scroll={state.mode.scroll} />
  else if (state.mode.kind === 'confirm') body = <ConfirmDialog width={width} height={bodyHeight} view={state.mode.view} />
  else if (state.mode.kind === 'results') body = <ReplayResults width={width} height={bodyHeight} result={state.mode.result} scroll={state.mode.scroll} />
  else if (state.zoomed) body = pane(zoomHeight)
  else
    body = (
      <>
        <MessageList width={width} height={listHeight} header={header} rows={rows} cursor={state.cursor} focused={state.focus === 'list'} empty={empty} />
        {pane(detailHeight)}
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
        follow={state.follow}
        busy={busy}
      />
      {body}
      <Footer width={width} prompt={prompt} notice={state.notice} hints={state.zoomed && keyMode === 'list' ? ZOOM_HINTS : footerHints(keyMode)} />
    </Box>
  )
}
