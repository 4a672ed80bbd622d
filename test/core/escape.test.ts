import {describe, expect, it} from 'vitest'
import {escapeText, safeJson, truncate} from '../../src/output/escape.js'

describe('escaping untrusted text', () => {
  it('makes ESC, C0, DEL, C1, bidi and separators visible', () => {
    const hostile = 'a\u001b[2Jb\u0007c\u007fd\u009be\u202ef\u2066g\u2028h\r\n\t'
    const out = escapeText(hostile)
    expect(out).toBe('a\\e[2Jb\\x07c\\x7fd\\x9be\\u{202e}f\\u{2066}g\\u{2028}h\\r\\n\\t')
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028]/)
  })
  it('keeps ordinary text, including non-Latin scripts', () => {
    expect(escapeText('héllo 世界 ok')).toBe('héllo 世界 ok')
  })
  it('JSON stays valid and carries no raw C1 or bidi characters', () => {
    const s = safeJson({p: '\u202e\u0085x\u001b'})
    expect(JSON.parse(s)).toEqual({p: '\u202e\u0085x\u001b'})
    expect(s).toBe('{"p":"\\u202e\\u0085x\\u001b"}')
  })
  it('truncates by characters with an ellipsis', () => {
    expect(truncate('abcdef', 4)).toBe('abc…')
    expect(truncate('ab', 4)).toBe('ab')
  })
})
