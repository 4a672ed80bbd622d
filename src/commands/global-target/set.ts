import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {globalTarget, setGlobalTarget} from '../../core/settings/global-target.js'
import {renderGlobalTarget} from '../../output/settings.js'
import {STORE_HELP, SettingsCommand, expectedVersionFlag, storeFlag} from './settings-command.js'
import {paragraphs} from '../../cli/help.js'

export default class GlobalTargetSet extends SettingsCommand {
  static override summary = 'Set the global DLQ target (optionally only if its version is N).'
  static override description = paragraphs(`Makes TOPIC (with consumer group --group) the global DLQ target and prints the new setting.
Every change bumps the version by one and is recorded with the time, the user and host
(DLQ_ACTOR overrides them) and the version it replaced; "history" lists the changes.
Setting the target it already has is not a change: nothing is written, the version stays,
stderr says "unchanged" and the exit code is 0.

With --expected-version N the change happens only if the stored version is N: otherwise
nothing is changed, the current setting is printed (with --json: as the error's "details")
and the exit code is 3, so a CI script can re-read and decide again.

Topic and group names follow Kafka's rules; names starting with __, fibril. or stroma. are
reserved and refused.

${STORE_HELP}

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> global-target set orders-dlq --group dlq-workers --store redis://127.0.0.1:6379',
    '<%= config.bin %> global-target set orders-dlq --expected-version 3 --store kafka://127.0.0.1:9092 --json',
    'v=$(<%= config.bin %> global-target get --json | jq .version) && <%= config.bin %> global-target set orders-dlq --expected-version "$v"',
  ]

  static override args = {topic: Args.string({description: 'The topic dead messages go to.', required: true})}
  static override flags = {
    store: storeFlag,
    group: Flags.string({description: 'The consumer group that works the target topic.', helpValue: 'GROUP'}),
    'expected-version': expectedVersionFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(GlobalTargetSet)
    const target = globalTarget(args.topic, flags.group)
    const show = {render: renderGlobalTarget, json: flags.json ?? false, what: 'the global target', cleared: false}
    await this.change(flags.store, show, (store) => setGlobalTarget(store, target, {expectedVersion: flags['expected-version']}))
  }
}
