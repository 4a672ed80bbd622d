import type {HeaderConvention} from './types.js'

const P = 'dead-letter-'

/** SmallRye Reactive Messaging (Quarkus) Kafka dead-letter-queue strategy. */
export const smallrye: HeaderConvention = {
  name: 'smallrye',
  reserved: {prefixes: [P]},
  numeric: [`${P}partition`, `${P}offset`],
  detect: (h) => h.hasPrefix(P),
  decode: (h) => ({
    source: {topic: h.text(`${P}topic`), partition: h.number(`${P}partition`), offset: h.number(`${P}offset`), group: null},
    reason: h.textOf(`${P}exception-class-name`, `${P}reason`),
    retries: null,
    deadLetteredAt: null,
  }),
}
