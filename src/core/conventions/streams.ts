import type {HeaderConvention} from './types.js'

const P = '__streams.errors.'

/** Kafka Streams (KIP-1034) dead-letter records. */
export const streams: HeaderConvention = {
  name: 'streams',
  reserved: {prefixes: [P]},
  numeric: [`${P}partition`, `${P}offset`],
  detect: (h) => h.hasPrefix(P),
  decode: (h) => ({
    source: {topic: h.text(`${P}topic`), partition: h.number(`${P}partition`), offset: h.number(`${P}offset`), group: null},
    reason: h.text(`${P}exception`),
    retries: null,
    deadLetteredAt: null,
  }),
}
