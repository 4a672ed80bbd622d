import {utf8OrNull} from '../bytes.js'
import {errorInfo} from './error-info.js'
import type {HeaderConvention} from './types.js'
import type {HeaderView} from './header-view.js'

/** failure-strategy=dead-letter-queue. */
const P = 'dead-letter-'
/** failure-strategy=delayed-retry-topic: its retry topics AND its dead-letter topic carry this family instead. */
const R = 'delayed-retry-'
/**
 * Added by the connector's deserializer wrapper when a key or value fails to deserialize
 * (fail-on-deserialization-failure=false) and kept on the DLQ record after the user headers; the DLQ
 * strategy removes only `deserialization-failure-dlq`. `-data`/`-key-data`/`-value-data` repeat the bytes.
 */
const D = 'deserialization-failure-'

/**
 * The newest failure's block of one family: SmallRye writes its headers first and appends the failed
 * record's own headers after them, so a record that failed again (each delayed-retry hop) carries the
 * earlier blocks after the new one, newest first, and the root source's block last.
 */
function newestBlock(h: HeaderView, family: string): Map<string, string | null> {
  const block = new Map<string, string | null>()
  for (const x of h.headers) {
    if (!x.key.startsWith(family)) {
      if (block.size > 0) break
      continue
    }
    if (block.has(x.key)) break
    block.set(x.key, x.value === null ? null : utf8OrNull(x.value))
  }
  return block
}

/**
 * SmallRye writes `throwable.getMessage()`, or `throwable.toString()` when that is null — which for a
 * message-less exception is its class name alone: that is no message.
 */
const messageOf = (text: string | null | undefined, cls: string | null | undefined) => (text === undefined || text === cls ? null : text)

/**
 * SmallRye Reactive Messaging (Quarkus) Kafka failure strategies, as captured from
 * smallrye-reactive-messaging-kafka 4.33.0 (fixtures/captured/smallrye/FINDINGS.md): dead-letter-queue
 * (`dead-letter-*`) and delayed-retry-topic (`delayed-retry-*`, on its retry topics and its DLQ). The record
 * is produced anew at the failure (its time is the dead-letter time); no group is written, and only the
 * delayed-retry family counts attempts and keeps the source's time.
 */
export const smallrye: HeaderConvention = {
  name: 'smallrye',
  reserved: {prefixes: [P, R, D]},
  numeric: [`${P}partition`, `${P}offset`, `${R}partition`, `${R}offset`, `${R}count`, `${R}original-timestamp`, `${R}first-processing-timestamp`],
  recordTime: 'failure',
  detect: (h) => h.hasPrefix(P) || h.hasPrefix(R),
  decode: (h) => {
    // The family whose block comes first is the newest failure's.
    const f = h.headers.find((x) => x.key.startsWith(P) || x.key.startsWith(R))!.key.startsWith(P) ? P : R
    const b = newestBlock(h, f)
    // A deserialization failure the connector routed: the strategy names the RecordDeserializationException it
    // made from the deserializer's message; the deserializer's cause survives as a message only.
    const deser = h.has(`${D}deserializer`)
    const keyFailed = deser && h.text(`${D}key`) === 'true'
    const causeClass = b.get(`${f}cause-class-name`)
    const error = errorInfo({
      class: b.get(`${f}exception-class-name`),
      message: messageOf(b.get(`${f}reason`), b.get(`${f}exception-class-name`)),
      causeClass,
      causeMessage: b.has(`${f}cause`) ? messageOf(b.get(`${f}cause`), causeClass) : deser ? h.text(`${D}cause`) : null,
      stage: deser ? (keyFailed ? 'key' : 'value') : null,
    })
    // When only the key failed, SmallRye's DLQ serializer writes deserialization-failure-data — the key
    // bytes — as the value too: the source value is in no part of the record.
    const valueIsKey = keyFailed && !h.has(`${D}value-data`) && h.has(`${D}data`)
    // delayed-retry-count is 0 at the first failure: attempts made = count + 1.
    const count = f === R ? h.number(`${R}count`, undefined, 'last') : null
    return {
      // The last block names the root source (the first record that failed).
      source: {topic: h.lastText(`${f}topic`), partition: h.number(`${f}partition`, undefined, 'last'), offset: h.int(`${f}offset`, undefined, 'last'), group: null},
      reason: null,
      error,
      retries: count === null || !Number.isSafeInteger(count) || count < 0 ? null : count + 1,
      deadLetteredAt: null,
      originalTimestamp: f === R ? h.number(`${R}original-timestamp`) : null,
      ...(valueIsKey && {
        notOriginal: 'the value is not the source\'s: when only the key failed to deserialize, SmallRye wrote the key bytes (deserialization-failure-data) as the value; the source value is in no part of this record',
      }),
    }
  },
}
