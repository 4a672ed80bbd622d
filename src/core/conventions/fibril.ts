import type {HeaderConvention} from './types.js'

const P = 'stroma.dlq.'

/** Fibril: `stroma.dlq.*` text headers. No partition is recorded. `fibril.` and `stroma.` are reserved. */
export const fibril: HeaderConvention = {
  name: 'fibril',
  reserved: {prefixes: ['stroma.', 'fibril.']},
  numeric: [`${P}source_offset`, `${P}retry_count`, `${P}dead_lettered_at_ms`],
  recordTime: 'unknown',
  detect: (h) => h.hasPrefix(P),
  decode: (h) => ({
    source: {topic: h.text(`${P}source_topic`), partition: null, offset: h.int(`${P}source_offset`), group: h.text(`${P}source_group`)},
    reason: h.text(`${P}reason`),
    retries: h.number(`${P}retry_count`),
    deadLetteredAt: h.number(`${P}dead_lettered_at_ms`),
  }),
}
