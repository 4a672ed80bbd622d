import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {ConflictError} from '../../core/errors.js'
import type {Written} from '../../core/settings/service.js'
import type {SettingsStore} from '../../core/settings/types.js'
import {renderUnchanged} from '../../output/settings.js'
import {resolveStoreUri} from '../../core/settings/store-uri.js'
import {withSettingsStore} from '../../backends/settings-registry.js'

/** Shared by `global-target *` and `policy *` (not a command itself: not in the command table). */
export const storeFlag = Flags.string({
  description: 'Where settings live: redis://host:port[/db][/prefix], kafka://host:port[/topic], or a file path. Default: the active profile\'s "store".',
  env: 'DLQ_STORE',
  helpValue: 'URI',
})

export const expectedVersionFlag = Flags.integer({
  description: 'Change it only if the stored version is N (0 = never set); otherwise exit 3 and print the current setting. Without it the change is unconditional.',
  helpValue: 'N',
  min: 0,
})

export const STORE_HELP = `STORE
  --store (or DLQ_STORE, or "store" in the active profile) names where settings live:
    redis://host:port[/db][/prefix]   keys under {prefix} (default dlq:settings)
    kafka://host:port[,…][/topic]     a one-partition settings topic (default dlq-settings)
    PATH                              a JSON file, replaced atomically under a lock`

export abstract class SettingsCommand extends BaseCommand {
  /**
   * Runs `fn` against the store; the store's warnings go to stderr, whatever the outcome. On a
   * version conflict without --json, the current setting goes to stderr before the error line,
   * so a person sees what they raced against.
   */
  protected async withStore<T>(storeFlagValue: string | undefined, render: (current: never, json: boolean) => string, fn: (store: SettingsStore) => Promise<T>): Promise<T> {
    const uri = resolveStoreUri(storeFlagValue)
    try {
      return await withSettingsStore(uri, (store) => fn(store).finally(() => this.noteWarnings(store.warnings)))
    } catch (error) {
      if (error instanceof ConflictError && !this.jsonRequested() && error.details !== undefined) {
        this.note('current setting:\n' + render(error.details as never, false).replace(/^/gm, '  ').trimEnd())
      }
      throw error
    }
  }
  /**
   * A set or clear: runs `write`, then prints the setting as `render` shows it. When the setting
   * already had that value nothing was written, and stderr says so ("unchanged", exit 0).
   */
  protected async change<Doc extends {version: number}>(
    store: string | undefined,
    show: {render: (doc: Doc, json: boolean) => string; json: boolean; what: string; cleared: boolean},
    write: (store: SettingsStore) => Promise<Written<Doc>>,
  ): Promise<void> {
    const {document, changed} = await this.withStore(store, show.render, write)
    if (!changed) this.note(renderUnchanged(show.what, document.version, show.cleared))
    this.out(show.render(document, show.json))
  }
}
