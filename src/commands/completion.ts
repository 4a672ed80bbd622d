import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {paragraphs} from '../cli/help.js'
import {FILTER_FIELDS} from '../core/filter.js'
import {safeJson} from '../output/escape.js'
import {SHELLS, completionScript, type CompletionCommand, type Shell} from '../output/completion.js'

export default class Completion extends BaseCommand {
  static override summary = 'Print a shell completion script (bash, zsh or fish).'
  static override description = paragraphs(`Prints a completion script for SHELL: command and topic names, each command's flags, and
the values of flags with a fixed set (--output, --dlq, the fields of --filter). SOURCE and
file flags complete as file names. The script is static, so TAB never starts dlq; print it
again after an upgrade.

  bash   source <(dlq completion bash)       or save to /etc/bash_completion.d/dlq
  zsh    source <(dlq completion zsh)        or save as _dlq on $fpath
  fish   dlq completion fish | source        or save to ~/.config/fish/completions/dlq.fish

${BaseCommand.exitCodesHelp}`)

  static override examples = ['<%= config.bin %> completion bash > ~/.local/share/bash-completion/completions/dlq', '<%= config.bin %> completion fish > ~/.config/fish/completions/dlq.fish']
  static override args = {shell: Args.string({description: 'The shell.', options: [...SHELLS], required: true})}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Completion)
    const filterValues = FILTER_FIELDS.map((f) => f.replace(/NAME$|JSON\.PATH$/, ''))
    const commands: CompletionCommand[] = this.config.commands
      .filter((c) => !c.hidden)
      .map((c) => ({
        words: c.id.split(':'),
        summary: c.summary ?? c.description?.split('\n')[0] ?? '',
        flags: Object.values(c.flags).map((f) => ({
          name: f.name,
          char: f.char,
          value: f.type === 'option',
          options: f.type === 'option' ? (f.name === 'filter' ? filterValues : f.options) : undefined,
          files: f.type === 'option' && (f.helpValue === 'PATH' || f.helpValue === 'URI'),
          description: f.summary ?? f.description ?? '',
        })),
      }))
      .sort((a, b) => a.words.join(' ').localeCompare(b.words.join(' ')))
    // oclif lists every command as a topic too: only names with subcommands are topics here.
    const topics = this.config.topics
      .filter((t) => commands.some((c) => c.words.length > 1 && c.words[0] === t.name))
      .map((t) => ({name: t.name, description: t.description ?? ''}))
    const script = completionScript(args.shell as Shell, {bin: this.config.bin, commands, topics})
    // --json (every command's): one document, as its help says, with the script in it.
    if (flags.json) this.out(safeJson({shell: args.shell, script}, 2) + '\n')
    else this.out(script)
  }
}
