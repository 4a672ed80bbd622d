import {errorInfo} from './error-info.js'
import type {HeaderConvention} from './types.js'

const P = '__streams.errors.'

// The Streams frame nearest the throw says where it failed: the source node's key or value deserializer, or
// a processor. Only the top exception's own frames count (a cause's frames come after `Caused by:`).
const FRAME = /^\s*at org\.apache\.kafka\.streams\.processor\.internals\.(SourceNode\.deserializeKey|SourceNode\.deserializeValue|ProcessorNode\.process)\(/
const STAGE: Record<string, string> = {'SourceNode.deserializeKey': 'key', 'SourceNode.deserializeValue': 'value', 'ProcessorNode.process': 'processing'}

/** `key`, `value` (deserialization) or `processing`, from the stack trace Streams recorded; null when it names none. */
export function streamsStage(stacktrace: string | null): string | null {
  if (!stacktrace) return null
  for (const line of stacktrace.split(/\r?\n/)) {
    if (/^\s*Caused by: /.test(line)) return null
    const m = line.match(FRAME)
    if (m) return STAGE[m[1]]
  }
  return null
}

/**
 * Kafka Streams (KIP-1034, 4.2+) dead-letter records, as captured from 4.2.2 (fixtures/captured/kafka-streams):
 * the failed record's key, value, headers and time copied, then the six headers, all UTF-8 text (a null
 * exception message is a header with a null value). No application id, attempt count or failure time.
 */
export const streams: HeaderConvention = {
  name: 'streams',
  reserved: {prefixes: [P]},
  numeric: [`${P}partition`, `${P}offset`],
  // The DLQ record gets the failing record's own time (the source's, unless an upstream processor changed it).
  recordTime: 'original',
  detect: (h) => h.hasPrefix(P),
  decode: (h, raw) => {
    const stacktrace = h.text(`${P}stacktrace`)
    const stage = streamsStage(stacktrace)
    return {
      source: {topic: h.text(`${P}topic`), partition: h.number(`${P}partition`), offset: h.int(`${P}offset`), group: null},
      reason: null,
      error: errorInfo({class: h.text(`${P}exception`), message: h.text(`${P}message`), stacktrace, stage}),
      retries: null,
      deadLetteredAt: null,
      // Streams frees the source's raw bytes once a processor has sent the record to a sink; a processor (or a
      // sink's send) that fails after that dead-letters it with neither key nor value, and replaying it would
      // send an empty record. A source record with no key and no value looks the same: it is not told apart
      // (docs/conventions.md). A deserializer's failure comes before any sink, so its bytes are always there.
      ...(raw.key === null && raw.value === null && stage !== 'key' && stage !== 'value'
        ? {notOriginal: 'neither key nor value is the source\'s: Kafka Streams frees a record\'s bytes once it has been sent to a sink, and a failure after that is dead-lettered with neither (a source record with no key and no value looks the same)'}
        : {}),
    }
  },
}
