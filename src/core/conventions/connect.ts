import type {HeaderConvention} from './types.js'

const P = '__connect.errors.'

/** Kafka Connect sink DLQ with `errors.deadletterqueue.context.headers.enable=true`. */
export const connect: HeaderConvention = {
  name: 'connect',
  reserved: {prefixes: [P]},
  numeric: [`${P}partition`, `${P}offset`, `${P}task.id`],
  detect: (h) => h.hasPrefix(P),
  decode: (h) => ({
    source: {topic: h.text(`${P}topic`), partition: h.number(`${P}partition`), offset: h.number(`${P}offset`), group: null},
    reason: h.text(`${P}exception.class.name`),
    retries: null,
    deadLetteredAt: null,
  }),
}
