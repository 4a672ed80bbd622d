/**
 * Shell completion scripts for bash, zsh and fish, generated from the command table: command
 * and topic names, each command's flags, and the values of flags that have a fixed set
 * (e.g. --output table|wide|json|ndjson). Everything else completes as a file name, which is
 * what SOURCE, --file and a file --store are. The scripts are static: a TAB never starts node.
 */
export interface CompletionFlag {
  name: string
  char?: string
  /** Takes a value (an option flag), as opposed to a switch. */
  value: boolean
  /** The values it accepts, when they are a fixed set. */
  options?: readonly string[]
  /** Its value is a path or a URI that may be one (--file, --store): complete file names. */
  files?: boolean
  description: string
}

export interface CompletionCommand {
  /** Words of the command, e.g. ["policy", "set"]. */
  words: string[]
  summary: string
  flags: CompletionFlag[]
}

export interface CompletionModel {
  bin: string
  commands: CompletionCommand[]
  topics: Array<{name: string; description: string}>
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim()
const fn = (bin: string) => `_${bin.replace(/\W/g, '_')}`

export function completionScript(shell: Shell, m: CompletionModel): string {
  if (shell === 'fish') return fish(m)
  return shell === 'zsh' ? zsh(m) : bash(m)
}

/** The bash/zsh core: find the command among the words typed so far, then offer names, flags or values. */
function shellCases(m: CompletionModel, offer: (words: string) => string, offerFiles: string): string {
  const top = [...new Set([...m.commands.map((c) => c.words[0]), ...m.topics.map((t) => t.name)])].sort()
  const topics = m.topics.map((t) => t.name)
  const lines: string[] = []
  lines.push(`  case "$cmd" in`)
  lines.push(`    "") ${offer(top.join(' '))}; return ;;`)
  for (const t of topics) {
    const subs = m.commands.filter((c) => c.words[0] === t && c.words.length > 1).map((c) => c.words[1])
    lines.push(`    ${q(t)}) ${offer(subs.join(' '))}; return ;;`)
  }
  lines.push(`  esac`)
  lines.push(`  case "$cmd|$prev" in`)
  for (const c of m.commands) {
    for (const f of c.flags.filter((x) => x.value)) {
      const names = [`--${f.name}`, ...(f.char ? [`-${f.char}`] : [])].map((n) => q(`${c.words.join(' ')}|${n}`)).join('|')
      lines.push(`    ${names}) ${f.options ? offer(f.options.join(' ')) : f.files ? offerFiles : 'return'}; return ;;`)
    }
  }
  lines.push(`  esac`)
  lines.push(`  if [[ "$cur" == -* ]]; then`)
  lines.push(`    case "$cmd" in`)
  for (const c of m.commands) {
    const flags = c.flags.flatMap((f) => [`--${f.name}`, ...(f.char ? [`-${f.char}`] : [])])
    lines.push(`      ${q(c.words.join(' '))}) ${offer([...flags, '--help'].join(' '))}; return ;;`)
  }
  lines.push(`    esac`)
  lines.push(`  fi`)
  lines.push(`  ${offerFiles}`)
  return lines.join('\n')
}

/** Which command the words so far name: the first non-flag word, and the next one after a topic (skipping flag values). */
function findCommand(m: CompletionModel, words: string, upto: string): string {
  const valueFlags = [...new Set(m.commands.flatMap((c) => c.flags.filter((f) => f.value).flatMap((f) => [`--${f.name}`, ...(f.char ? [`-${f.char}`] : [])])))]
  return `  local cmd="" w i skip=0
  for ((i = 1; i < ${upto}; i++)); do
    w="\${${words}[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      ${valueFlags.map(q).join('|')}) skip=1; continue ;;
      -*) continue ;;
    esac
    if [[ -z "$cmd" ]]; then cmd="$w"
    elif [[ " ${m.topics.map((t) => t.name).join(' ')} " == *" $cmd "* && "$cmd" != *" "* ]]; then cmd="$cmd $w"
    else break
    fi
  done`
}

function bash(m: CompletionModel): string {
  const f = fn(m.bin)
  return `# ${m.bin} completion for bash. Load it with
#   source <(${m.bin} completion bash)
# or save it as /etc/bash_completion.d/${m.bin} (or ~/.local/share/bash-completion/completions/${m.bin}).
${f}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
${findCommand(m, 'COMP_WORDS', 'COMP_CWORD')}
  COMPREPLY=()
${shellCases(m, (w) => `COMPREPLY=($(compgen -W ${q(w)} -- "$cur"))`, 'COMPREPLY=($(compgen -f -- "$cur"))')}
}
complete -o filenames -o bashdefault -F ${f} ${m.bin}
`
}

function zsh(m: CompletionModel): string {
  const f = fn(m.bin)
  return `#compdef ${m.bin}
# ${m.bin} completion for zsh. Load it with
#   source <(${m.bin} completion zsh)
# or save it as _${m.bin} in a directory on $fpath (before compinit runs).
${f}() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}"
  local -a reply
${findCommand(m, 'words', 'CURRENT').replace('for ((i = 1;', 'for ((i = 2;')}
${shellCases(m, (w) => `reply=(${w.split(' ').map(q).join(' ')}); compadd -a reply`, '_files')}
}
if (( $+functions[compdef] )); then compdef ${f} ${m.bin}; fi
`
}

function fish(m: CompletionModel): string {
  const b = m.bin
  const lines = [`# ${b} completion for fish. Load it with`, `#   ${b} completion fish | source`, `# or save it as ~/.config/fish/completions/${b}.fish.`, `complete -c ${b} -f`]
  const topics = m.topics.map((t) => t.name)
  const tops = [...new Set(m.commands.map((c) => c.words[0]))]
  const allTop = [...tops, ...topics.filter((t) => !tops.includes(t))]
  for (const t of m.topics) lines.push(`complete -c ${b} -n '__fish_use_subcommand' -a ${q(t.name)} -d ${q(oneLine(t.description))}`)
  for (const c of m.commands.filter((x) => x.words.length === 1)) lines.push(`complete -c ${b} -n '__fish_use_subcommand' -a ${q(c.words[0])} -d ${q(oneLine(c.summary))}`)
  for (const c of m.commands.filter((x) => x.words.length === 2)) {
    const siblings = m.commands.filter((x) => x.words[0] === c.words[0] && x.words.length === 2).map((x) => x.words[1])
    lines.push(`complete -c ${b} -n ${q(`__fish_seen_subcommand_from ${c.words[0]}; and not __fish_seen_subcommand_from ${siblings.join(' ')}`)} -a ${q(c.words[1])} -d ${q(oneLine(c.summary))}`)
  }
  for (const c of m.commands) {
    const cond = c.words.length === 1 ? `__fish_seen_subcommand_from ${c.words[0]}; and not __fish_seen_subcommand_from ${allTop.filter((w) => w !== c.words[0]).join(' ')}` : `__fish_seen_subcommand_from ${c.words[0]}; and __fish_seen_subcommand_from ${c.words[1]}`
    for (const f of c.flags) {
      const parts = [`complete -c ${b} -n ${q(cond)} -l ${f.name}`]
      if (f.char) parts.push(`-s ${f.char}`)
      if (f.value) parts.push(f.options ? `-x -a ${q(f.options.join(' '))}` : f.files ? '-r -F' : '-x')
      parts.push(`-d ${q(oneLine(f.description).slice(0, 80))}`)
      lines.push(parts.join(' '))
    }
    // Arguments (SOURCE, a file or a URI) complete as files.
    lines.push(`complete -c ${b} -n ${q(cond)} -F`)
  }
  return lines.join('\n') + '\n'
}
