import {BaseCommand} from '../../cli/base-command.js'
import {globalTargetHistory} from '../../core/settings/global-target.js'
import {renderGlobalTargetHistory} from '../../output/settings.js'
import {STORE_HELP, SettingsCommand, storeFlag} from './settings-command.js'
import {paragraphs} from '../../cli/help.js'

export default class GlobalTargetHistory extends SettingsCommand {
  static override summary = 'List every change of the global DLQ target, oldest first.'
  static override description = paragraphs(`One row per change: the version it created, the version it replaced, when, by whom
(user@host), and the target it set ("(cleared)" for a clear). Prints nothing when the
target was never set.

${STORE_HELP}

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> global-target history --store redis://127.0.0.1:6379',
    '<%= config.bin %> global-target history --json | jq \'.changes[-1].by\'',
  ]

  static override flags = {store: storeFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(GlobalTargetHistory)
    const changes = await this.withStore(flags.store, () => '', (store) => globalTargetHistory(store))
    this.out(renderGlobalTargetHistory(changes, flags.json ?? false))
  }
}
