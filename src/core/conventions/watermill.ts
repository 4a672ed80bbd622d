import type {HeaderConvention} from './types.js'

/** Watermill poison queue middleware. */
export const watermill: HeaderConvention = {
  name: 'watermill',
  reserved: {names: ['reason_poisoned', 'topic_poisoned', 'handler_poisoned', 'subscriber_poisoned']},
  numeric: [],
  recordTime: 'unknown',
  detect: (h) => h.has('reason_poisoned'),
  decode: (h) => ({
    source: {topic: h.text('topic_poisoned'), partition: null, offset: null, group: null},
    reason: h.text('reason_poisoned'),
    retries: null,
    deadLetteredAt: null,
  }),
}
