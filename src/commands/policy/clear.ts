import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {clearPolicy} from '../../core/settings/policy.js'
import {renderPolicy} from '../../output/settings.js'
import {STORE_HELP, SettingsCommand, expectedVersionFlag, storeFlag} from '../global-target/settings-command.js'
import {paragraphs} from '../../cli/help.js'

export default class PolicyClear extends SettingsCommand {
  static override summary = 'Remove the DLQ policy of one source topic (optionally only if its version is N).'
  static override description = paragraphs(`Removes the policy of SOURCE_TOPIC, so the consuming system's default applies again.
Like "set", this is a versioned, recorded change: the version goes up by one and "history"
shows who cleared it. With --expected-version N it happens only if the stored version is N;
otherwise exit code 3 and the current policy. Clearing a topic that has no policy writes
nothing: the version stays, stderr says "unchanged".

${STORE_HELP}

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> policy clear orders --store redis://127.0.0.1:6379',
    '<%= config.bin %> policy clear orders --expected-version 3 --json',
  ]

  static override args = {source_topic: Args.string({description: 'The source queue (topic) whose policy goes.', required: true})}
  static override flags = {store: storeFlag, 'expected-version': expectedVersionFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(PolicyClear)
    const show = {render: renderPolicy, json: flags.json ?? false, what: `the policy of ${JSON.stringify(args.source_topic)}`, cleared: true}
    await this.change(flags.store, show, (store) => clearPolicy(store, args.source_topic, {expectedVersion: flags['expected-version']}))
  }
}
