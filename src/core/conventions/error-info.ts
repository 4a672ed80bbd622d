import type {ErrorInfo} from '../record.js'

/** `com.fasterxml.jackson.core.JsonParseException` → `JsonParseException`. */
export function shortClass(fqcn: string): string {
  const dot = fqcn.lastIndexOf('.')
  return dot < 0 ? fqcn : fqcn.slice(dot + 1)
}

const CAUSED_BY = /^\s*Caused by: ([\w$.]+)(?::\s?(.*))?$/

/** The last (innermost) `Caused by: Class: message` of a Java stack trace. */
export function lastCausedBy(stacktrace: string | null): {class: string; message: string | null} | null {
  if (!stacktrace) return null
  let found: {class: string; message: string | null} | null = null
  for (const line of stacktrace.split(/\r?\n/)) {
    const m = line.match(CAUSED_BY)
    if (m) found = {class: m[1], message: m[2] === undefined || m[2] === '' ? null : m[2]}
  }
  return found
}

export interface ErrorParts {
  class?: string | null
  message?: string | null
  causeClass?: string | null
  causeMessage?: string | null
  stage?: string | null
  stacktrace?: string | null
}

/**
 * The recorded failure in parts. Without a recorded cause, the last `Caused by:` of the stack trace
 * is the cause: wrappers (ListenerExecutionFailedException, DataException) say little, the parser
 * error under them says what failed.
 */
export function errorInfo(p: ErrorParts): ErrorInfo | null {
  const cls = p.class ?? null
  const message = p.message ?? null
  let cause: ErrorInfo['cause'] = null
  if (p.causeClass || p.causeMessage) cause = {class: p.causeClass ?? null, message: p.causeMessage ?? null}
  const traced = lastCausedBy(p.stacktrace ?? null)
  if (traced && (cause === null || (cause.message === null && (cause.class === null || cause.class === traced.class)))) cause = traced
  if (cls === null && message === null && cause === null && !p.stage) return null
  return {class: cls, message, cause, stage: p.stage ?? null}
}

const MAX_REASON = 300

function oneLine(s: string): string {
  const line = s.split(/\r?\n/, 1)[0].trim()
  return line.length > MAX_REASON ? line.slice(0, MAX_REASON - 1) + '…' : line
}

function part(cls: string | null, message: string | null): string | null {
  const m = message === null || message.trim() === '' ? null : oneLine(message)
  if (cls === null) return m
  return m === null ? shortClass(cls) : `${shortClass(cls)}: ${m}`
}

/**
 * One line that says what failed: the innermost cause that has a message (class short, then the
 * message), else the exception itself. Different failures of one wrapper class get different
 * reasons, so `stats` tells them apart and `--filter 'reason~…'` finds the message.
 */
export function reasonOf(e: ErrorInfo | null): string | null {
  if (e === null) return null
  if (e.cause && e.cause.message !== null && e.cause.message.trim() !== '') return part(e.cause.class, e.cause.message)
  // A cause without a message still names the failure better than its wrapper's class does.
  if (e.cause && e.cause.class !== null) return part(e.cause.class, e.message)
  return part(e.class, e.message)
}
