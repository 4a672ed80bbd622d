import {describe, expect, it} from 'vitest'
import {decodeBase64Strict, decodeNumber, textOrBase64, utf8OrNull} from '../../src/core/bytes.js'

describe('decodeNumber (conventions rule 3)', () => {
  it.each([
    ['ascii decimal', Buffer.from('12345'), 12345],
    ['negative decimal', Buffer.from('-7'), -7],
    ['i32be', Buffer.from([0, 0, 1, 0]), 256],
    ['negative i32be', Buffer.from([0xff, 0xff, 0xff, 0xfe]), -2],
    ['i64be', Buffer.from([0, 0, 1, 0x8b, 0xcf, 0xe5, 0x68, 0x00]), 1_700_000_000_000],
    ['one byte', Buffer.from([3]), 3],
    ['two bytes', Buffer.from([0x01, 0x00]), 256],
    ['negative three bytes', Buffer.from([0xff, 0xff, 0xff]), -1],
    ['ascii digits of length 4 are decimal', Buffer.from('1234'), 1234],
  ])('%s', (_name, buf, want) => expect(decodeNumber(buf)).toBe(want))
  it('empty and null are unknown', () => {
    expect(decodeNumber(Buffer.alloc(0))).toBeNull()
    expect(decodeNumber(null)).toBeNull()
  })
})

describe('text and base64', () => {
  it('valid UTF-8 is text, anything else base64', () => {
    expect(textOrBase64(Buffer.from('héllo'))).toBe('héllo')
    expect(textOrBase64(Buffer.from([0xff, 0x00]))).toEqual({base64: '/wA='})
    expect(utf8OrNull(Buffer.from([0xc3]))).toBeNull()
  })
  it('validates UTF-8 strictly (no surrogates, no overlong forms) and keeps a BOM', () => {
    expect(utf8OrNull(Buffer.from([0xed, 0xa0, 0x80]))).toBeNull()
    expect(utf8OrNull(Buffer.from([0xc0, 0x80]))).toBeNull()
    expect(utf8OrNull(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBeNull()
    expect(utf8OrNull(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toBe('\ufeffA')
    expect(utf8OrNull(Buffer.from('€ 🦀'))).toBe('€ 🦀')
    // A Confluent wire-format Avro payload is binary: base64, not text.
    expect(textOrBase64(Buffer.from([0, 0, 0, 0, 2, 0x90, 0x01]))).toEqual({base64: 'AAAAAAKQAQ=='})
  })
  it('strict base64 rejects what Node would silently accept', () => {
    expect(decodeBase64Strict('aGk=')).toEqual(Buffer.from('hi'))
    expect(decodeBase64Strict('aGk')).toBeNull()
    expect(decodeBase64Strict('a-_k')).toBeNull()
    expect(decodeBase64Strict('aG k')).toBeNull()
  })
})
