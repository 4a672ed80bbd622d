/**
 * The CLI's single entry module: oclif's `execute` and the command table (oclif's "explicit"
 * command strategy). The build bundles this file with @oclif/core into dist/cli.js, because
 * loading oclif's hundred-odd modules one by one cost more start-up time than the whole
 * command needs. Store clients, Ink and React stay outside the bundle, loaded on demand.
 */
import Browse from '../commands/browse.js'
import Inspect from '../commands/inspect.js'
import Replay from '../commands/replay.js'
import Stats from '../commands/stats.js'

export {execute} from '@oclif/core'

export const COMMANDS = {
  browse: Browse,
  inspect: Inspect,
  replay: Replay,
  stats: Stats,
}
