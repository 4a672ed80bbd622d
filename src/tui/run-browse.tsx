import {render, type Instance} from 'ink'
import {CancelledError} from '../core/errors.js'
import {BrowseApp, type BrowseAppProps} from './browse-app.js'

// The benchmark drives the app in-process from the built chunk.
export {BrowseApp} from './browse-app.js'

export type RunBrowseOptions = Omit<BrowseAppProps, 'size' | 'onQuit'>

const ENTER_SCREEN = '\x1b[?1049h\x1b[H\x1b[?25l'
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l'

/**
 * Runs the TUI on the process's terminal until the user quits. The terminal is given back
 * (raw mode off, cursor shown, main screen restored) however the run ends: quit, Ctrl-C,
 * a signal, an exception anywhere in the process, or process exit.
 */
export async function runBrowse(opts: RunBrowseOptions): Promise<void> {
  const {stdin, stdout} = process
  let instance: Instance | null = null
  let restored = false
  const restore = () => {
    if (restored) return
    restored = true
    try {
      instance?.unmount()
    } catch {
      // already unmounted
    }
    try {
      if (stdin.isTTY) stdin.setRawMode(false)
    } catch {
      // the terminal may be gone (SIGHUP)
    }
    stdout.write(LEAVE_SCREEN)
  }

  let fail: (error: Error) => void = () => {}
  const failed = new Promise<never>((_resolve, reject) => {
    fail = reject
  })
  const onCrash = (error: unknown) => {
    restore()
    fail(error instanceof Error ? error : new Error(String(error)))
  }
  const onSignal = (signal: NodeJS.Signals) => {
    restore()
    fail(new CancelledError(`interrupted by ${signal}`))
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  process.on('exit', restore)
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  for (const s of signals) process.on(s, onSignal)

  try {
    stdout.write(ENTER_SCREEN)
    instance = render(<BrowseApp {...opts} />, {
      exitOnCtrlC: false,
      patchConsole: false,
      // A key press is drawn at once (the throttle is leading-edge); held keys draw at most this often.
      maxFps: 60,
      incrementalRendering: false,
    })
    await Promise.race([instance.waitUntilExit(), failed])
  } finally {
    restore()
    process.off('exit', restore)
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
    for (const s of signals) process.off(s, onSignal)
  }
}
