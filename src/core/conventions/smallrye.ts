import {errorInfo} from './error-info.js'
import type {HeaderConvention} from './types.js'
import type {HeaderView} from './header-view.js'

const P = 'dead-letter-'
/**
 * Added by the connector's deserializer wrapper when a key or value fails to deserialize
 * (fail-on-deserialization-failure=false) and kept on the DLQ record after the user headers; the DLQ
 * strategy removes only `deserialization-failure-dlq`. `-data`/`-key-data`/`-value-data` repeat the bytes.
 */
const D = 'deserialization-failure-'

/**
 * SmallRye writes `throwable.getMessage()`, or `throwable.toString()` when that is null — which for a
 * message-less exception is its class name alone: that is no message.
 */
function message(h: HeaderView, text: string, cls: string): string | null {
  const m = h.text(text)
  return m !== null && m === h.text(cls) ? null : m
}

/**
 * SmallRye Reactive Messaging (Quarkus) Kafka dead-letter-queue strategy, as captured from
 * smallrye-reactive-messaging-kafka 4.33.0 (fixtures/captured/smallrye/FINDINGS.md). The record is produced
 * anew at the failure (its time is the dead-letter time); no group, attempt count or source time is written.
 */
export const smallrye: HeaderConvention = {
  name: 'smallrye',
  reserved: {prefixes: [P, D]},
  numeric: [`${P}partition`, `${P}offset`],
  recordTime: 'failure',
  detect: (h) => h.hasPrefix(P),
  decode: (h) => {
    // A deserialization failure the connector routed: dead-letter-* name the RecordDeserializationException
    // it made from the deserializer's message; the deserializer's cause survives as a message only.
    const deser = h.has(`${D}deserializer`)
    const keyFailed = deser && h.text(`${D}key`) === 'true'
    const error = errorInfo({
      class: h.text(`${P}exception-class-name`),
      message: message(h, `${P}reason`, `${P}exception-class-name`),
      causeClass: h.text(`${P}cause-class-name`),
      causeMessage: h.has(`${P}cause-class-name`) ? message(h, `${P}cause`, `${P}cause-class-name`) : deser ? h.text(`${D}cause`) : null,
      stage: deser ? (keyFailed ? 'key' : 'value') : null,
    })
    // When only the key failed, SmallRye's DLQ serializer writes deserialization-failure-data — the key
    // bytes — as the value too: the source value is in no part of the record.
    const valueIsKey = keyFailed && !h.has(`${D}value-data`) && h.has(`${D}data`)
    return {
      source: {topic: h.text(`${P}topic`), partition: h.number(`${P}partition`), offset: h.int(`${P}offset`), group: null},
      reason: null,
      error,
      retries: null,
      deadLetteredAt: null,
      ...(valueIsKey && {
        notes: {'dlq.note': 'the value is the key bytes: SmallRye wrote deserialization-failure-data as the value when the key failed to deserialize; the source value is not in this record'},
      }),
    }
  },
}
