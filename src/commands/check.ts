import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {withDecoding} from '../cli/decoding.js'
import {filterFlags, filterSpec, partitionFlag, schemaFlags, sourceArg, withPartitions} from '../cli/flags.js'
import {paragraphs} from '../cli/help.js'
import {checkThreshold, OVER_THRESHOLD_EXIT} from '../core/check.js'
import {buildFilter} from '../core/filter.js'
import {openReader} from '../core/source.js'
import {renderCheck} from '../output/check.js'

export default class Check extends BaseCommand {
  static override summary = 'Gate CI or a cron job on a DLQ: fail when more than --max messages match.'
  static override description = paragraphs(`Counts the messages of SOURCE that match the filters and exits ${OVER_THRESHOLD_EXIT} when there are
more than --max, 0 otherwise. Prints one line (OK or OVER, the count, the window and the commonest
reasons); --json prints one document with the counts by reason and the window.

--since and --until bound the read where the store can seek (Kafka: offsets for times, Redis: entry
ids, a rotated directory: the rotated files' names), so "the last 10 minutes" of a large DLQ reads
little more than those 10 minutes. A store that cannot be reached is not "OK": it keeps its own exit
code (4).

Unreadable records count toward --max. In a window, a Kafka record or Redis entry that cannot be
read counts by the store's time; a corrupt file line, which has no time, is placed by the entries
written around it, and counted as "time unknown" when they cannot place it (a line after the last
entry of the file, say).

${BaseCommand.exitCodesHelp.replace(/\n  130 /, `\n  ${OVER_THRESHOLD_EXIT}    check: more messages match than --max allows$&`)}`)

  static override examples = [
    "<%= config.bin %> check kafka://127.0.0.1:9092/orders-dlt --max 0 --since -10m --filter 'reason~parse'",
    '<%= config.bin %> check redis://127.0.0.1:6379/dlq --max 100 --since -1h --json',
    '<%= config.bin %> check /var/spool/dfe/dlq/ingest --max 50 --since -24h || page-the-on-call',
  ]

  static override args = {source: sourceArg}
  static override flags = {
    max: Flags.integer({description: `Most matching messages allowed; more exits ${OVER_THRESHOLD_EXIT}.`, required: true, min: 0, helpValue: 'N', env: 'DLQ_CHECK_MAX'}),
    ...filterFlags,
    ...partitionFlag,
    ...schemaFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Check)
    const filter = buildFilter(filterSpec(flags))
    const reader = await withDecoding(await openReader(withPartitions(args.source, flags.partition)), flags, {filter})
    this.noteWarnings(reader.warnings)
    try {
      const result = await checkThreshold(reader, filter, flags.max)
      this.out(renderCheck(result, flags.json))
      if (result.over) process.exitCode = OVER_THRESHOLD_EXIT
    } finally {
      await reader.close()
    }
  }
}
