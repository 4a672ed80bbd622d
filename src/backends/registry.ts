import {UsageError} from '../core/errors.js'
import type {DlqReader} from '../core/reader.js'
import type {SourceSpec} from '../core/source.js'
import {redactUri} from '../core/source.js'

/**
 * Network stores, each behind a dynamic import so its client library is loaded only when
 * a command uses that store.
 */
export async function openStoreReader(spec: Exclude<SourceSpec, {kind: 'file'}>): Promise<DlqReader> {
  throw new UsageError(`${redactUri(spec.uri)}: ${spec.kind} sources are not available in this build yet`)
}
