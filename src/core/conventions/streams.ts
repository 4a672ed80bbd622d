import {errorInfo} from './error-info.js'
import type {HeaderConvention} from './types.js'

const P = '__streams.errors.'

/** Kafka Streams (KIP-1034) dead-letter records. */
export const streams: HeaderConvention = {
  name: 'streams',
  reserved: {prefixes: [P]},
  numeric: [`${P}partition`, `${P}offset`],
  recordTime: 'unknown',
  detect: (h) => h.hasPrefix(P),
  decode: (h) => ({
    source: {topic: h.text(`${P}topic`), partition: h.number(`${P}partition`), offset: h.int(`${P}offset`), group: null},
    reason: null,
    error: errorInfo({class: h.text(`${P}exception`), message: h.text(`${P}message`), stacktrace: h.text(`${P}stacktrace`)}),
    retries: null,
    deadLetteredAt: null,
  }),
}
