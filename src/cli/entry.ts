/**
 * The CLI's single entry module: oclif's `execute` and the command table (oclif's "explicit"
 * command strategy). The build bundles this file with @oclif/core into dist/cli.js, because
 * loading oclif's hundred-odd modules one by one cost more start-up time than the whole
 * command needs. Store clients, Ink and React stay outside the bundle, loaded on demand.
 */
import Browse from '../commands/browse.js'
import Check from '../commands/check.js'
import Completion from '../commands/completion.js'
import Export from '../commands/export.js'
import GlobalTargetClear from '../commands/global-target/clear.js'
import GlobalTargetGet from '../commands/global-target/get.js'
import GlobalTargetHistory from '../commands/global-target/history.js'
import GlobalTargetSet from '../commands/global-target/set.js'
import Help from '../commands/help.js'
import Inspect from '../commands/inspect.js'
import PolicyClear from '../commands/policy/clear.js'
import PolicyGet from '../commands/policy/get.js'
import PolicyHistory from '../commands/policy/history.js'
import PolicyList from '../commands/policy/list.js'
import PolicySet from '../commands/policy/set.js'
import Purge from '../commands/purge.js'
import Replay from '../commands/replay.js'
import Stats from '../commands/stats.js'
import Tail from '../commands/tail.js'

export {execute} from '@oclif/core'
export {COMMAND_NOT_FOUND} from './not-found.js'

export const COMMANDS = {
  browse: Browse,
  check: Check,
  completion: Completion,
  export: Export,
  'global-target:clear': GlobalTargetClear,
  'global-target:get': GlobalTargetGet,
  'global-target:history': GlobalTargetHistory,
  'global-target:set': GlobalTargetSet,
  'policy:clear': PolicyClear,
  'policy:get': PolicyGet,
  'policy:history': PolicyHistory,
  'policy:list': PolicyList,
  'policy:set': PolicySet,
  help: Help,
  inspect: Inspect,
  purge: Purge,
  replay: Replay,
  stats: Stats,
  tail: Tail,
}
