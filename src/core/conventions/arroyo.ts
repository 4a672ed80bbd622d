import type {HeaderConvention} from './types.js'

/**
 * Sentry Arroyo: only partition and offset, no topic. rust-arroyo has a known bug where
 * `original_partition` carries the offset; when the two are equal and non-zero the partition
 * cannot be trusted, so it is reported unknown rather than guessed.
 */
export const arroyo: HeaderConvention = {
  name: 'arroyo',
  reserved: {names: ['original_partition', 'original_offset']},
  numeric: ['original_partition', 'original_offset'],
  detect: (h) => h.has('original_partition') && h.has('original_offset') && !h.has('original_topic'),
  decode: (h) => {
    const partition = h.number('original_partition')
    const offset = h.number('original_offset')
    const suspect = partition !== null && partition === offset && partition !== 0
    return {
      source: {topic: null, partition: suspect ? null : partition, offset, group: null},
      reason: null,
      retries: null,
      deadLetteredAt: null,
      ...(suspect ? {notes: {'dlq.warning': 'original_partition equals original_offset (rust-arroyo bug): partition unknown'}} : {}),
    }
  },
}
