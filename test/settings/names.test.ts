import {describe, expect, it} from 'vitest'
import {UsageError} from '../../src/core/errors.js'
import {validateGroup, validateTopic} from '../../src/core/settings/names.js'
import {buildPolicy} from '../../src/core/settings/policy.js'

describe('topic and group names', () => {
  it.each(['orders', 'orders.dlq', 'a_b-c.9', 'x'.repeat(249)])('accepts topic %s', (t) => {
    expect(validateTopic(t)).toBe(t)
  })

  it.each([
    ['', /empty/],
    ['.', /"\." and "\.\."/],
    ['..', /"\." and "\.\."/],
    ['x'.repeat(250), /249/],
    ['a b', /only contain/],
    ['orders/dlq', /only contain/],
    ['ördérs', /only contain/],
    ['__consumer_offsets', /"__" are reserved/],
    ['fibril.retry', /"fibril\." are reserved/],
    ['stroma.dlq', /"stroma\." are reserved/],
  ])('rejects topic %j', (t, why) => {
    expect(() => validateTopic(t)).toThrow(UsageError)
    expect(() => validateTopic(t)).toThrow(why)
  })

  it('accepts ordinary groups and rejects empty, control characters, padding and reserved prefixes', () => {
    expect(validateGroup('workers 1')).toBe('workers 1')
    for (const g of ['', 'a\u001b[31m', ' padded', '__g', 'stroma.g', 'x'.repeat(250)]) expect(() => validateGroup(g)).toThrow(UsageError)
  })
})

describe('policy flags', () => {
  it('builds each mode and refuses contradictions', () => {
    expect(buildPolicy({dlq: 'global', maxRetries: 3})).toEqual({dlq: 'global', dlqTopic: null, group: null, maxRetries: 3})
    expect(buildPolicy({dlq: 'custom', dlqTopic: 'o-dlq', group: 'w'})).toEqual({dlq: 'custom', dlqTopic: 'o-dlq', group: 'w', maxRetries: null})
    expect(() => buildPolicy({dlq: 'custom'})).toThrow(/needs --dlq-topic/)
    expect(() => buildPolicy({dlq: 'discard', dlqTopic: 'x'})).toThrow(/only goes with --dlq custom/)
    expect(() => buildPolicy({dlq: 'global', group: 'x'})).toThrow(/only goes with --dlq custom/)
    expect(() => buildPolicy({dlq: 'custom', dlqTopic: '__x'})).toThrow(/reserved/)
    expect(() => buildPolicy({dlq: 'bounce'})).toThrow(/discard, global, custom/)
    // A queue's dead messages sent back into it would loop.
    expect(() => buildPolicy({dlq: 'custom', dlqTopic: 'orders'}, 'orders')).toThrow(/--dlq-topic orders: that is the queue the policy is for/)
    expect(buildPolicy({dlq: 'custom', dlqTopic: 'orders-dlq'}, 'orders').dlqTopic).toBe('orders-dlq')
  })
})
