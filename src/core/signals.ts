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
 */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void): () => void {
  const handler = (signal: NodeJS.Signals) => stop(signal)
  for (const s of STOP_SIGNALS) process.once(s, handler)
  return () => {
    for (const s of STOP_SIGNALS) process.removeListener(s, handler)
  }
}
