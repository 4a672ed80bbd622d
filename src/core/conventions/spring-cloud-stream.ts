import {errorInfo} from './error-info.js'
import type {HeaderConvention} from './types.js'

/** Spring Cloud Stream Kafka binder: `x-original-*` (binary numbers) and `x-exception-*`. */
export const springCloudStream: HeaderConvention = {
  name: 'spring-cloud-stream',
  reserved: {prefixes: ['x-original-', 'x-exception-']},
  numeric: ['x-original-partition', 'x-original-offset', 'x-original-timestamp'],
  recordTime: 'failure',
  detect: (h) => h.hasPrefix('x-original-') || h.has('x-exception-fqcn'),
  decode: (h) => ({
    source: {
      topic: h.text('x-original-topic'),
      partition: h.number('x-original-partition', 4),
      offset: h.int('x-original-offset', 8),
      group: null,
    },
    reason: null,
    error: errorInfo({class: h.text('x-exception-fqcn'), message: h.text('x-exception-message'), stacktrace: h.text('x-exception-stacktrace')}),
    retries: null,
    deadLetteredAt: null,
    originalTimestamp: h.number('x-original-timestamp', 8),
  }),
}
