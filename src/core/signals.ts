/**
 * The signals that ask dlq to stop: Ctrl-C (SIGINT); `kill`, `timeout`, systemd, Kubernetes or
 * a CI runner cancelling its job (SIGTERM); the terminal going away (SIGHUP). A command that can
 * stop cleanly (a replay between batches, an export without its half file, a follow) takes each
 * of them as Ctrl-C: without a handler, SIGTERM ended a replay mid-batch, its acknowledged sends
 * not completed in the ledger (left for the next run to look up) and its --json document cut off.
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/**
 * Calls `stop` on the first stop signal (a second one of the same kind finds Node's default
 * again and ends the process at once, as a second Ctrl-C should). Returns the function that
 * takes the handlers off.
 *
 * SIGHUP is taken only when no standard stream is a terminal (output to files: nohup, a log): a
 * hung-up terminal cannot be written to (EIO), and Node aborts on the way out resetting it, so
 * there dlq ends as it did before, by the signal — a replay's next run finishes what it left,
 * as after any crash.
 */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void): () => void {
  const handler = (signal: NodeJS.Signals) => stop(signal)
  const terminal = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY
  const signals = STOP_SIGNALS.filter((s) => s !== 'SIGHUP' || !terminal)
  for (const s of signals) process.once(s, handler)
  return () => {
    for (const s of signals) process.removeListener(s, handler)
  }
}
