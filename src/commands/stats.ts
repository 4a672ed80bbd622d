import {BaseCommand} from '../cli/base-command.js'
import {withDecoding} from '../cli/decoding.js'
import {filterFlags, filterSpec, partitionFlag, schemaFlags, sourceArg, withPartitions} from '../cli/flags.js'
import {buildFilter} from '../core/filter.js'
import {collectStats} from '../core/stats.js'
import {openReader} from '../core/source.js'
import {renderStats} from '../output/stats.js'
import {paragraphs} from '../cli/help.js'

export default class Stats extends BaseCommand {
  static override summary = 'Count a DLQ by reason, source topic and convention.'
  static override description = paragraphs(`Reads the whole DLQ (or what the filters select) once, streaming, and prints counts by
reason, by source topic and by convention, the first and last timestamps, and how many
records could not be read (with their positions).

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> stats fixtures/mixed.ndjson',
    "<%= config.bin %> stats /var/spool/dfe/dlq/ingest --since -24h --json",
  ]

  static override args = {source: sourceArg}
  static override flags = {...filterFlags, ...partitionFlag, ...schemaFlags}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Stats)
    const filter = buildFilter(filterSpec(flags))
    const reader = await withDecoding(await openReader(withPartitions(args.source, flags.partition)), flags, 'filter')
    this.noteWarnings(reader.warnings)
    try {
      this.out(renderStats(await collectStats(reader, filter), flags.json))
    } finally {
      await reader.close()
    }
  }
}
