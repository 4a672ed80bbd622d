import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {policyHistory} from '../../core/settings/policy.js'
import {renderPolicyHistory} from '../../output/settings.js'
import {STORE_HELP, SettingsCommand, storeFlag} from '../global-target/settings-command.js'
import {paragraphs} from '../../cli/help.js'

export default class PolicyHistory extends SettingsCommand {
  static override summary = 'List every change of the DLQ policy of one source topic, oldest first.'
  static override description = paragraphs(`One row per change: the version it created, the version it replaced, when, by whom
(user@host), and the policy it set ("(cleared)" for a clear). Prints nothing when the
policy was never set.

${STORE_HELP}

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> policy history orders --store redis://127.0.0.1:6379',
    "<%= config.bin %> policy history orders --json | jq '.changes[-1].by'",
  ]

  static override args = {source_topic: Args.string({description: 'The source queue (topic).', required: true})}
  static override flags = {store: storeFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(PolicyHistory)
    const changes = await this.withStore(flags.store, () => '', (store) => policyHistory(store, args.source_topic))
    this.out(renderPolicyHistory(args.source_topic, changes, flags.json ?? false))
  }
}
