import {hostname, userInfo} from 'node:os'
import type {Actor} from './types.js'

/**
 * Who made a change. `DLQ_ACTOR` ("name" or "name@host") lets a CI job record the pipeline
 * rather than the runner's throw-away account.
 */
export function currentActor(env = process.env): Actor {
  const host = safeHostname()
  const given = env.DLQ_ACTOR?.trim()
  if (given) {
    const at = given.lastIndexOf('@')
    return at > 0 && at < given.length - 1 ? {user: given.slice(0, at), host: given.slice(at + 1)} : {user: given, host}
  }
  let user = env.USER || env.USERNAME || 'unknown'
  try {
    user = userInfo().username
  } catch {
    // No passwd entry (containers running as an arbitrary uid): keep the environment's answer.
  }
  return {user, host}
}

function safeHostname(): string {
  try {
    return hostname() || 'unknown'
  } catch {
    return 'unknown'
  }
}

export function actorText(a: Actor): string {
  return `${a.user}@${a.host}`
}
