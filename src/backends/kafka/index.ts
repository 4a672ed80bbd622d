import {UsageError} from '../../core/errors.js'
import type {DlqReader} from '../../core/reader.js'
import type {DlqSink} from '../../core/sink.js'

// Placeholder until the Kafka backend lands (issue: Kafka backend).
export async function openKafkaReader(uri: string): Promise<DlqReader> {
  throw new UsageError(`${uri}: kafka sources are not available in this build yet`)
}

export async function openKafkaSink(uri: string): Promise<DlqSink> {
  throw new UsageError(`${uri}: kafka sinks are not available in this build yet`)
}
