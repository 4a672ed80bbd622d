import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {getPolicy} from '../../core/settings/policy.js'
import {renderPolicy} from '../../output/settings.js'
import {STORE_HELP, SettingsCommand, storeFlag} from '../global-target/settings-command.js'
import {paragraphs} from '../../cli/help.js'

export default class PolicyGet extends SettingsCommand {
  static override summary = 'Show the DLQ policy of one source topic and its version.'
  static override description = paragraphs(`Prints the policy of SOURCE_TOPIC: its version (0 = never set), what happens to dead
messages (dlq: discard, global or custom), the custom DLQ topic and group, max retries, and
when and by whom it was last changed. A field that is not set prints as "-" (null in JSON).

${STORE_HELP}

${BaseCommand.exitCodesHelp}`)

  static override examples = ['<%= config.bin %> policy get orders --store redis://127.0.0.1:6379', '<%= config.bin %> policy get orders --json | jq -r .policy.dlq']

  static override args = {source_topic: Args.string({description: 'The source queue (topic).', required: true})}
  static override flags = {store: storeFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(PolicyGet)
    const doc = await this.withStore(flags.store, renderPolicy, (store) => getPolicy(store, args.source_topic))
    this.out(renderPolicy(doc, flags.json ?? false))
  }
}
