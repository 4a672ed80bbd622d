import {existsSync} from 'node:fs'
import {configuredStore, storeFilePath} from '../settings/store-uri.js'
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

/**
 * The ledger lives in the DLQ's own store, or at `--ledger PATH`, a file. A PATH that is the DLQ
 * itself, the settings store file or an existing file of anything but ledger lines is refused
 * (exit 2) before anything is read or sent: dlq would append ledger lines to it. `existing`: the
 * ledger is only read (purge), so a PATH that does not exist is a mistake, not a new ledger.
 */
export async function openLedger(reader: DlqReader, source: string, ledgerPath?: string | null, opts: {existing?: boolean} = {}): Promise<ReplayLedger> {
  const {FileLedger, defaultFileLedgerPath, givenLedgerProblem} = await import('../../backends/file/ledger.js')
  const spec = parseSource(source)
  const kind = reader.info.kind === 'services' ? 'services' : reader.info.kind === 'directory' ? 'directory' : 'file'
  if (ledgerPath) {
    if (opts.existing && !existsSync(ledgerPath)) {
      throw new UsageError(`--ledger ${ledgerPath} does not exist: give the path the replay wrote its ledger to (or leave --ledger out for the DLQ's own ledger)`)
    }
    const problem = await givenLedgerProblem(ledgerPath, {dlq: spec.kind === 'file' ? {path: spec.path, kind} : null, settings: configuredFileStore()})
    if (problem !== null) throw new UsageError(`--ledger ${ledgerPath} ${problem}. Give the ledger a path of its own, or leave --ledger out for the DLQ's own ledger`)
    return new FileLedger(ledgerPath)
  }
  if (spec.kind === 'file') return new FileLedger(await defaultFileLedgerPath(spec.path, kind))
  const {openStoreLedger} = await import('../../backends/registry.js')
  return openStoreLedger(spec)
}

/** The configured settings store's file, when it is a file store (a URI dlq cannot read is none). */
function configuredFileStore(): string | null {
  const store = configuredStore()
  try {
    return store === undefined ? null : storeFilePath(store)
  } catch {
    return null
  }
}
