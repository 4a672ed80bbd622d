import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {withDecoding} from '../cli/decoding.js'
import {checkPayloadLimit, filterFlags, filterSpec, pageFlags, partitionFlag, schemaFlags, sourceArg, withPartitions} from '../cli/flags.js'
import {buildFilter} from '../core/filter.js'
import {inspectPage} from '../core/inspect.js'
import {openReader} from '../core/source.js'
import {OUTPUT_FORMATS, renderInspect, type OutputFormat} from '../output/records.js'
import {paragraphs} from '../cli/help.js'

export default class Inspect extends BaseCommand {
  static override summary = 'Show one page of messages from a DLQ.'
  static override description = paragraphs(`Reads one page from SOURCE, starting at --from (default: the first message), and prints
each message's position, time, source, reason, retries, key and a payload preview. The last
line says where the next page starts. Reads only what the page needs.

--output table fits the terminal (when stdout is not one: $COLUMNS, else 120 columns); wide
adds the convention, group and headers and is not cut to the terminal. json and ndjson carry
payload previews of --payload-limit bytes; for a whole, lossless copy use dlq export.

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> inspect fixtures/conventions.ndjson',
    '<%= config.bin %> inspect /var/spool/dfe/dlq/ingest --from 1200 --limit 20',
    "<%= config.bin %> inspect fixtures/mixed.ndjson --filter 'reason=parse_error' --output wide",
    '<%= config.bin %> inspect kafka://127.0.0.1:9092/orders-dlt --from 2:1500 --json',
    '<%= config.bin %> inspect fixtures/hyperi.ndjson --output ndjson --limit 100 > page.ndjson',
    "<%= config.bin %> inspect kafka://127.0.0.1:9092/orders-dlt --schema-registry http://127.0.0.1:8081 --filter 'payload.currency=EUR'",
  ]

  static override args = {source: sourceArg}
  static override flags = {
    ...pageFlags,
    ...filterFlags,
    ...partitionFlag,
    ...schemaFlags,
    output: Flags.string({char: 'o', options: OUTPUT_FORMATS, default: 'table', description: 'Output format.', env: 'DLQ_OUTPUT'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Inspect)
    const payload = {payloadLimit: checkPayloadLimit(flags['payload-limit']), noPayload: flags['no-payload']}
    const filter = buildFilter(filterSpec(flags))
    const format: OutputFormat = flags.json ? 'json' : (flags.output as OutputFormat)
    const reader = await withDecoding(await openReader(withPartitions(args.source, flags.partition)), flags)
    this.noteWarnings(reader.warnings)
    try {
      const result = await inspectPage(reader, {from: flags.from, limit: flags.limit, filter})
      const rendered = renderInspect(result, format, payload)
      this.out(rendered.stdout)
      this.note(rendered.stderr)
    } finally {
      await reader.close()
    }
  }
}
