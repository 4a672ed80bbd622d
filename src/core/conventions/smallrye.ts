import {errorInfo} from './error-info.js'
import type {HeaderConvention} from './types.js'

const P = 'dead-letter-'

/** SmallRye Reactive Messaging (Quarkus) Kafka dead-letter-queue strategy. */
export const smallrye: HeaderConvention = {
  name: 'smallrye',
  reserved: {prefixes: [P]},
  numeric: [`${P}partition`, `${P}offset`],
  recordTime: 'failure',
  detect: (h) => h.hasPrefix(P),
  decode: (h) => ({
    source: {topic: h.text(`${P}topic`), partition: h.number(`${P}partition`), offset: h.int(`${P}offset`), group: null},
    reason: null,
    error: errorInfo({
      class: h.text(`${P}exception-class-name`),
      message: h.text(`${P}reason`),
      causeClass: h.text(`${P}cause-class-name`),
      causeMessage: h.text(`${P}cause`),
    }),
    retries: null,
    deadLetteredAt: null,
  }),
}
