import {Args, Command, loadHelpClass} from '@oclif/core'

/** `dlq help [COMMAND…]`: the same help as `--help`, for those who type it the other way round. */
export default class Help extends Command {
  static override summary = 'Show help for dlq, a topic or a command.'
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help inspect', '<%= config.bin %> help global-target set']
  static override strict = false
  static override args = {command: Args.string({description: 'The command (or topic) to explain, e.g. "inspect" or "policy set".', required: false})}

  async run(): Promise<void> {
    const {argv} = await this.parse(Help)
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(argv as string[])
  }
}
