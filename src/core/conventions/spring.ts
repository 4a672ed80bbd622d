import {errorInfo, reasonOf} from './error-info.js'
import {handlerException, INTEGRATION_WRAPPERS} from './spring-cloud-stream.js'
import type {HeaderConvention} from './types.js'

const DLT = 'kafka_dlt-'
/** Non-blocking retries (retry topics and their DLT) write this family instead (conventions.md §5). */
const NB = 'kafka_'
/**
 * Spring's wrapper messages (`ListenerExecutionFailedException`): boilerplate, then `; ` and the
 * message of the listener's own exception (the cause-fqcn class), empty when it had none. Non-greedy:
 * a method signature holds no `' threw exception`, a listener's message may.
 */
const WRAPPER = /^(?:Listener method '[\s\S]*?' threw exception|Listener failed)(?:; ([\s\S]*))?$/

/**
 * Spring Kafka DeadLetterPublishingRecoverer. Partition and offset are binary (i32be, i64be).
 * A record dead-lettered twice carries `original-*` more than once: the first occurrence is
 * the root source, which is where replay sends it (the last is only the previous DLT hop).
 */
export const spring: HeaderConvention = {
  name: 'spring',
  reserved: {prefixes: [DLT, `${NB}original-`, `${NB}exception-`, 'retry_topic-']},
  numeric: [
    `${DLT}original-partition`,
    `${DLT}original-offset`,
    `${DLT}original-timestamp`,
    `${NB}original-partition`,
    `${NB}original-offset`,
    `${NB}original-timestamp`,
    'retry_topic-attempts',
    'retry_topic-original-timestamp',
    'retry_topic-backoff-timestamp',
  ],
  recordTime: 'failure',
  detect: (h) => h.hasPrefix(DLT) || h.hasPrefix(`${NB}original-`) || h.hasPrefix(`${NB}exception-`),
  decode: (h) => {
    const o = h.has(`${DLT}original-topic`) || !h.has(`${NB}original-topic`) ? `${DLT}original-` : `${NB}original-`
    const keyFailed = !h.has(`${DLT}exception-fqcn`) && !h.has(`${NB}exception-fqcn`) && h.has(`${DLT}key-exception-fqcn`)
    const e = keyFailed ? `${DLT}key-exception-` : h.has(`${DLT}exception-fqcn`) ? `${DLT}exception-` : `${NB}exception-`
    const cls = h.text(`${e}fqcn`)
    const message = h.text(`${e}message`)
    const wrapped = message === null ? null : WRAPPER.exec(message)
    // A DeserializationException names itself as its cause; the parser error under it is only in the
    // stack trace, which errorInfo reads when no cause is given.
    const causeClass = keyFailed ? null : h.text(`${e}cause-fqcn`)
    const stacktrace = h.text(`${e}stacktrace`)
    // A Spring Cloud Stream binding whose container has this recoverer: the direct cause is Spring Integration's
    // MessageHandlingException ("error occurred in message handler [...]"); the handler's exception is under it.
    const handler = causeClass !== null && INTEGRATION_WRAPPERS.has(causeClass) ? handlerException(stacktrace) : null
    const error = errorInfo({
      class: cls,
      message,
      causeClass: handler ? handler.class : causeClass === cls ? null : causeClass,
      causeMessage: handler ? handler.message : wrapped?.[1] || null,
      stacktrace,
      stage: keyFailed ? 'key' : null,
    })
    // retry_topic-attempts is the number of the NEXT attempt (2 after the first failure, also when a
    // non-retryable exception goes straight to the DLT); one per hop, Spring reads the last.
    const next = h.number('retry_topic-attempts', [4, 1], 'last')
    return {
      source: {
        topic: h.text(`${o}topic`),
        partition: h.number(`${o}partition`, 4),
        offset: h.int(`${o}offset`, 8),
        group: h.textOf(`${DLT}original-consumer-group`, `${NB}original-consumer-group`),
      },
      // The wrapper's boilerplate says nothing; without it a message-less cause reads as its class alone.
      reason: wrapped && error ? reasonOf({...error, message: null}) : null,
      error,
      retries: next === null ? null : Math.max(next - 1, 0),
      deadLetteredAt: null,
      originalTimestamp: h.number(`${o}timestamp`, 8),
    }
  },
}
