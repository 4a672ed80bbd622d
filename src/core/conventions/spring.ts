import {errorInfo} from './error-info.js'
import type {HeaderConvention} from './types.js'

const DLT = 'kafka_dlt-'
/** Non-blocking retries (retry topics and their DLT) write this family instead (conventions.md §5). */
const NB = 'kafka_'

/**
 * Spring Kafka DeadLetterPublishingRecoverer. Partition and offset are binary (i32be, i64be).
 * A record dead-lettered twice carries `original-*` more than once: the first occurrence is
 * the root source, which is where replay sends it (the last is only the previous DLT hop).
 */
export const spring: HeaderConvention = {
  name: 'spring',
  reserved: {prefixes: [DLT, `${NB}original-`, `${NB}exception-`, 'retry_topic-']},
  numeric: [
    `${DLT}original-partition`,
    `${DLT}original-offset`,
    `${DLT}original-timestamp`,
    `${NB}original-partition`,
    `${NB}original-offset`,
    `${NB}original-timestamp`,
    'retry_topic-attempts',
    'retry_topic-original-timestamp',
    'retry_topic-backoff-timestamp',
  ],
  recordTime: 'failure',
  detect: (h) => h.hasPrefix(DLT) || h.hasPrefix(`${NB}original-`) || h.hasPrefix(`${NB}exception-`),
  decode: (h) => {
    const o = h.has(`${DLT}original-topic`) || !h.has(`${NB}original-topic`) ? `${DLT}original-` : `${NB}original-`
    const keyFailed = !h.has(`${DLT}exception-fqcn`) && !h.has(`${NB}exception-fqcn`) && h.has(`${DLT}key-exception-fqcn`)
    const e = keyFailed ? `${DLT}key-exception-` : h.has(`${DLT}exception-fqcn`) ? `${DLT}exception-` : `${NB}exception-`
    return {
      source: {
        topic: h.text(`${o}topic`),
        partition: h.number(`${o}partition`, 4),
        offset: h.int(`${o}offset`, 8),
        group: h.textOf(`${DLT}original-consumer-group`, `${NB}original-consumer-group`),
      },
      reason: null,
      error: errorInfo({
        class: h.text(`${e}fqcn`),
        message: h.text(`${e}message`),
        causeClass: keyFailed ? null : h.text(`${e}cause-fqcn`),
        stacktrace: h.text(`${e}stacktrace`),
        stage: keyFailed ? 'key' : null,
      }),
      // Repeated once per hop; Spring itself reads the last one.
      retries: h.number('retry_topic-attempts', [4, 1], 'last'),
      deadLetteredAt: null,
      originalTimestamp: h.number(`${o}timestamp`, 8),
    }
  },
}
