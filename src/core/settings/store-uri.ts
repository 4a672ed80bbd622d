import {activeProfile} from '../config.js'
import {UsageError} from '../errors.js'

/** --store (or DLQ_STORE, which oclif maps onto the flag), then the active profile's `store`. */
export function resolveStoreUri(flag: string | undefined): string {
  const given = flag?.trim()
  if (given) return given
  const fromProfile = activeProfile().store?.trim()
  if (fromProfile) return fromProfile
  throw new UsageError(
    'no settings store: pass --store URI, set DLQ_STORE, or add "store" to the active profile in the config file ' +
      '(redis://host:port[/db][/prefix], kafka://host:port[/topic], or a file path)',
  )
}

/**
 * The settings store configured for this process — DLQ_STORE, else the active profile's
 * `store` — or undefined: what replay protects and never writes a ledger to. A config file that
 * cannot be read names no store here (the command that needs it reports that file).
 */
export function configuredStore(): string | undefined {
  const env = process.env.DLQ_STORE?.trim()
  if (env) return env
  try {
    return activeProfile().store?.trim() || undefined
  } catch {
    return undefined
  }
}

/**
 * The file of a file settings store (`PATH`, `file:PATH`, `file:///PATH`); null for a Redis or
 * Kafka store. A scheme that is none of these is refused.
 */
export function storeFilePath(uri: string): string | null {
  const t = uri.trim()
  const scheme = t.match(/^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//)?.[1]?.toLowerCase()
  if (scheme === 'redis' || scheme === 'rediss' || scheme === 'kafka') return null
  if (scheme === 'file') return decodeURIComponent(new URL(t).pathname)
  if (scheme) throw new UsageError(`settings store "${t.replace(/\/\/[^@/]*@/, '//***@')}": unknown scheme "${scheme}://" (use redis://, kafka:// or a file path)`)
  return t.startsWith('file:') ? t.slice(5) : t
}
