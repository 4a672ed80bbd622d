import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {UsageError} from './errors.js'

/**
 * Named connection profiles, so secrets need not be typed on a command line (where they
 * would land in shell history). File: $DLQ_CONFIG, else ~/.config/dlq/config.json:
 *
 *   {"profiles": {"prod": {"kafka": {"sasl": {"mechanism": "scram-sha-512", "username": "u",
 *    "password": "p"}, "tls": {"ca": "/etc/ssl/ca.pem"}}, "redis": {"password": "p"},
 *    "schemaRegistry": {"url": "https://sr:8081", "username": "u", "password": "p"}}}}
 *
 * The active profile is $DLQ_PROFILE (or the one named "default" when present).
 */
export interface TlsSettings {
  ca?: string
  cert?: string
  key?: string
  /** Skip certificate verification (testing only). */
  insecure?: boolean
}

export interface Profile {
  kafka?: {
    sasl?: {mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string}
    tls?: TlsSettings | boolean
    clientId?: string
  }
  redis?: {username?: string; password?: string; tls?: TlsSettings | boolean}
  /** The Confluent-compatible schema registry payloads are decoded with (--schema-registry). */
  schemaRegistry?: {url?: string; username?: string; password?: string; tls?: TlsSettings}
  /** Default --store for global-target and policy. */
  store?: string
}

export function configPath(): string {
  return process.env.DLQ_CONFIG || join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'dlq', 'config.json')
}

/**
 * Where JSON.parse gave up, as line and column. Its own message quotes the text around the
 * error, which in a config file may be a password, so the place is found without it: the
 * shortest prefix that fails for another reason than ending early (JSON is prefix-closed,
 * so that is monotone and a binary search finds it).
 */
export function jsonErrorPlace(text: string): string {
  /**
   * Where JSON.parse stopped in `t`: V8 says "at position N" for most errors, "Unexpected end of
   * JSON input" at the end, and only quotes the text (never repeated here: it may be a secret)
   * for an unexpected token, which leaves null.
   */
  const stop = (t: string): number | null => {
    try {
      JSON.parse(t)
      return t.length
    } catch (error) {
      const msg = (error as Error).message
      if (/Unexpected end of JSON input/.test(msg)) return t.length
      const at = /at position (\d+)/.exec(msg)
      return at ? Number(at[1]) : null
    }
  }
  let pos = stop(text)
  if (pos === null) {
    // A prefix is broken when parsing it stops before its end (a truncated prefix stops at it).
    const broken = (k: number) => {
      const at = stop(text.slice(0, k))
      return at === null || at < k
    }
    let lo = 0
    let hi = text.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (broken(mid)) hi = mid
      else lo = mid + 1
    }
    pos = Math.max(0, lo - 1)
  }
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  const column = pos - before.lastIndexOf('\n')
  return `syntax error at line ${line}, column ${column}${pos >= text.length ? ' (the text ends early)' : ''}`
}

export function activeProfile(name = process.env.DLQ_PROFILE): Profile {
  const path = configPath()
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (name) throw new UsageError(`profile "${name}" asked for, but there is no config file at ${path}`)
      return {}
    }
    throw new UsageError(`${path}: ${(error as Error).message}`)
  }
  let parsed: {profiles?: Record<string, Profile>}
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new UsageError(`${path}: not valid JSON (${jsonErrorPlace(text)}); the file holds secrets, so its content is not shown`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`${path}: not a JSON object ({"profiles": {…}})`)
  const profiles = parsed.profiles ?? {}
  if (name) {
    const p = profiles[name]
    if (!p) throw new UsageError(`profile "${name}" is not in ${path} (profiles there: ${Object.keys(profiles).join(', ') || 'none'})`)
    return p
  }
  return profiles.default ?? {}
}
