import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {DLQ_MODES, buildPolicy, setPolicy} from '../../core/settings/policy.js'
import {renderPolicy} from '../../output/settings.js'
import {STORE_HELP, SettingsCommand, expectedVersionFlag, storeFlag} from '../global-target/settings-command.js'
import {paragraphs} from '../../cli/help.js'

export default class PolicySet extends SettingsCommand {
  static override summary = "Set what happens to a queue's messages once its retries are exhausted."
  static override description = paragraphs(`--dlq discard drops them, --dlq global sends them to the global target (see
"global-target"), --dlq custom sends them to --dlq-topic (worked by consumer group --group).
--max-retries N is how many retries come first (unset: the consuming system's default).
The policy of SOURCE_TOPIC is a versioned setting like the global target: --expected-version
N changes it only if its stored version is N, else exit code 3 and the current policy.
Setting the policy it already has is not a change: nothing is written, the version stays,
stderr says "unchanged" and the exit code is 0.

${STORE_HELP}

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> policy set orders --dlq global --max-retries 5 --store redis://127.0.0.1:6379',
    '<%= config.bin %> policy set payments --dlq custom --dlq-topic payments-dlq --group payments-dlq-workers',
    '<%= config.bin %> policy set clicks --dlq discard --expected-version 2 --json',
  ]

  static override args = {source_topic: Args.string({description: 'The source queue (topic) the policy is for.', required: true})}
  static override flags = {
    store: storeFlag,
    dlq: Flags.string({description: 'What to do with dead messages.', options: [...DLQ_MODES], required: true}),
    'dlq-topic': Flags.string({description: 'With --dlq custom: the topic dead messages go to.', helpValue: 'TOPIC'}),
    group: Flags.string({description: 'With --dlq custom: the consumer group that works --dlq-topic.', helpValue: 'GROUP'}),
    'max-retries': Flags.integer({description: 'Retries before a message is dead.', helpValue: 'N', min: 0}),
    'expected-version': expectedVersionFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(PolicySet)
    const policy = buildPolicy({dlq: flags.dlq, dlqTopic: flags['dlq-topic'], group: flags.group, maxRetries: flags['max-retries']}, args.source_topic)
    const show = {render: renderPolicy, json: flags.json ?? false, what: `the policy of ${JSON.stringify(args.source_topic)}`, cleared: false}
    await this.change(flags.store, show, (store) => setPolicy(store, args.source_topic, policy, {expectedVersion: flags['expected-version']}))
  }
}
