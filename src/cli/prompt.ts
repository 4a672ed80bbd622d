import {CancelledError, UsageError} from '../core/errors.js'

export function interactive(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY)
}

/**
 * Asks on the terminal (stderr) and reads the answer from stdin. Without a terminal nothing
 * prompts: the caller's `nonInteractive` message says which flag to pass instead.
 */
export async function confirm(question: string, nonInteractive: string, signal?: AbortSignal): Promise<void> {
  if (!interactive()) throw new UsageError(nonInteractive)
  // Loaded here, not at start-up: most runs never prompt.
  const {createInterface} = await import('node:readline/promises')
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    // A stop signal (SIGTERM) while the question waits is a "no", not a wait for an answer.
    const answer = (await rl.question(`${question} [y/N] `, {signal: signal ?? new AbortController().signal}).catch((error: Error) => {
      if (error.name === 'AbortError') throw new CancelledError('cancelled: nothing was sent')
      throw error
    }))
      .trim()
      .toLowerCase()
    if (answer !== 'y' && answer !== 'yes') throw new CancelledError('cancelled: nothing was sent')
  } finally {
    rl.close()
  }
}
