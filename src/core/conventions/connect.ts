import {errorInfo} from './error-info.js'
import type {HeaderConvention} from './types.js'

const P = '__connect.errors.'

/** Kafka Connect sink DLQ with `errors.deadletterqueue.context.headers.enable=true`. */
export const connect: HeaderConvention = {
  name: 'connect',
  reserved: {prefixes: [P]},
  numeric: [`${P}partition`, `${P}offset`, `${P}task.id`],
  // Connect copies the failed record's timestamp onto the DLQ record.
  recordTime: 'original',
  detect: (h) => h.hasPrefix(P),
  decode: (h) => {
    const connector = h.text(`${P}connector.name`)
    return {
      // A sink connector consumes as the group `connect-<name>`.
      source: {topic: h.text(`${P}topic`), partition: h.number(`${P}partition`), offset: h.int(`${P}offset`), group: connector === null ? null : `connect-${connector}`},
      reason: null,
      error: errorInfo({
        class: h.text(`${P}exception.class.name`),
        message: h.text(`${P}exception.message`),
        stacktrace: h.text(`${P}exception.stacktrace`),
        stage: h.text(`${P}stage`),
      }),
      retries: null,
      deadLetteredAt: null,
    }
  },
}
