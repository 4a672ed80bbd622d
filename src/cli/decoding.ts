import {activeProfile} from '../core/config.js'
import {UsageError} from '../core/errors.js'
import type {DlqReader} from '../core/reader.js'
import type {ParallelStats} from '../core/stats.js'

export interface DecodeFlags {
  'schema-registry'?: string
  decode?: string
}

/**
 * Wraps a reader so its records carry decoded payloads and keys (when a registry is named and
 * --decode is not off). The decoders (avsc, protobufjs, ajv) load only then.
 */
export async function withDecoding<R extends DlqReader & Partial<ParallelStats>>(
  reader: R,
  flags: DecodeFlags,
  /** 'filter': decode only what payload filters need (stats prints no payloads). */
  need: 'all' | 'filter' = 'all',
): Promise<R | (DlqReader & Partial<ParallelStats>)> {
  try {
    return await decoding(reader, flags, need)
  } catch (error) {
    // The caller never got a reader to close.
    await reader.close().catch(() => {})
    throw error
  }
}

async function decoding<R extends DlqReader & Partial<ParallelStats>>(reader: R, flags: DecodeFlags, need: 'all' | 'filter'): Promise<R | (DlqReader & Partial<ParallelStats>)> {
  const mode = flags.decode ?? 'auto'
  if (mode === 'off') return reader
  let named = Boolean(flags['schema-registry'])
  if (!named) {
    try {
      named = Boolean(activeProfile().schemaRegistry?.url)
    } catch (error) {
      // Without the flag a profile is only a fallback: a config problem surfaces where the profile is needed.
      if (mode === 'required') throw error
    }
  }
  if (!named) {
    if (mode === 'required') throw new UsageError("--decode required: give the registry with --schema-registry URL (or DLQ_SCHEMA_REGISTRY, or the profile's schemaRegistry.url)")
    return reader
  }
  // Only now: the registry client and the decoders (avsc, protobufjs, ajv) cost nothing to commands that do not decode.
  const {registrySettings, SchemaRegistryClient} = await import('../backends/schema-registry/client.js')
  const settings = registrySettings(flags['schema-registry'])!
  const [{SchemaDecoder}, {withSchemaDecoding}] = await Promise.all([import('../core/schema/decoder.js'), import('../core/schema/reader.js')])
  const client = new SchemaRegistryClient(settings)
  const decoder = new SchemaDecoder(client, mode === 'required' ? 'required' : 'auto')
  if (mode === 'required') {
    // Exit 4 before the read when the registry cannot be reached at all.
    await decoder.probe()
  }
  const wrapped = withSchemaDecoding(reader, decoder, need === 'all')
  const close = wrapped.close
  wrapped.close = async () => {
    client.close()
    await close()
  }
  return wrapped
}
