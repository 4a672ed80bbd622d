import {BaseCommand} from '../../cli/base-command.js'
import {setGlobalTarget} from '../../core/settings/global-target.js'
import {renderGlobalTarget} from '../../output/settings.js'
import {STORE_HELP, SettingsCommand, expectedVersionFlag, storeFlag} from './settings-command.js'
import {paragraphs} from '../../cli/help.js'

export default class GlobalTargetClear extends SettingsCommand {
  static override summary = 'Remove the global DLQ target (optionally only if its version is N).'
  static override description = paragraphs(`Sets the global target to none. Like "set", this is a versioned, recorded change: the
version goes up by one and "history" shows who cleared it. With --expected-version N it
happens only if the stored version is N; otherwise exit code 3 and the current setting.
Clearing a target that is not set writes nothing: the version stays, stderr says "unchanged".

${STORE_HELP}

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> global-target clear --store redis://127.0.0.1:6379',
    '<%= config.bin %> global-target clear --expected-version 4 --store ./settings.json --json',
  ]

  static override flags = {store: storeFlag, 'expected-version': expectedVersionFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(GlobalTargetClear)
    const show = {render: renderGlobalTarget, json: flags.json ?? false, what: 'the global target', cleared: true}
    await this.change(flags.store, show, (store) => setGlobalTarget(store, null, {expectedVersion: flags['expected-version']}))
  }
}
