import {errorInfo} from './error-info.js'
import type {HeaderConvention} from './types.js'

/**
 * Watermill's PoisonQueue middleware. It re-publishes the failed message with four metadata keys;
 * `reason_poisoned` is `err.Error()` of the handler's last error (after any Retry middleware), so
 * the error has a message and no class. The poison record is a new publish (Kafka CreateTime, Redis
 * entry id), so its time is the failure time. No attempt count, source partition, offset or group
 * is written (`subscriber_poisoned` is the subscriber's Go type name). See fixtures/captured/watermill.
 */
export const watermill: HeaderConvention = {
  name: 'watermill',
  reserved: {names: ['reason_poisoned', 'topic_poisoned', 'handler_poisoned', 'subscriber_poisoned']},
  numeric: [],
  recordTime: 'failure',
  detect: (h) => h.has('reason_poisoned'),
  decode: (h) => ({
    source: {topic: h.text('topic_poisoned'), partition: null, offset: null, group: null},
    reason: h.text('reason_poisoned'),
    error: errorInfo({message: h.text('reason_poisoned')}),
    retries: null,
    deadLetteredAt: null,
  }),
}
