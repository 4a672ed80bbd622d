import type {HeaderConvention} from './types.js'

const P = 'kafka_dlt-'

/**
 * Spring Kafka DeadLetterPublishingRecoverer. Partition and offset are binary (i32be, i64be).
 * A record dead-lettered twice carries `original-*` more than once: the first occurrence is
 * the root source, which is where replay sends it (the last is only the previous DLT hop).
 */
export const spring: HeaderConvention = {
  name: 'spring',
  reserved: {prefixes: [P, 'retry_topic-']},
  numeric: [
    `${P}original-partition`,
    `${P}original-offset`,
    `${P}original-timestamp`,
    'retry_topic-attempts',
    'retry_topic-original-timestamp',
    'retry_topic-backoff-timestamp',
  ],
  detect: (h) => h.hasPrefix(P),
  decode: (h) => ({
    source: {
      topic: h.text(`${P}original-topic`),
      partition: h.number(`${P}original-partition`),
      offset: h.number(`${P}original-offset`),
      group: h.text(`${P}original-consumer-group`),
    },
    // The cause names the real failure; the top-level class is usually Spring's wrapper.
    reason: h.textOf(`${P}exception-cause-fqcn`, `${P}exception-fqcn`, `${P}key-exception-fqcn`),
    retries: h.number('retry_topic-attempts'),
    deadLetteredAt: null,
  }),
}
