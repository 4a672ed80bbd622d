import {describe, expect, it} from 'vitest'
import {crc32, defaultPartitioner, fnv1a32, partitionFor} from '../../src/core/replay/partitioners.js'

describe('the original producers\' partitioners', () => {
  it('crc32 and fnv1a match their reference check values', () => {
    expect(crc32(Buffer.from('123456789')).toString(16)).toBe('cbf43926')
    expect(fnv1a32(Buffer.from('')).toString(16)).toBe('811c9dc5')
    expect(fnv1a32(Buffer.from('a')).toString(16)).toBe('e40c292c')
    expect(fnv1a32(Buffer.from('foobar')).toString(16)).toBe('bf9cf968')
  })

  it("crc32 puts keys where librdkafka's consistent_random put them", () => {
    // Observed with confluent-kafka 2.16.1 (librdkafka 2.16.0), default partitioner, a 7-partition topic.
    const observed: Record<string, number> = {a: 4, '0': 4, k2: 4, 'user-8': 5, acme: 6, 'key-with-high-hash-1': 6, 'order-17': 0, ümlaut: 0, ['x'.repeat(40)]: 2, k3: 3}
    for (const [key, p] of Object.entries(observed)) expect(partitionFor('crc32', Buffer.from(key), 7), key).toBe(p)
  })

  it('librdkafka spreads empty keys at random, so the store chooses; a null key always does', () => {
    expect(partitionFor('crc32', Buffer.alloc(0), 3)).toBeNull()
    expect(partitionFor('murmur2', null, 3)).toBeNull()
  })

  it("fnv1a puts keys where sarama's hash partitioner put them", () => {
    // Observed with github.com/IBM/sarama v1.61.1, NewHashPartitioner, 5 partitions.
    const observed: Record<string, number> = {acme: 0, 'order-17': 4, x: 1, ümlaut: 1, 'zz-top': 4, 'user-8': 4, a: 1, '0': 3, k2: 4, k3: 0}
    for (const [key, p] of Object.entries(observed)) expect(partitionFor('fnv1a', Buffer.from(key), 5), key).toBe(p)
  })

  it('chooses per convention: librdkafka writers crc32, Watermill fnv1a, Java clients murmur2', () => {
    expect(['arroyo', 'hyperi', 'karafka', 'watermill', 'spring', 'connect', 'unknown'].map((c) => defaultPartitioner(c as never))).toEqual([
      'crc32',
      'crc32',
      'crc32',
      'fnv1a',
      'murmur2',
      'murmur2',
      'murmur2',
    ])
  })
})

describe('whose claim is it', () => {
  it("a fresh claim of a live replay is in progress; a dead process's or an old claim is a crash's doubt", async () => {
    const {mayStillBeSending, LIVE_CLAIM_MS} = await import('../../src/core/replay/execute.js')
    const {hostname} = await import('node:os')
    const now = Date.now()
    const at = new Date(now - 1000).toISOString()
    expect(mayStillBeSending({runId: `${hostname()}/${process.pid}/x`, at}, 'mine', now)).toBe(true)
    expect(mayStillBeSending({runId: `other-host/1/x`, at}, 'mine', now)).toBe(true)
    // A pid that cannot exist: that process is gone.
    expect(mayStillBeSending({runId: `${hostname()}/4194304999/x`, at}, 'mine', now)).toBe(false)
    expect(mayStillBeSending({runId: 'other-host/1/x', at: new Date(now - LIVE_CLAIM_MS - 1).toISOString()}, 'mine', now)).toBe(false)
    expect(mayStillBeSending({runId: 'mine', at}, 'mine', now)).toBe(false)
  })
})
