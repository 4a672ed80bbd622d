/**
 * The CLI's single entry module: oclif's `execute`, the command table (oclif's "explicit"
 * command strategy) and its hooks. The build bundles this file with @oclif/core and every
 * command into dist/cli.cjs, one file that bin/load-cli.js compiles with a code cache, because
 * loading oclif's hundred-odd modules one by one cost more start-up time than the whole command
 * needs. Each command's module runs only when it is loaded: oclif finds a command's flags and
 * help in oclif.manifest.json, so only the command being run is ever loaded (by the init hook
 * below, before oclif looks it up). Store clients, Ink and React load later still.
 */
import type {Command, Hook} from '@oclif/core'
import {Errors} from '@oclif/core'

export {execute} from '@oclif/core'
export {COMMAND_NOT_FOUND} from './not-found.js'
export {written} from './stdout.js'

type CommandClass = Command.Class
const LOADERS: Record<string, () => Promise<{default: CommandClass}>> = {
  browse: () => import('../commands/browse.js'),
  check: () => import('../commands/check.js'),
  completion: () => import('../commands/completion.js'),
  export: () => import('../commands/export.js'),
  'global-target:clear': () => import('../commands/global-target/clear.js'),
  'global-target:get': () => import('../commands/global-target/get.js'),
  'global-target:history': () => import('../commands/global-target/history.js'),
  'global-target:set': () => import('../commands/global-target/set.js'),
  'policy:clear': () => import('../commands/policy/clear.js'),
  'policy:get': () => import('../commands/policy/get.js'),
  'policy:history': () => import('../commands/policy/history.js'),
  'policy:list': () => import('../commands/policy/list.js'),
  'policy:set': () => import('../commands/policy/set.js'),
  help: () => import('../commands/help.js'),
  inspect: () => import('../commands/inspect.js'),
  purge: () => import('../commands/purge.js'),
  replay: () => import('../commands/replay.js'),
  stats: () => import('../commands/stats.js'),
  tail: () => import('../commands/tail.js'),
}

/**
 * The table oclif reads (package.json `oclif.commands`). oclif keeps this very object and
 * looks a command up in it only when it runs it, so it starts empty and is filled by
 * `loadCommand`; every id is in oclif.manifest.json, which oclif reads for help and lookup.
 */
export const COMMANDS: Record<string, CommandClass> = {}

/** Loads one command's module into COMMANDS; false for an id that is not a command. */
export async function loadCommand(id: string): Promise<boolean> {
  const load = Object.hasOwn(LOADERS, id) ? LOADERS[id] : undefined
  if (!load) return false
  COMMANDS[id] ??= (await load()).default
  return true
}

/** Every command loaded, in the table's order, for tools that need all classes (scripts/manifest.mjs). */
export async function loadAllCommands(): Promise<Record<string, CommandClass>> {
  for (const id of Object.keys(LOADERS)) await loadCommand(id)
  return COMMANDS
}

/**
 * oclif's init hook runs after argv is turned into a command id and before the command is
 * looked up. oclif ignores most errors thrown by a hook, and a command whose module failed to
 * load would then be reported as "not found": a load failure is raised as an error that oclif
 * does not ignore (one with an exit code).
 */
export const LOAD_COMMAND: Hook<'init'> = async function ({id}) {
  if (!id) return
  try {
    await loadCommand(id)
  } catch (error) {
    throw new Errors.CLIError(`dlq could not load the "${id.replaceAll(':', ' ')}" command: ${(error as Error).message}`, {exit: 1})
  }
}
