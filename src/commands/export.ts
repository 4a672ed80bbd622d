import {once} from 'node:events'
import {createWriteStream} from 'node:fs'
import {rename, rm} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'
import type {Writable} from 'node:stream'
import {createGzip} from 'node:zlib'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {withDecoding} from '../cli/decoding.js'
import {filterFlags, filterSpec, partitionFlag, schemaFlags, sourceArg, withPartitions} from '../cli/flags.js'
import {paragraphs} from '../cli/help.js'
import {abortOnEpipe, batched, writer} from '../cli/stdout.js'
import {CancelledError, UsageError} from '../core/errors.js'
import {checkExportFile, exportRecords, type ExportOptions, type ExportResult} from '../core/export.js'
import {buildFilter} from '../core/filter.js'
import type {DlqReader} from '../core/reader.js'
import {openReader} from '../core/source.js'
import {escapeText, safeJson} from '../output/escape.js'
import {onStopSignal} from '../core/signals.js'

export default class Export extends BaseCommand {
  static override summary = 'Copy a whole DLQ (or what the filters select) to NDJSON, without loss.'
  static override description = paragraphs(`Streams every message from --from (default: the first) to the end of SOURCE, one
normalised record per line (the shape of inspect --json's items) with the WHOLE payload,
key and headers: no preview limit, no page limit, memory flat in the size of the DLQ.
Reading the file back (dlq inspect FILE, dlq export FILE) gives the same bytes; unreadable
records are exported too, with what was wrong.

Writes to stdout, or to --file PATH (written beside PATH and renamed into place when
complete; gzip-compressed when PATH ends in .gz). A summary goes to stderr, or with --json
(only together with --file) to stdout.

inspect --output ndjson prints one page with payload previews; use export for a copy.

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> export fixtures/hyperi.ndjson > copy.ndjson',
    '<%= config.bin %> export kafka://127.0.0.1:9092/orders-dlt --file orders-dlt.ndjson.gz',
    "<%= config.bin %> export /var/spool/dfe/dlq/ingest --filter 'reason=parse_error' --since -24h --file parse-errors.ndjson --json",
  ]

  static override args = {source: sourceArg}
  static override flags = {
    from: Flags.string({description: 'Start at this position (as printed by inspect).', helpValue: 'POS'}),
    file: Flags.string({description: 'Write to PATH instead of stdout (gzip when PATH ends in .gz).', helpValue: 'PATH', env: 'DLQ_EXPORT_FILE'}),
    ...filterFlags,
    ...partitionFlag,
    ...schemaFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Export)
    if (flags.json && !flags.file) throw new UsageError('--json prints a summary document on stdout, where the records would go: give --file PATH too')
    if (flags.file !== undefined) checkExportFile(flags.file)
    const filter = buildFilter(filterSpec(flags))
    const reader = await withDecoding(await openReader(withPartitions(args.source, flags.partition)), flags)
    this.noteWarnings(reader.warnings)
    // A reader that goes away (`dlq export … | head`) ends the export quietly, as for any filter.
    const gone = new AbortController()
    abortOnEpipe(gone)
    // Ctrl-C ends the read between records: stdout keeps what was written; a --file export is
    // not complete, so nothing is renamed into place and its temporary file is removed (exit 130).
    const interrupt = new AbortController()
    const offStop = onStopSignal(() => interrupt.abort())
    try {
      const opts = {from: flags.from, filter, signal: AbortSignal.any([gone.signal, interrupt.signal])}
      const produce = (write: (text: string) => Promise<void>) =>
        exportBatched(reader, opts, write).then((result) => {
          if (interrupt.signal.aborted) throw new CancelledError(`interrupted: ${result.records} record${result.records === 1 ? '' : 's'} read${flags.file ? `; ${escapeText(flags.file)} was not written` : ''}`)
          return result
        })
      const result = flags.file ? await this.toFile(flags.file, produce) : await produce(writer(process.stdout, gone.signal))
      if (gone.signal.aborted) return
      const where = flags.file ? ` to ${escapeText(flags.file)}` : ''
      if (flags.json) this.out(safeJson({...result, file: flags.file ?? null}, 2) + '\n')
      else this.note(`exported ${result.records} record${result.records === 1 ? '' : 's'}${result.unreadable > 0 ? ` (${result.unreadable} unreadable)` : ''}, ${result.bytes} bytes${where}`)
    } finally {
      offStop()
      await reader.close()
    }
  }

  /** Writes beside `path` and renames into place only when complete: a failed export leaves no half file. */
  private async toFile(path: string, produce: (write: (line: string) => Promise<void>) => Promise<ExportResult>): Promise<ExportResult> {
    const tmp = `${path}.${process.pid}.tmp`
    const file = createWriteStream(tmp, {flags: 'wx'})
    const gzip = path.endsWith('.gz')
    const gz = gzip ? createGzip() : null
    const head: Writable = gz ?? file
    const piped = gz ? pipeline(gz, file) : null
    try {
      const result = await produce(writer(head))
      head.end()
      if (piped) await piped
      else await once(file, 'finish')
      await rename(tmp, path)
      return result
    } catch (error) {
      // Writes still queued fail once the streams are destroyed: those errors are this one's echo.
      piped?.catch(() => {})
      head.on('error', () => {})
      file.on('error', () => {})
      head.destroy()
      file.destroy()
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()))
      await rm(tmp, {force: true})
      throw error
    }
  }
}

/** The export's lines written in ~64 KiB pieces, not one write per line. */
async function exportBatched(reader: DlqReader, opts: ExportOptions, write: (text: string) => Promise<void>): Promise<ExportResult> {
  const out = batched(write)
  const result = await exportRecords(reader, opts, out.write)
  await out.flush()
  return result
}
