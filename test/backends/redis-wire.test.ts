import {Command, Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {encodeCommand, encodedCommand} from '../../src/backends/redis/wire.js'
import {needService, uniqueName} from '../helpers/services.js'

/** What ioredis itself writes for the same arguments: the reference our encoder must match byte for byte. */
function ioredisBytes(args: Array<string | Buffer>): Buffer {
  const c = new Command(args[0] as string, args.slice(1))
  const w = c.toWritable(undefined as never)
  return Buffer.isBuffer(w) ? w : Buffer.from(w, 'utf8')
}

describe('encodeCommand', () => {
  it('writes the bytes ioredis writes, for text, bytes, empty, non-ASCII and long arguments', () => {
    const cases: Array<Array<string | Buffer>> = [
      ['PING'],
      ['XADD', Buffer.from('s'), '*', 'payload', Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x1b])],
      ['EVAL', 'return 1', '0', '', Buffer.alloc(0)],
      ['SET', 'k\u00e9y', 'v\u{1f600}', 'caf\u00e9'.repeat(20), 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(33)],
      // A lone surrogate is written as U+FFFD's three bytes by both.
      ['SET', 'a\ud800b', '\udc00'],
      ['XADD', 'y'.repeat(100_000), ...Array.from({length: 12}, (_, i) => String(i * 987_654))],
    ]
    for (const args of cases) expect(encodeCommand(args).equals(ioredisBytes(args))).toBe(true)
  })

  it('counts arguments and lengths past one digit', () => {
    const args = ['DEL', ...Array.from({length: 123}, (_, i) => `key-${i}`)]
    const wire = encodeCommand(args).toString('latin1')
    expect(wire.startsWith('*124\r\n$3\r\nDEL\r\n$5\r\nkey-0\r\n')).toBe(true)
    expect(wire.endsWith('$7\r\nkey-122\r\n')).toBe(true)
  })
})

const svc = await needService('redis')

describe.skipIf(!svc.available)('encodedCommand against Redis', () => {
  let redis: Redis
  const key = uniqueName('dlq-test-wire')
  beforeAll(() => {
    redis = new Redis(svc.address, {maxRetriesPerRequest: 1})
  })
  afterAll(async () => {
    await redis.del(key)
    await redis.quit()
  })

  it('is answered in order with the commands around it, errors included', async () => {
    const before = redis.set(key, 'a')
    const eval1 = redis.sendCommand(encodedCommand(Command, 'eval', encodeCommand(['EVAL', "return {redis.call('GET', KEYS[1]), ARGV[1]}", '1', key, Buffer.from('\u00e9')])))
    const wrong = redis.sendCommand(encodedCommand(Command, 'eval', encodeCommand(['EVAL', "return redis.call('LPUSH', KEYS[1], 'x')", '1', key])))
    const after = redis.get(key)
    expect(await before).toBe('OK')
    expect(await eval1).toEqual(['a', '\u00e9'])
    await expect(wrong).rejects.toThrow(/WRONGTYPE/)
    expect(await after).toBe('a')
  })
})
