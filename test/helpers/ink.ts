import type {render} from 'ink-testing-library'

export type InkApp = ReturnType<typeof render>

/** The CSI sequences Ink styles and moves with. */
// eslint-disable-next-line no-control-regex
export const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g
export const strip = (s: string | undefined) => (s ?? '').replace(ANSI, '')

/** Waits for a frame that satisfies `ok` (polls the frames Ink writes; no fixed sleeps). */
export async function frameWhere(app: InkApp, ok: (frame: string) => boolean, what: string, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const frame = strip(app.lastFrame())
    if (ok(frame)) return frame
    if (Date.now() > until) throw new Error(`no frame with ${what} within ${timeoutMs} ms; last frame:\n${frame}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export const frameWith = (app: InkApp, text: string | RegExp, timeoutMs?: number) =>
  frameWhere(app, (f) => (typeof text === 'string' ? f.includes(text) : text.test(f)), String(text), timeoutMs)

/** Keys one at a time, each after Ink has taken the previous one (as a person types). */
export async function press(app: InkApp, ...keys: string[]) {
  for (const k of keys) {
    app.stdin.write(k)
    await new Promise((r) => setImmediate(r))
  }
}
