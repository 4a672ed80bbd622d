import type {HeaderConvention} from './types.js'

export const ARROYO_DOUBT = 'partition equals offset: rust-arroyo writes the offset as the partition, so the partition may be wrong'

/**
 * Sentry Arroyo: only partition and offset, no topic. Python Arroyo writes the true partition;
 * rust-arroyo has a known bug where `original_partition` carries the offset. Equal values are
 * therefore ambiguous, not proof of the bug: the recorded partition is kept (Python Arroyo is
 * the common writer) and marked doubtful, so tables, stats and the replay plan show the doubt.
 * 0@0 is no exception: rust-arroyo writes 0 as the partition of every offset-0 record, whatever
 * its partition (fixtures/captured/arroyo has a Python 0@0, 1@1 and 2@2, all true).
 */
export const arroyo: HeaderConvention = {
  name: 'arroyo',
  reserved: {names: ['original_partition', 'original_offset']},
  numeric: ['original_partition', 'original_offset'],
  recordTime: 'failure',
  detect: (h) => h.has('original_partition') && h.has('original_offset') && !h.has('original_topic'),
  decode: (h) => {
    const partition = h.number('original_partition')
    const offset = h.int('original_offset')
    const suspect = partition !== null && offset !== null && partition == offset
    return {
      source: {topic: null, partition, offset, group: null, ...(suspect ? {doubt: ARROYO_DOUBT} : {})},
      reason: null,
      retries: null,
      deadLetteredAt: null,
    }
  },
}
