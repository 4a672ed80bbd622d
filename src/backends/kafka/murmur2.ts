/**
 * The Java client's key partitioner, so a replayed keyed message lands in the partition its
 * original producer chose: `Utils.toPositive(Utils.murmur2(key)) % numPartitions`
 * (org.apache.kafka.clients.producer.internals.BuiltInPartitioner.partitionForKey).
 *
 * @platformatic/kafka's default partitioner uses `murmur2(key) >>> 0` instead of
 * `toPositive` (`& 0x7fffffff`), which sends every key with a negative hash elsewhere, so
 * dlq computes the partition itself and always produces with an explicit one. The hash lives
 * with the other producers' partitioners in core/replay/partitioners.ts.
 */
import {murmur2} from '../../core/replay/partitioners.js'

export {murmur2}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions
}
