import {useInput, type Key} from 'ink'
import {resolveKey, type Command, type KeyMode} from './keymap.js'

export type Edit = {type: 'insert'; text: string} | {type: 'backspace'} | {type: 'clear'}

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
}

/**
 * Ink hands over a run of plain characters read at once as one string (a paste, but also
 * fast typing, key repeat or tmux send-keys): "jj\t" must still be two downs and a Tab.
 */
export function splitKeys(input: string, key: Key): Array<[string, Key]> {
  // Esc and the next keys read together look like Alt+key; no binding uses Alt, so it is Esc first.
  if (key.meta && !key.escape && input.length > 0 && !key.upArrow && !key.downArrow && !key.pageUp && !key.pageDown) {
    return [['', {...NO_KEY, escape: true, meta: true}], ...splitKeys(input, NO_KEY)]
  }
  const chars = Array.from(input)
  if (chars.length <= 1) return [[input, key]]
  return chars.map((c): [string, Key] => {
    const code = c.charCodeAt(0)
    if (c === '\r' || c === '\n') return ['', {...NO_KEY, return: true}]
    if (c === '\t') return ['', {...NO_KEY, tab: true}]
    if (c === '\x7f' || c === '\b') return ['', {...NO_KEY, backspace: true}]
    if (code < 0x20) return [String.fromCharCode(code + 0x60), {...NO_KEY, ctrl: true}]
    return [c, {...NO_KEY, shift: /[A-Z]/.test(c)}]
  })
}

/**
 * The one place keys come in. Keys resolve through the key map of the current mode; in a
 * prompt, whatever is not bound edits the text. `modeOf` is read per key, so a chunk like
 * "/reason=timeout\r" opens the prompt and then types into it.
 */
export function useBrowseInput(
  modeOf: () => KeyMode,
  onCommand: (c: Command) => void,
  onEdit: (e: Edit) => void,
  isActive = true,
  /** Sees each single key before it is resolved (to tell keys of one command apart). */
  onKey?: (input: string, key: Key) => void,
): void {
  useInput(
    (input, key) => {
      for (const [one, k] of splitKeys(input, key)) {
        onKey?.(one, k)
        const mode = modeOf()
        const command = resolveKey(mode, one, k)
        if (command !== null) {
          onCommand(command)
          continue
        }
        if (mode !== 'prompt') continue
        if (k.backspace || k.delete) onEdit({type: 'backspace'})
        else if (k.ctrl && one === 'u') onEdit({type: 'clear'})
        else if (!k.ctrl && !k.meta && one.length > 0 && !k.upArrow && !k.downArrow && !k.tab) {
          onEdit({type: 'insert', text: one.replace(/[\r\n]+/g, ' ')})
        }
      }
    },
    {isActive},
  )
}
