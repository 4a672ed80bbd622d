import {UsageError} from '../../core/errors.js'
import type {DlqReader} from '../../core/reader.js'
import type {DlqSink} from '../../core/sink.js'

// Placeholder until the Redis backend lands (issue: Redis backend).
export async function openRedisReader(uri: string): Promise<DlqReader> {
  throw new UsageError(`${uri}: redis sources are not available in this build yet`)
}

export async function openRedisSink(uri: string): Promise<DlqSink> {
  throw new UsageError(`${uri}: redis sinks are not available in this build yet`)
}
