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
    expect(decodeBase64Strict('aGl=')).toBeNull() // unused bits set: not what encoding "hi" gives
    expect(decodeBase64Strict('aG==')).toBeNull() // "h" is aA==
    expect(decodeBase64Strict('aA==')).toEqual(Buffer.from('h'))
    expect(decodeBase64Strict('aB==')).toBeNull()
    expect(decodeBase64Strict('a===')).toBeNull()
    expect(decodeBase64Strict('aG=k')).toBeNull()
    expect(decodeBase64Strict('')).toEqual(Buffer.alloc(0))
    expect(decodeBase64Strict('AAAŁ')).toBeNull() // Node would read Ł as A
    expect(decodeBase64Strict('šGVsbG8=')).toBeNull() // … and š as a: "hello"
  })
  it('strict base64 accepts exactly the texts that encoding the decoded bytes gives back', () => {
    // The rule it implements without building that second text; checked on random near-base64 texts.
    const reencoded = (s: string) => s.length % 4 === 0 && Buffer.from(s, 'base64').toString('base64') === s
    const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    // Ł (U+0141), ĭ (U+012D), š (U+0161): beyond ASCII, their low bytes are A, - and a.
    const odd = ['=', '-', '_', ' ', '\n', '!', 'é', 'Ā', 'Ł', 'ĭ', 'š', 'İ', '\u0000', '\ud800', '一', 'Ａ', 'AQ', 'gw']
    let seed = 7
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
    let accepted = 0
    for (let k = 0; k < 200_000; k++) {
      let s = ''
      const len = 4 * rnd(4) + (k % 53 === 0 ? 1 : 0)
      for (let i = 0; i < len; i++) s += rnd(10) < 8 ? b64[rnd(64)] : odd[rnd(odd.length)]
      if (len >= 4 && rnd(3) === 0) s = s.slice(0, len - 1 - rnd(2)) + '=='.slice(0, 1 + rnd(2))
      const got = decodeBase64Strict(s)
      expect(got !== null, JSON.stringify(s)).toBe(reencoded(s))
      if (got !== null) {
        accepted++
        expect(got.equals(Buffer.from(s, 'base64'))).toBe(true)
      }
    }
    expect(accepted).toBeGreaterThan(20_000)
  })
})
