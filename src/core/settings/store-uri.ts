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
