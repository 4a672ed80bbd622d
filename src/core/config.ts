import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {UsageError} from './errors.js'

/**
 * Named connection profiles, so secrets need not be typed on a command line (where they
 * would land in shell history). File: $DLQ_CONFIG, else ~/.config/dlq/config.json:
 *
 *   {"profiles": {"prod": {"kafka": {"sasl": {"mechanism": "scram-sha-512", "username": "u",
 *    "password": "p"}, "tls": {"ca": "/etc/ssl/ca.pem"}}, "redis": {"password": "p"}}}}
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
  /** Default --store for global-target and policy. */
  store?: string
}

export function configPath(): string {
  return process.env.DLQ_CONFIG || join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'dlq', 'config.json')
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
  } catch (error) {
    throw new UsageError(`${path}: not valid JSON (${(error as Error).message})`)
  }
  const profiles = parsed.profiles ?? {}
  if (name) {
    const p = profiles[name]
    if (!p) throw new UsageError(`profile "${name}" is not in ${path} (profiles there: ${Object.keys(profiles).join(', ') || 'none'})`)
    return p
  }
  return profiles.default ?? {}
}
