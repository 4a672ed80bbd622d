import type {ConventionName} from '../record.js'

/**
 * Where a keyed message lands when the original partition is not recorded: the partitioner of
 * the client that produced the original, so a replayed message joins its key's other messages.
 * - murmur2: the Java client (Spring, Connect, Streams, SmallRye): `toPositive(murmur2(key)) % n`.
 * - crc32: librdkafka's default `consistent_random` (confluent-kafka/Arroyo, rdkafka-ruby/Karafka,
 *   rust-rdkafka/hyperi-rustlib): `crc32(key) % n`; an empty or null key is random.
 * - fnv1a: sarama's default hash partitioner (Watermill's Kafka publisher): FNV-1a 32-bit as a
 *   signed int32, `% n`, negated when negative.
 */
export type PartitionerName = 'murmur2' | 'crc32' | 'fnv1a'
export const PARTITIONERS: PartitionerName[] = ['murmur2', 'crc32', 'fnv1a']

/** The partitioner of the client each convention's writers use (the original producer's, as far as it is known). */
export function defaultPartitioner(convention: ConventionName): PartitionerName {
  switch (convention) {
    case 'arroyo':
    case 'hyperi':
    case 'karafka':
      return 'crc32'
    case 'watermill':
      return 'fnv1a'
    default:
      return 'murmur2'
  }
}

/** The partition for a key, or null when the partitioner spreads such keys at random (the store then chooses). */
export function partitionFor(name: PartitionerName, key: Uint8Array | null, numPartitions: number): number | null {
  if (key === null || numPartitions <= 0) return null
  switch (name) {
    case 'murmur2':
      return (murmur2(key) & 0x7fffffff) % numPartitions
    case 'crc32':
      return key.length === 0 ? null : crc32(key) % numPartitions
    case 'fnv1a': {
      const p = ((fnv1a32(key) | 0) % numPartitions) | 0
      return p < 0 ? -p : p
    }
  }
}

const SEED = 0x9747b28c
const M = 0x5bd1e995

/** Kafka's `Utils.murmur2`: a signed 32-bit result, exactly as Java returns it. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const whole = length & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M)
    h ^= k
  }
  const rest = length & 3
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2] << 16
    if (rest >= 2) h ^= data[whole + 1] << 8
    h ^= data[whole]
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

let CRC_TABLE: Uint32Array | null = null

/** CRC-32 (IEEE 802.3, as zlib and librdkafka's rd_crc32), unsigned. */
export function crc32(data: Uint8Array): number {
  if (CRC_TABLE === null) {
    CRC_TABLE = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      CRC_TABLE[n] = c >>> 0
    }
  }
  let crc = 0xffffffff
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** FNV-1a 32-bit (Go's hash/fnv New32a), unsigned. */
export function fnv1a32(data: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i], 0x01000193) >>> 0
  return h >>> 0
}
