import {Errors, type Hook, type Interfaces} from '@oclif/core'
import {escapeText} from '../output/escape.js'

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), for "did you mean". */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The known names closest to `typed`, when close enough to be a typo. */
export function suggest(typed: string, known: string[]): string[] {
  const scored = known.map((k) => ({k, d: distance(typed, k)})).filter(({k, d}) => d <= Math.max(1, Math.floor(Math.max(k.length, typed.length) / 3)) || k.startsWith(typed))
  const best = Math.min(...scored.map((s) => s.d))
  return scored.filter((s) => s.d === best).map((s) => s.k)
}

/**
 * oclif's command_not_found hook: a usage error (exit 2) that names what was typed and the
 * closest command, instead of oclif's "command inspct:x not found".
 */
export const COMMAND_NOT_FOUND: Hook<'command_not_found'> = async function (opts) {
  unknownCommand(opts.config, opts.id)
}

/** Says that `id` (words joined by ':') is not a command, with the closest ones, and exits 2 (also for `dlq help ID`). */
export function unknownCommand(config: Interfaces.Config, id: string): never {
  const opts = {config, id}
  const ids = opts.config.commandIDs.map((id) => id.replaceAll(':', ' '))
  const topics = opts.config.topics.map((t) => t.name.replaceAll(':', ' '))
  const parts = opts.id.split(':')
  // A known topic followed by an unknown subcommand is compared within the topic.
  const inTopic = topics.includes(parts[0]) && parts.length > 1
  const typed = inTopic ? `${parts[0]} ${parts[1]}` : parts[0]
  const known = inTopic ? ids.filter((id) => id.startsWith(parts[0] + ' ')) : [...new Set([...ids.map((id) => id.split(' ')[0]), ...topics])]
  const close = suggest(typed, known)
  const hint = close.length > 0 ? ` Did you mean ${close.map((c) => `"${c}"`).join(' or ')}?` : ''
  const list = inTopic ? `${opts.config.bin} ${parts[0]} --help` : `${opts.config.bin} --help`
  // Written here, in the same shape as every other dlq error, rather than in oclif's wrapped style.
  process.stderr.write(`Error: "${escapeText(typed)}" is not a ${opts.config.bin} command.${hint}\n       See ${list} for the list.\n`)
  Errors.exit(2)
}
