import type {Key} from 'ink'

/**
 * Every key binding of `dlq browse`, as data: the input hook resolves keys through this
 * table and the `?` help screen is drawn from it, so the two cannot disagree.
 */
export type Command =
  | 'up'
  | 'down'
  | 'pageUp'
  | 'pageDown'
  | 'first'
  | 'last'
  | 'jump'
  | 'filter'
  | 'toggleSelect'
  | 'selectAll'
  | 'clearSelection'
  | 'replay'
  | 'edit'
  | 'focus'
  | 'hex'
  | 'fullPayload'
  | 'zoom'
  | 'wrap'
  | 'left'
  | 'right'
  | 'save'
  | 'refresh'
  | 'follow'
  | 'help'
  | 'quit'
  | 'confirm'
  | 'cancel'
  | 'submit'

export type KeyName = 'upArrow' | 'downArrow' | 'leftArrow' | 'rightArrow' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'return' | 'escape' | 'tab'

/** One key: a named key, or typed text (case-sensitive), optionally with Ctrl. */
export interface KeySpec {
  key?: KeyName
  input?: string
  ctrl?: boolean
}

export interface Binding {
  command: Command
  keys: KeySpec[]
  /** How the keys are written in the help screen. */
  label: string
  help: string
}

export type KeyMode = 'list' | 'help' | 'prompt' | 'confirm' | 'results' | 'busy'

const quit: Binding = {command: 'quit', keys: [{input: 'c', ctrl: true}], label: 'Ctrl-C', help: 'quit'}

export const KEY_MAP: Record<KeyMode, Binding[]> = {
  list: [
    {command: 'up', keys: [{key: 'upArrow'}, {input: 'k'}], label: '↑ k', help: 'previous message / scroll'},
    {command: 'down', keys: [{key: 'downArrow'}, {input: 'j'}], label: '↓ j', help: 'next message / scroll'},
    {command: 'pageUp', keys: [{key: 'pageUp'}, {input: 'b', ctrl: true}], label: 'PgUp', help: 'page up'},
    {command: 'pageDown', keys: [{key: 'pageDown'}, {input: 'f', ctrl: true}], label: 'PgDn', help: 'page down'},
    {command: 'first', keys: [{input: 'g'}, {key: 'home'}], label: 'g', help: 'first message (detail: top)'},
    {command: 'last', keys: [{input: 'G'}, {key: 'end'}], label: 'G', help: 'last message (detail: bottom)'},
    {command: 'jump', keys: [{input: ':'}], label: ':', help: 'jump to a position'},
    {command: 'filter', keys: [{input: '/'}], label: '/', help: 'filter: FIELD OP VALUE && …'},
    {command: 'toggleSelect', keys: [{input: ' '}], label: 'space', help: 'select / unselect, step down'},
    {command: 'selectAll', keys: [{input: 'A'}], label: 'A', help: 'select all loaded messages'},
    {command: 'clearSelection', keys: [{key: 'escape'}], label: 'Esc', help: 'clear selection / back'},
    {command: 'replay', keys: [{input: 'r'}], label: 'r', help: 'replay the selection (plan)'},
    {command: 'edit', keys: [{input: 'e'}], label: 'e', help: 'edit the payload in $EDITOR, replay the edit'},
    {command: 'zoom', keys: [{key: 'return'}], label: 'Enter', help: 'full-screen detail'},
    {command: 'focus', keys: [{key: 'tab'}], label: 'Tab', help: 'keys to the list / the detail'},
    {command: 'left', keys: [{key: 'leftArrow'}, {input: 'h'}], label: '← h', help: 'detail: scroll left (nowrap)'},
    {command: 'right', keys: [{key: 'rightArrow'}, {input: 'l'}], label: '→ l', help: 'detail: scroll right (nowrap)'},
    {command: 'wrap', keys: [{input: 'w'}], label: 'w', help: 'detail: wrap / cut long lines'},
    {command: 'hex', keys: [{input: 'x'}], label: 'x', help: 'payload as hex / as text'},
    {command: 'fullPayload', keys: [{input: 'p'}], label: 'p', help: 'load the whole payload'},
    {command: 'save', keys: [{input: 's'}], label: 's', help: 'save the payload to a file'},
    {command: 'refresh', keys: [{input: 'R'}, {input: 'r', ctrl: true}], label: 'R', help: 'look for new messages now'},
    {command: 'follow', keys: [{input: 'F'}], label: 'F', help: 'follow mode: show new messages'},
    {command: 'help', keys: [{input: '?'}], label: '?', help: 'this help'},
    {command: 'quit', keys: [{input: 'q'}, {input: 'c', ctrl: true}], label: 'q Ctrl-C', help: 'quit (full-screen: back)'},
  ],
  help: [
    {command: 'up', keys: [{key: 'upArrow'}, {input: 'k'}], label: '↑ k', help: 'scroll'},
    {command: 'down', keys: [{key: 'downArrow'}, {input: 'j'}], label: '↓ j', help: 'scroll'},
    {command: 'cancel', keys: [{key: 'escape'}, {input: '?'}, {input: 'q'}, {key: 'return'}], label: 'Esc ? q', help: 'close the help'},
    quit,
  ],
  prompt: [
    {command: 'submit', keys: [{key: 'return'}], label: 'Enter', help: 'apply'},
    {command: 'cancel', keys: [{key: 'escape'}], label: 'Esc', help: 'cancel (keeps the current filter)'},
    quit,
  ],
  confirm: [
    {command: 'confirm', keys: [{input: 'y'}, {input: 'Y'}], label: 'y', help: 'send'},
    {command: 'cancel', keys: [{input: 'n'}, {input: 'N'}, {key: 'escape'}, {input: 'q'}], label: 'n Esc', help: 'cancel, send nothing'},
    quit,
  ],
  results: [
    {command: 'up', keys: [{key: 'upArrow'}, {input: 'k'}], label: '↑ k', help: 'scroll'},
    {command: 'down', keys: [{key: 'downArrow'}, {input: 'j'}], label: '↓ j', help: 'scroll'},
    {command: 'cancel', keys: [{key: 'escape'}, {key: 'return'}, {input: 'q'}], label: 'Esc Enter', help: 'back to the list'},
    quit,
  ],
  busy: [quit],
}

function matches(spec: KeySpec, input: string, key: Key): boolean {
  if (spec.key !== undefined) return key[spec.key] === true && (spec.ctrl ?? false) === key.ctrl
  if (spec.input !== undefined) return input === spec.input && (spec.ctrl ?? false) === key.ctrl && !key.meta
  return false
}

/** The command a key stands for in a mode, or null. */
export function resolveKey(mode: KeyMode, input: string, key: Key): Command | null {
  for (const b of KEY_MAP[mode]) if (b.keys.some((k) => matches(k, input, key))) return b.command
  return null
}

/** Short hints for the footer: the most used keys of a mode. */
export function footerHints(mode: KeyMode): string {
  const pick: Partial<Record<KeyMode, Command[]>> = {
    list: ['pageDown', 'jump', 'filter', 'toggleSelect', 'replay', 'zoom', 'help', 'quit'],
    confirm: ['confirm', 'cancel'],
    results: ['cancel'],
    help: ['cancel'],
  }
  const wanted = pick[mode] ?? []
  return KEY_MAP[mode]
    .filter((b) => wanted.includes(b.command))
    .map((b) => `${b.label.split(' ')[0]} ${b.help.split(' (')[0]}`)
    .join(' · ')
}
