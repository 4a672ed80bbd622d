import {Args, Command, loadHelpClass} from '@oclif/core'
import {unknownCommand} from '../cli/not-found.js'

/** `dlq help [COMMAND…]`: the same help as `--help`, for those who type it the other way round. */
export default class Help extends Command {
  static override summary = 'Show help for dlq, a topic or a command.'
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help inspect', '<%= config.bin %> help global-target set']
  static override strict = false
  static override args = {command: Args.string({description: 'The command (or topic) to explain, e.g. "inspect" or "policy set".', required: false})}

  async run(): Promise<void> {
    const {argv} = await this.parse(Help)
    // An unknown name gets the same error as `dlq nosuch` (and the closest names), not oclif's own.
    const id = (argv as string[]).filter((a) => !a.startsWith('-')).join(':')
    if (id !== '' && !this.config.findCommand(id) && !this.config.findTopic(id)) unknownCommand(this.config, id)
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(argv as string[])
  }
}
