import {BaseCommand} from '../../cli/base-command.js'
import {listPolicies} from '../../core/settings/policy.js'
import {renderPolicyList} from '../../output/settings.js'
import {STORE_HELP, SettingsCommand, storeFlag} from '../global-target/settings-command.js'
import {paragraphs} from '../../cli/help.js'

export default class PolicyList extends SettingsCommand {
  static override summary = 'List the DLQ policies of all source topics.'
  static override description = paragraphs(`One row per source topic with a policy, sorted by topic name. Prints nothing when there is
none.

${STORE_HELP}

${BaseCommand.exitCodesHelp}`)

  static override examples = ['<%= config.bin %> policy list --store redis://127.0.0.1:6379', "<%= config.bin %> policy list --json | jq -r '.policies[] | select(.policy.dlq == \"custom\") | .sourceTopic'"]

  static override flags = {store: storeFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(PolicyList)
    const docs = await this.withStore(flags.store, () => '', (store) => listPolicies(store))
    this.out(renderPolicyList(docs, flags.json ?? false))
  }
}
