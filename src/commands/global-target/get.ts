import {BaseCommand} from '../../cli/base-command.js'
import {getGlobalTarget} from '../../core/settings/global-target.js'
import {renderGlobalTarget} from '../../output/settings.js'
import {STORE_HELP, SettingsCommand, storeFlag} from './settings-command.js'
import {paragraphs} from '../../cli/help.js'

export default class GlobalTargetGet extends SettingsCommand {
  static override summary = 'Show the global DLQ target and its version.'
  static override description = paragraphs(`Prints the version of the global target setting (0 = never set), the target topic and group
(or "-" when none is set), and when and by whom it was last changed. Pass the version to
"set" or "clear" as --expected-version to change it only if nobody changed it meanwhile.

${STORE_HELP}

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> global-target get --store redis://127.0.0.1:6379',
    '<%= config.bin %> global-target get --store kafka://127.0.0.1:9092/dlq-settings --json',
    'DLQ_STORE=/etc/dlq/settings.json <%= config.bin %> global-target get --json | jq .version',
  ]

  static override flags = {store: storeFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(GlobalTargetGet)
    const doc = await this.withStore(flags.store, renderGlobalTarget, (store) => getGlobalTarget(store))
    this.out(renderGlobalTarget(doc, flags.json ?? false))
  }
}
