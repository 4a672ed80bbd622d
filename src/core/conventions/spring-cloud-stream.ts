import type {HeaderConvention} from './types.js'

/** Spring Cloud Stream Kafka binder: `x-original-*` (binary numbers) and `x-exception-*`. */
export const springCloudStream: HeaderConvention = {
  name: 'spring-cloud-stream',
  reserved: {prefixes: ['x-original-', 'x-exception-']},
  numeric: ['x-original-partition', 'x-original-offset', 'x-original-timestamp'],
  detect: (h) => h.hasPrefix('x-original-') || h.has('x-exception-fqcn'),
  decode: (h) => ({
    source: {
      topic: h.text('x-original-topic'),
      partition: h.number('x-original-partition'),
      offset: h.number('x-original-offset'),
      group: null,
    },
    reason: h.text('x-exception-fqcn'),
    retries: null,
    deadLetteredAt: null,
  }),
}
