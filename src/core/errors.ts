/**
 * The one error hierarchy of dlq. Services throw these; the base command maps them to
 * exit codes (product.md) in one place. Nothing below src/commands calls process.exit.
 */
export type ErrorCode = 'failure' | 'usage' | 'conflict' | 'unavailable' | 'cancelled'

export class DlqError extends Error {
  readonly exitCode: number = 1
  readonly code: ErrorCode = 'failure'
  /** Extra data for `--json` error documents (e.g. the current setting on a conflict). */
  readonly details?: unknown

  constructor(message: string, details?: unknown) {
    super(message)
    this.name = new.target.name
    this.details = details
  }
}

/** Exit 2: bad flag, bad filter, bad source URI, bad position. */
export class UsageError extends DlqError {
  override readonly exitCode = 2
  override readonly code = 'usage'
}

/** Exit 3: an `--expected-version` did not match the stored one. */
export class ConflictError extends DlqError {
  override readonly exitCode = 3
  override readonly code = 'conflict'
}

/** Exit 4: a source or target that cannot be reached or does not exist. */
export class UnavailableError extends DlqError {
  override readonly exitCode = 4
  override readonly code = 'unavailable'
}

/** Exit 130: the user said no, or pressed Ctrl-C (or stopped dlq with SIGTERM or SIGHUP: core/signals.ts). */
export class CancelledError extends DlqError {
  override readonly exitCode = 130
  override readonly code = 'cancelled'
}

export const EXIT_CODES_HELP = `EXIT CODES
  0    success
  1    failure (or, for replay, some positions failed)
  2    usage error: bad flag, filter, position or source URI
  3    conflict: --expected-version does not match the stored version
  4    source or target unreachable or not found
  130  cancelled by the user (Ctrl-C, SIGTERM, SIGHUP)`

/** Errors of a connection lost, refused or unanswered, as a store's describeError made them. */
const lostErrors = new WeakSet<Error>()

/** An UnavailableError that says the connection was lost, refused or not answered (see isConnectionLost). */
export function connectionLost(message: string): UnavailableError {
  const error = new UnavailableError(message)
  lostErrors.add(error)
  return error
}

/**
 * A connection lost or refused, or a store not answering (restarting, a network outage), which
 * a follow waits out; not a topic or key that is missing, refused credentials or corrupt data.
 */
export const isConnectionLost = (error: unknown): boolean => error instanceof Error && lostErrors.has(error)
