import {errorInfo, reasonOf} from './error-info.js'
import type {HeaderConvention} from './types.js'

/**
 * The binder's x-exception-message (KafkaMessageChannelBinder.buildMessage): the message of the
 * MessageHandlingException around the handler's exception, `; ` and the handler's own message (nothing
 * after `; ` when it had none). Non-greedy: a handler bean's toString holds no `]; `, a handler's message may.
 */
const WRAPPER = /^error occurred in message handler \[[\s\S]*?\]; ([\s\S]*)$/

/**
 * What Spring Integration and the binder's retries wrap the handler's exception in: x-exception-fqcn is one of
 * them, and so is Spring Kafka's cause header when a recoverer in the binding's container dead-letters (spring.ts).
 */
export const INTEGRATION_WRAPPERS = new Set([
  'org.springframework.messaging.MessagingException',
  'org.springframework.messaging.MessageHandlingException',
  'org.springframework.core.retry.RetryException',
])

/** A `Caused by:` of the exception's own chain: indented ones belong to a `Suppressed:` earlier attempt. */
const OWN_CAUSED_BY = /^Caused by: ([\w$.]+)(?::\s?(.*))?$/

/** The handler's exception: the first of the stack trace's own causes that is not a wrapper. */
export function handlerException(stacktrace: string | null): {class: string; message: string | null} | null {
  if (!stacktrace) return null
  for (const line of stacktrace.split(/\r?\n/)) {
    const m = OWN_CAUSED_BY.exec(line)
    if (m && !INTEGRATION_WRAPPERS.has(m[1])) return {class: m[1], message: m[2] === undefined || m[2] === '' ? null : m[2]}
  }
  return null
}

const RETRY_EXCEPTION = 'Caused by: org.springframework.core.retry.RetryException:'

/**
 * Attempts made, when the binder's RetryTemplate (maxAttempts > 1) gave up: Spring's RetryException carries
 * every attempt's exception but the last as a suppressed one, printed as `\tSuppressed:` right under it.
 * Without a RetryException in the trace the count is unknown (maxAttempts 1 writes none, older binders
 * retried with Spring Retry), so null.
 */
function attemptsOf(stacktrace: string | null): number | null {
  if (!stacktrace) return null
  const lines = stacktrace.split(/\r?\n/)
  const at = lines.findIndex((l) => l.startsWith(RETRY_EXCEPTION))
  if (at < 0) return null
  let suppressed = 0
  for (const line of lines.slice(at + 1)) {
    if (line.startsWith('Caused by: ')) break
    if (line.startsWith('\tSuppressed: ')) suppressed++
  }
  return suppressed + 1
}

/**
 * No header names the consumer group: only the binder's default DLQ name `error.<topic>.<group>` does (a
 * second hop's default name is error.<first DLQ>.<group>, which does not start with the root topic's).
 */
function groupOfDefaultName(dlqTopic: string | null | undefined, topic: string | null): string | null {
  if (!dlqTopic || topic === null) return null
  const prefix = `error.${topic}.`
  return dlqTopic.startsWith(prefix) && dlqTopic.length > prefix.length ? dlqTopic.slice(prefix.length) : null
}

/**
 * Spring Cloud Stream Kafka binder (enableDlq): `x-original-*` (partition i32be, offset and timestamp
 * i64be, timestamp-type as text) and `x-exception-*`, appended after the source's own headers. A record
 * dead-lettered again carries a second set after the first: the first x-original-* set is the root
 * source (where replay sends it), the last x-exception-* set is the latest failure.
 */
export const springCloudStream: HeaderConvention = {
  name: 'spring-cloud-stream',
  reserved: {prefixes: ['x-original-', 'x-exception-']},
  numeric: ['x-original-partition', 'x-original-offset', 'x-original-timestamp'],
  recordTime: 'failure',
  detect: (h) => h.hasPrefix('x-original-') || h.has('x-exception-fqcn'),
  decode: (h, raw) => {
    const message = h.lastText('x-exception-message')
    const stacktrace = h.lastText('x-exception-stacktrace')
    const wrapped = message === null ? null : WRAPPER.exec(message)
    const handler = handlerException(stacktrace)
    // x-exception-fqcn is always a wrapper; the handler's exception is its cause. Its message comes whole from
    // x-exception-message (a stack trace line holds only a message's first line).
    const error = errorInfo({
      class: h.lastText('x-exception-fqcn'),
      message,
      causeClass: handler?.class ?? null,
      causeMessage: wrapped ? wrapped[1] || null : (handler?.message ?? null),
      stacktrace,
    })
    const topic = h.text('x-original-topic')
    return {
      source: {
        topic,
        partition: h.number('x-original-partition', 4),
        offset: h.int('x-original-offset', 8),
        group: groupOfDefaultName(raw.dlqTopic, topic),
      },
      // The wrapper's boilerplate (with a bean's identity hash) says nothing; a message-less cause reads as its class.
      reason: wrapped && error ? reasonOf({...error, message: null}) : null,
      error,
      retries: attemptsOf(stacktrace),
      deadLetteredAt: null,
      originalTimestamp: h.number('x-original-timestamp', 8),
    }
  },
}
