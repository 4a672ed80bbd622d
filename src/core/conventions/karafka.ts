import type {HeaderConvention} from './types.js'

const V25 = ['source_topic', 'source_partition', 'source_offset', 'source_consumer_group', 'source_attempts', 'source_trace_id']
const V20 = ['original_topic', 'original_partition', 'original_offset', 'original_consumer_group', 'original_attempts', 'original_key']
const V10 = ['original-topic', 'original-partition', 'original-offset']

/** Karafka Pro ≥ 2.5: `source_*` headers; the original key is the record key. */
export const karafka25: HeaderConvention = {
  name: 'karafka',
  reserved: {names: V25},
  numeric: ['source_partition', 'source_offset', 'source_attempts'],
  recordTime: 'unknown',
  detect: (h) => h.has('source_attempts') || h.has('source_trace_id'),
  decode: (h) => ({
    source: {
      topic: h.text('source_topic'),
      partition: h.number('source_partition'),
      offset: h.int('source_offset'),
      group: h.text('source_consumer_group'),
    },
    reason: null,
    retries: h.number('source_attempts'),
    deadLetteredAt: null,
  }),
}

/**
 * Karafka Pro before 2.5: `original_*` (2.0.17–2.4.x) or `original-*` (≤ 2.0.16). From 2.4.4
 * the original key travels in `original_key`, because the DLQ record key routes by partition.
 */
export const karafkaLegacy: HeaderConvention = {
  name: 'karafka',
  reserved: {names: [...V20, ...V10]},
  numeric: ['original_partition', 'original_offset', 'original_attempts', 'original-partition', 'original-offset'],
  recordTime: 'unknown',
  detect: (h) => h.has('original_topic') || h.has('original-topic'),
  decode: (h) => ({
    source: {
      topic: h.textOf('original_topic', 'original-topic'),
      partition: h.numberOf('original_partition', 'original-partition'),
      offset: h.intOf('original_offset', 'original-offset'),
      group: h.text('original_consumer_group'),
    },
    reason: null,
    retries: h.number('original_attempts'),
    deadLetteredAt: null,
    ...(h.has('original_key') ? {key: h.first('original_key')} : {}),
  }),
}
