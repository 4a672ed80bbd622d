import {UsageError} from '../errors.js'
import type {DlqReader} from '../reader.js'
import type {DlqSink} from '../sink.js'
import {parseSource, redactUri} from '../source.js'
import type {ReplayLedger} from './ledger.js'

/**
 * The sink a replay writes to: `--sink URI` when given (required for file DLQs), else the
 * DLQ's own cluster or server, i.e. the source URI without its topic or stream.
 */
export function defaultSinkUri(source: string): string {
  const spec = parseSource(source)
  if (spec.kind === 'file') throw new UsageError('a file DLQ has no cluster of its own: name where to replay with --sink kafka://host:port or --sink redis://host:port')
  const [base, query] = spec.uri.split('?', 2)
  const cut = base.replace(/\/[^/]*$/, '')
  if (/^[a-z]+:\/\/[^/]*$/i.test(base)) throw new UsageError(`source ${redactUri(spec.uri)} names no topic or stream`)
  return query === undefined ? cut : `${cut}?${query}`
}

export async function openSink(uri: string): Promise<DlqSink> {
  const spec = parseSource(uri)
  if (spec.kind === 'file') throw new UsageError(`--sink ${uri}: replay writes to Kafka (kafka://host:port) or Redis (redis://host:port)`)
  // The topic comes from each message (or --to): one named here would be silently ignored.
  const path = new URL(spec.uri).pathname.split('/').filter((x) => x !== '')
  const named = spec.kind === 'kafka' ? path[0] : path[1]
  if (named !== undefined) {
    const base = spec.kind === 'kafka' ? 'kafka://host:port' : 'redis://host:port[/db]'
    throw new UsageError(`--sink ${redactUri(spec.uri)} names a ${spec.kind === 'kafka' ? 'topic' : 'stream'} ("${decodeURIComponent(named)}"): --sink is the store (${base}); each message goes to its recorded source topic, or to --to TOPIC`)
  }
  const {openStoreSink} = await import('../../backends/registry.js')
  return openStoreSink(spec)
}

/** The ledger lives in the DLQ's own store (or at `--ledger PATH`, a file). */
export async function openLedger(reader: DlqReader, source: string, ledgerPath?: string | null): Promise<ReplayLedger> {
  const {FileLedger, defaultFileLedgerPath} = await import('../../backends/file/ledger.js')
  if (ledgerPath) return new FileLedger(ledgerPath)
  const spec = parseSource(source)
  if (spec.kind === 'file') return new FileLedger(await defaultFileLedgerPath(spec.path, reader.info.kind === 'services' ? 'services' : reader.info.kind === 'directory' ? 'directory' : 'file'))
  const {openStoreLedger} = await import('../../backends/registry.js')
  return openStoreLedger(spec)
}
