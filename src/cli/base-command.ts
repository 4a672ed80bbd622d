import {Command, Errors, Flags} from '@oclif/core'
import {DlqError, EXIT_CODES_HELP} from '../core/errors.js'
import {escapeText, safeJson} from '../output/escape.js'
import {written} from './stdout.js'

/**
 * Every dlq command: `--json`, and the one place where errors become exit codes
 * (product.md) and, with `--json`, a JSON error document on stdout.
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({description: 'Print the result (or the error) as one JSON document on stdout.', env: 'DLQ_JSON'}),
  }

  static exitCodesHelp = EXIT_CODES_HELP

  override async init(): Promise<void> {
    await super.init()
    const warning = passwordOnCommandLine(this.argv)
    if (warning) this.note(warning)
  }

  protected out(text: string): void {
    if (text) process.stdout.write(text)
  }

  protected note(text: string): void {
    if (text) process.stderr.write(text.endsWith('\n') ? text : text + '\n')
  }

  /** What the reader left out or could not use, on stderr (every output mode). */
  protected noteWarnings(warnings: readonly string[] | undefined): void {
    for (const w of warnings ?? []) this.note(`warning: ${escapeText(w)}`)
  }

  protected jsonRequested(): boolean {
    return this.argv.includes('--json') || process.env.DLQ_JSON === '1' || process.env.DLQ_JSON === 'true'
  }

  override async catch(err: Error & {oclif?: {exit?: number}; code?: string}): Promise<never> {
    if (err instanceof Errors.ExitError) throw err
    let exitCode = 1
    let code = 'failure'
    let details: unknown
    if (err instanceof DlqError) {
      exitCode = err.exitCode
      code = err.code
      details = err.details
    } else if (err instanceof Errors.CLIError) {
      // oclif's own parse errors (unknown flag, bad option, missing argument) are usage errors.
      exitCode = 2
      code = 'usage'
    }
    const message = err.message.replace(/^Error: /, '')
    if (this.jsonRequested()) {
      process.stdout.write(safeJson({error: {code, exitCode, message, ...(details === undefined ? {} : {details})}}, 2) + '\n')
    }
    // oclif's messages are several lines, some indented with tabs: keep the lines, make each one safe.
    const lines = message.split('\n').map((l) => escapeText(l.replace(/\t/g, '  ')))
    process.stderr.write(`Error: ${lines.join('\n       ')}\n`)
    if (exitCode === 1 && !(err instanceof DlqError) && process.env.DLQ_DEBUG) process.stderr.write(`${err.stack}\n`)
    // oclif ends the process with process.exit: what a slow reader has not taken yet would be lost.
    await Promise.all([written(process.stdout), written(process.stderr)])
    this.exit(exitCode)
    throw err
  }
}

/**
 * A URI argument with a password (`scheme://user:secret@host`) is readable by every user of
 * the machine in `ps` and stays in shell history. The run goes on (the user asked for it);
 * one warning on stderr says where the password belongs instead. The URI is not repeated.
 */
export function passwordOnCommandLine(argv: string[]): string | null {
  const hit = argv.find((a) => /^[a-z][\w+.-]*:\/\/[^/?#@\s]*:[^@\s]+@/i.test(a.replace(/^--[\w-]+=/, '')))
  if (!hit) return null
  const scheme = hit.replace(/^--[\w-]+=/, '').split(':')[0].toLowerCase()
  const env = scheme.startsWith('kafka')
    ? 'DLQ_KAFKA_USERNAME / DLQ_KAFKA_PASSWORD'
    : scheme.startsWith('http')
      ? 'DLQ_SCHEMA_REGISTRY_USERNAME / DLQ_SCHEMA_REGISTRY_PASSWORD'
      : 'DLQ_REDIS_USERNAME / DLQ_REDIS_PASSWORD'
  return `warning: a password in a ${scheme}:// URI on the command line is visible to every user in \`ps\` and stays in shell history; leave it out of the URI and set ${env}, or use a profile (DLQ_PROFILE, ~/.config/dlq/config.json)`
}
