import {describe, expect, it} from 'vitest'
import {idAfter, parsePosition, sinceId, TIME_SLACK_MS} from '../src/backends/redis/ids.js'
import {parseRedisUri} from '../src/backends/redis/uri.js'
import {UsageError} from '../src/core/errors.js'

const parse = (uri: string, needKey = true) => parseRedisUri(uri, {needKey})

describe('redis URIs', () => {
  it('reads host, port, db, key, credentials and parameters', () => {
    const t = parse('rediss://alice:s%40cr%2Ft@cache.example:6380/3/orders:dlq?group=workers')
    expect(t).toMatchObject({tls: true, host: 'cache.example', port: 6380, db: 3, username: 'alice', password: 's@cr/t', group: 'workers', prefix: ''})
    expect(t.key).toEqual(Buffer.from('orders:dlq'))
    expect(t.display).toBe('rediss://alice:***@cache.example:6380/3/orders:dlq')
    expect(parse('redis://127.0.0.1/dlq')).toMatchObject({host: '127.0.0.1', port: 6379, db: 0, username: null, password: null, tls: false})
    expect(parse('redis://:only-pw@[::1]:7000/a%2Fb%25c')).toMatchObject({host: '::1', port: 7000, username: null, password: 'only-pw'})
    expect(parse('redis://:only-pw@[::1]:7000/a%2Fb%25c').key).toEqual(Buffer.from('a/b%c'))
    expect(parse('redis://:only-pw@[::1]:7000/a%2Fb%25c').display).toBe('redis://***@[::1]:7000/0/a%2Fb%25c')
    expect(parse('redis://bob@h/0/5')).toMatchObject({username: 'bob', password: null, db: 0, key: Buffer.from('5')})
    expect(parse('redis://h/%FF%00').key).toEqual(Buffer.from([0xff, 0x00]))
  })

  it('takes a password with an unencoded "@" up to the last "@" and never shows it', () => {
    const t = parse('redis://u:p@ss@h:1/k')
    expect([t.username, t.password, t.host]).toEqual(['u', 'p@ss', 'h'])
    expect(t.display).not.toContain('ss')
  })

  it('a sink URI needs no key; its prefix is a parameter', () => {
    expect(parse('redis://h:6379/2?prefix=replay%3A', false)).toMatchObject({db: 2, key: null, prefix: 'replay:'})
    expect(parse('redis://h:6379', false)).toMatchObject({db: 0, key: null})
  })

  it('rejects what it would have to guess at, naming the problem', () => {
    const cases: Array<[string, RegExp]> = [
      ['redis://h:6379/5', /no stream key after database 5 .*redis:\/\/host:port\/0\/NAME/],
      ['redis://h:6379/', /no stream key/],
      ['redis://h/a/b', /may not contain "\/" as it is: write it %2F \(redis:\/\/host:port\/0\/a%2Fb\)/],
      ['redis://h/0/a/b', /write it %2F/],
      ['redis://h:99999/k', /port 99999 is out of range/],
      ['redis://h:port/k', /"h:port" is not host or host:port/],
      ['redis:///k', /no host/],
      ['redis://h/k?foo=1', /unknown parameter "foo" \(known: group, prefix\)/],
      ['redis://h/k?group=', /group= needs a consumer group name/],
      ['redis://h/a%zz', /"%zz" is not a percent-escape/],
      ['redis://h/a#b', /"#" in a stream key must be written %23/],
      ['http://h/k', /expected redis:\/\//],
    ]
    for (const [uri, message] of cases) {
      expect(() => parse(uri), uri).toThrow(UsageError)
      expect(() => parse(uri), uri).toThrow(message)
    }
    expect(() => parse('redis://u:topsecret@h/a/b')).toThrow(/redis:\/\/u:\*\*\*@h\/a\/b/)
  })
})

describe('redis stream ids', () => {
  it('validates and normalises positions', () => {
    expect(parsePosition('1700000000000')).toBe('1700000000000-0')
    expect(parsePosition('18446744073709551615-18446744073709551615')).toBe('18446744073709551615-18446744073709551615')
    expect(() => parsePosition('1700000000000-0-1')).toThrow(UsageError)
  })

  it('steps to the id right after, carrying into the milliseconds', () => {
    expect(idAfter('5-7')).toBe('5-8')
    expect(idAfter('5-18446744073709551615')).toBe('6-0')
    expect(idAfter('18446744073709551615-18446744073709551615')).toBeNull()
  })

  it('widens a time range into an id range by the documented slack', () => {
    // --until never narrows the range (it has no id): a record's own time comes before its XADD, by any amount.
    expect(sinceId(1_000_000)).toBe(`${1_000_000 - TIME_SLACK_MS}-0`)
    expect(sinceId(5)).toBe('0-0')
    expect(sinceId(null)).toBeNull()
  })
})
