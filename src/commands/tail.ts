import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {withDecoding} from '../cli/decoding.js'
import {checkPayloadLimit, filterFlags, filterSpec, pageFlags, partitionFlag, schemaFlags, sourceArg, withPartitions} from '../cli/flags.js'
import {paragraphs} from '../cli/help.js'
import {abortOnEpipe, writer} from '../cli/stdout.js'
import {UsageError} from '../core/errors.js'
import {buildFilter} from '../core/filter.js'
import {MAX_LIMIT} from '../core/reader.js'
import type {DecodedRecord} from '../core/record.js'
import {openReader} from '../core/source.js'
import {checkTailLimit, DEFAULT_TAIL, followTail, newWarnings, tailLast} from '../core/tail.js'
import {escapeText} from '../output/escape.js'
import {OUTPUT_FORMATS, type OutputFormat, type Rendered} from '../output/records.js'
import {TailOutput} from '../output/tail.js'
import {onStopSignal} from '../core/signals.js'

/** The longest delay a Node timer holds. */
const MAX_TIMER_MS = 2 ** 31 - 1

export default class Tail extends BaseCommand {
  static override summary = 'Print the last messages of a DLQ, and with --follow every new one as it arrives.'
  static override description = paragraphs(`Prints the last --limit (default ${DEFAULT_TAIL}) messages of SOURCE that match the filters, oldest
first. With --follow it then keeps printing each new matching message as it arrives until
Ctrl-C (exit 130), until the reader of stdout goes away (\`| head\`: exit 0), or until the
clock passes --until (exit 0).

A Kafka topic of several partitions and a services root are several logs: the last messages are
the newest across them by time (on equal times the higher partition or later service is newer;
each log keeps its order; a message without a time goes with the one before it in its log), and
a follow goes on in each right after what the backlog read.

Kafka: from the end of each partition, with long-poll fetches; partitions added while
following are read from their start; a lost connection (a broker restarting) is said on stderr
and retried every 2 s, and the follow goes on from where it stood. Redis: XREAD BLOCK. Files and rotated directories:
appends, the writer's rotation (nothing lost or printed twice) and files created since; a
single file replaced or truncated in place (copytruncate) is read again from its start.
Reading joins no consumer group and writes nothing.

--output ndjson prints one message per line (for jq and other tools). json prints one document
without --follow and one document per message with it. A followed table prints each row as it
comes, with column widths fitted to the terminal at the start.

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> tail fixtures/hyperi.ndjson -n 5',
    "<%= config.bin %> tail kafka://127.0.0.1:9092/orders-dlt --follow --filter 'reason~parse'",
    '<%= config.bin %> tail redis://127.0.0.1:6379/dlq --follow --output ndjson | jq .reason',
    '<%= config.bin %> tail /var/spool/dfe/dlq/ingest -n 0 --follow --output wide',
  ]

  static override args = {source: sourceArg}
  static override flags = {
    limit: Flags.integer({char: 'n', description: `How many of the last messages to print first (0 to ${MAX_LIMIT}; 0 with --follow: only new ones).`, default: DEFAULT_TAIL, helpValue: 'N'}),
    follow: Flags.boolean({char: 'F', description: 'Keep printing new messages as they arrive, until Ctrl-C (or --until).'}),
    'payload-limit': pageFlags['payload-limit'],
    'no-payload': pageFlags['no-payload'],
    ...filterFlags,
    ...partitionFlag,
    ...schemaFlags,
    output: Flags.string({char: 'o', options: OUTPUT_FORMATS, default: 'table', description: 'Output format.', env: 'DLQ_OUTPUT'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Tail).catch((error: Error) => {
      // `tail -f` is a Unix habit: here -f is --filter (and swallows the source). Said at once.
      if (this.argv.includes('-f')) throw new UsageError(`${error.message.split('\n')[0].replace(/:$/, '')}; -f is --filter here: to follow, use -F (--follow), e.g. dlq tail SOURCE -F`)
      throw error
    })
    const payload = {payloadLimit: checkPayloadLimit(flags['payload-limit']), noPayload: flags['no-payload']}
    const filter = buildFilter(filterSpec(flags))
    const format: OutputFormat = flags.json ? 'json' : (flags.output as OutputFormat)
    const limit = checkTailLimit(flags.limit)
    const reader = await withDecoding(await openReader(withPartitions(args.source, flags.partition)), flags)
    this.noteWarnings(reader.warnings)
    const laterWarnings = newWarnings(reader)

    // Ctrl-C and a closed stdout both end the read between records; what was read is printed.
    const stop = new AbortController()
    let interrupted = false
    const offStop = onStopSignal(() => {
      interrupted = true
      stop.abort()
    })
    abortOnEpipe(stop)
    // --until ends a follow when the clock passes it (exit 0): what is written later is stamped
    // later, so it would not match. (A timer holds at most ~24.8 days: re-armed until then.)
    let windowOver: NodeJS.Timeout | undefined
    let ended = false
    const until = flags.follow ? filter.until : null
    const arm = () => {
      const left = until! - Date.now()
      if (left >= 0 && left > MAX_TIMER_MS) windowOver = setTimeout(arm, MAX_TIMER_MS)
      else
        windowOver = setTimeout(() => {
          ended = true
          stop.abort()
        }, Math.max(0, left + 1))
    }
    if (until !== null) arm()
    const output = new TailOutput({format, payload, follow: flags.follow, source: reader.info})
    const write = writer(process.stdout, stop.signal)
    const emit = async (r: Rendered) => {
      this.note(r.stderr)
      await write(r.stdout)
    }
    // Following, the header comes once the reader has taken "now": a message written after the
    // user sees it is printed (not taken for the backlog, which -n 0 leaves out).
    let started: Promise<void> | null = null
    const start = () => (started ??= emit(output.start()))
    const opts = {limit, filter, signal: stop.signal, onLive: () => void start().catch(() => {}), onNotice: (text: string) => this.note(escapeText(text))}
    try {
      if (!flags.follow) await start()
      if (flags.follow) {
        for await (const rec of followTail(reader, opts)) {
          await start()
          // Warnings met while following (a rotation, a truncation) are said once, before the records read after them.
          this.noteWarnings(laterWarnings())
          await emit(output.add([rec]))
        }
        await started
      } else {
        const records: DecodedRecord[] = await tailLast(reader, opts)
        await emit(output.add(records))
        await emit(output.end(reader.warnings ?? []))
      }
    } finally {
      clearTimeout(windowOver)
      offStop()
      await reader.close()
    }
    if (ended && !interrupted) this.note(`--until ${new Date(filter.until!).toISOString()} reached: ${output.count} message${output.count === 1 ? '' : 's'} printed`)
    if (interrupted) {
      this.note(`stopped: ${output.count} message${output.count === 1 ? '' : 's'} printed`)
      process.exitCode = 130
    }
  }
}
