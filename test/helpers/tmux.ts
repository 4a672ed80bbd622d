import {execFileSync, spawnSync} from 'node:child_process'
import {uniqueName} from './services.js'

/** Installed by scripts/services.sh (`tools`). */
export const TMUX = '/usr/bin/tmux'

/** A shell command line that runs `argv` as it is (each word single-quoted). */
export const shellLine = (argv: string[]) => argv.map((a) => `'${a}'`).join(' ')

/**
 * A private tmux server (its own socket, so tests never meet each other's sessions) to run the
 * built CLI in a real terminal: keys go in with send-keys, the screen comes back with capture-pane,
 * and every wait polls the screen with a bound, no fixed sleeps.
 */
export class Tmux {
  readonly socket: string

  constructor(prefix: string) {
    this.socket = uniqueName(prefix)
  }

  /** One tmux command on this server; its output. */
  call(...args: string[]): string {
    return execFileSync(TMUX, ['-L', this.socket, ...args], {encoding: 'utf8'})
  }

  /** A detached session of `size` columns × rows running the shell command `command`. */
  start(session: string, size: [number, number], command: string): TmuxSession {
    this.call('new-session', '-d', '-s', session, '-x', String(size[0]), '-y', String(size[1]), command)
    return this.session(session)
  }

  session(name: string): TmuxSession {
    return new TmuxSession(this, name)
  }

  /** Ends a session if there is one. */
  kill(session: string): void {
    spawnSync(TMUX, ['-L', this.socket, 'kill-session', '-t', session])
  }

  close(): void {
    spawnSync(TMUX, ['-L', this.socket, 'kill-server'])
  }
}

export class TmuxSession {
  constructor(
    readonly tmux: Tmux,
    readonly name: string,
  ) {}

  /** The screen as text; with `sgr`, its SGR attributes (inverse, bold, colours) as escape sequences. */
  screen(opts: {sgr?: boolean} = {}): string {
    return this.tmux.call('capture-pane', '-p', ...(opts.sgr ? ['-e'] : []), '-t', this.name)
  }

  keys(...keys: string[]): void {
    this.tmux.call('send-keys', '-t', this.name, ...keys)
  }

  // Generous: in CI this shares two cores with brokers and process races, and a frame can be slow to come.
  async waitFor(ok: (screen: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const s = this.screen()
      if (ok(s)) return s
      if (Date.now() > until) throw new Error(`screen never showed ${what} within ${timeoutMs} ms:\n${s}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  waitText(text: string | RegExp, timeoutMs?: number): Promise<string> {
    return this.waitFor((s) => (typeof text === 'string' ? s.includes(text) : text.test(s)), String(text), timeoutMs)
  }
}
