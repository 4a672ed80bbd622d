import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {utf8OrNull} from '../core/bytes.js'

/** Back onto the alternate screen, cleared: an editor leaves it (its own 1049l) when it exits. */
const REENTER_SCREEN = '\x1b[?1049h\x1b[H\x1b[2J\x1b[?25l'

export type EditorOutcome = {kind: 'edited'; payload: Buffer} | {kind: 'unchanged'} | {kind: 'refused'; why: string}

/** $VISUAL, else $EDITOR, else vi — what git and crontab -e run. */
export function editorCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.VISUAL || env.EDITOR || 'vi'
}

/**
 * Opens a payload in the user's editor and returns what they saved. The payload goes into a
 * file only its owner can read (0600, in a 0700 directory: DLQ payloads are often personal
 * data), removed whatever happens. The terminal is handed to the editor meanwhile (raw mode off;
 * nothing reads stdin while it runs, the event loop waits for it) and taken back after.
 */
export function editInEditor(payload: Buffer, opts: {editor?: string; terminal?: {stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream}} = {}): EditorOutcome {
  const text = utf8OrNull(payload)
  if (text === null) return {kind: 'refused', why: 'the payload is binary; a text editor would corrupt it (use replay --transform)'}
  let json = false
  try {
    JSON.parse(text)
    json = true
  } catch {
    // plain text
  }
  const dir = mkdtempSync(join(tmpdir(), 'dlq-edit-'))
  const file = join(dir, `payload.${json ? 'json' : 'txt'}`)
  const term = opts.terminal
  const tty = term !== undefined && term.stdin.isTTY === true
  try {
    writeFileSync(file, payload, {mode: 0o600, flag: 'wx'})
    if (tty) term.stdin.setRawMode(false)
    // Through the shell, as git does: EDITOR may carry arguments ("code --wait").
    const r = spawnSync('/bin/sh', ['-c', `${opts.editor ?? editorCommand()} "$1"`, 'sh', file], {stdio: 'inherit'})
    if (tty) {
      term.stdin.setRawMode(true)
      term.stdout.write(REENTER_SCREEN)
    }
    if (r.error) return {kind: 'refused', why: `the editor did not start: ${r.error.message}`}
    if (r.status !== 0) return {kind: 'refused', why: `the editor exited with ${r.status ?? r.signal}; nothing is replayed`}
    const after = withoutAddedNewline(readFileSync(file), payload)
    return after.equals(payload) ? {kind: 'unchanged'} : {kind: 'edited', payload: after}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/**
 * Editors (vi's `fixeol`, nano, most others) end a saved file with a newline the payload never
 * had; that byte is the editor's, not the user's, so it does not count as an edit.
 */
export function withoutAddedNewline(after: Buffer, before: Buffer): Buffer {
  const nl = 0x0a
  if (after.length === 0 || after[after.length - 1] !== nl || (before.length > 0 && before[before.length - 1] === nl)) return after
  return after.subarray(0, after.length - 1)
}
