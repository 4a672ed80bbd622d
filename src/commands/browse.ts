import {BaseCommand} from '../cli/base-command.js'
import {withDecoding} from '../cli/decoding.js'
import {checkPayloadLimit, filterFlags, filterSpec, pageFlags, partitionFlag, replayTargetFlags, schemaFlags, sourceArg, withPartitions} from '../cli/flags.js'
import {UsageError} from '../core/errors.js'
import {buildFilter} from '../core/filter.js'
import {openReader} from '../core/source.js'
import {paragraphs} from '../cli/help.js'
import {loadTui} from '../tui/load.js'

export default class Browse extends BaseCommand {
  static override summary = 'Browse a DLQ interactively: list, detail, filter, select and replay.'
  static override description = paragraphs(`Opens a full-screen browser on SOURCE: a message list paged by position, a detail pane
(normalised fields, user headers, decoded metadata, the payload as pretty JSON, text or a
hex dump), jump to a position, filters edited live, multi-select, and replay of the
selection behind a confirmation that shows what will be sent where. Pages load both ways on
every store; at the end of the log new messages appear as they come (F: follow on/off,
R: look now). Enter shows a message full screen; s saves its payload to a file. Press ? for
the keys. NO_COLOR turns colours off, FORCE_COLOR forces them.

Needs an interactive terminal; in scripts use \`dlq inspect\` and \`dlq replay\`.

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> browse fixtures/mixed.ndjson',
    "<%= config.bin %> browse /var/spool/dfe/dlq/ingest --filter 'reason=parse_error' --sink redis://127.0.0.1:6379",
    '<%= config.bin %> browse kafka://127.0.0.1:9092/orders-dlt --from 2:1500',
    '<%= config.bin %> browse redis://127.0.0.1:6379/dlq --to orders',
  ]

  static override args = {source: sourceArg}
  static override flags = {
    from: pageFlags.from,
    'payload-limit': pageFlags['payload-limit'],
    ...filterFlags,
    ...partitionFlag,
    ...replayTargetFlags,
    ...schemaFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Browse)
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      throw new UsageError('dlq browse needs an interactive terminal; use dlq inspect SOURCE to print pages (and dlq replay to replay) instead')
    }
    const payloadLimit = checkPayloadLimit(flags['payload-limit'])
    const spec = filterSpec(flags)
    buildFilter(spec) // a bad --filter is a usage error before the screen opens
    const reader = await withDecoding(await openReader(withPartitions(args.source, flags.partition)), flags)
    try {
      const from = flags.from ? reader.parsePosition(flags.from) : null
      const {openReplayPort} = await import('../tui/replay-wiring.js')
      const replay = await openReplayPort(reader, {source: args.source, sinkUri: flags.sink ?? null, to: flags.to ?? null, ledger: flags.ledger ?? null})
      try {
        const {runBrowse} = await loadTui()
        await runBrowse({reader, filterSpec: spec, from, payloadLimit, replay})
      } finally {
        await replay.close()
      }
    } finally {
      await reader.close()
    }
  }
}
