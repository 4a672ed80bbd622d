import {describe, expect, it} from 'vitest'
import {UsageError} from '../../src/core/errors.js'
import {NO_EDITS, applyEdits, parseEditFlags, parseSet, sentDigest, type EditSpec, type TransformFn} from '../../src/core/replay/edit.js'
import {blankRecord, type DecodedRecord} from '../../src/core/record.js'

const rec = (payload: string | Buffer | null, headers: Array<[string, string]> = []): DecodedRecord => ({
  ...blankRecord('7'),
  key: Buffer.from('k1'),
  payload: payload === null ? null : Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
  userHeaders: headers.map(([key, value]) => ({key, value: Buffer.from(value)})),
  source: {topic: 'orders', partition: 1, offset: 5, group: null},
})
const target = {topic: 'orders', partition: null}
const flags = (f: Parameters<typeof parseEditFlags>[0]): EditSpec => ({...NO_EDITS, ...parseEditFlags(f)})
const withTransform = (fn: TransformFn): EditSpec => ({...NO_EDITS, transform: fn, transformName: 'fix.mjs'})

async function edited(spec: EditSpec, r: DecodedRecord) {
  const out = await applyEdits(spec, r, target)
  if (out.kind !== 'edited') throw new Error(`expected an edit, got ${JSON.stringify(out)}`)
  return out
}

describe('--set payload.PATH=VALUE', () => {
  it('reads VALUE as JSON when it parses, else as a string', () => {
    expect(String(parseSet('payload.a=42').value)).toBe('42')
    expect(parseSet('payload.a=true').value).toBe(true)
    expect(parseSet('payload.a="42"').value).toBe('42')
    expect(parseSet('payload.a=hello world').value).toBe('hello world')
    expect(parseSet('payload.a.b=x=y').path).toEqual(['a', 'b'])
    expect(parseSet('payload.a.b=x=y').value).toBe('x=y')
  })

  it('refuses other fields and malformed expressions as usage errors', () => {
    expect(() => parseSet('key=1')).toThrow(UsageError)
    expect(() => parseSet('payload.a')).toThrow(/expected payload.JSON.PATH=VALUE/)
    expect(() => parseSet('payload..a=1')).toThrow(/empty step/)
  })

  it('changes the field and keeps every digit of the other numbers', async () => {
    const r = rec('{"id":12345678901234567890,"amount":"oops","items":[{"qty":1},{"qty":2}]}')
    const out = await edited(flags({set: ['payload.amount=9.99', 'payload.items.1.qty=5']}), r)
    expect(out.payload!.toString()).toBe('{"id":12345678901234567890,"amount":9.99,"items":[{"qty":1},{"qty":5}]}')
    expect(out.change.payload!.before!.toString()).toBe(r.payload!.toString())
    expect(out.change.headers).toBeNull()
    expect(out.change.sha256).toBe(sentDigest({key: r.key, value: out.payload, headers: r.userHeaders}))
  })

  it('writes every other number back as it was written (1.50 stays 1.50, -0 stays -0), and VALUE as typed', async () => {
    const out = async (payload: string, set: string) => (await edited(flags({set: [set]}), rec(payload))).payload!.toString()
    expect(await out('{"a":1.50,"b":1,"c":-0,"d":1e3}', 'payload.b=2')).toBe('{"a":1.50,"b":2,"c":-0,"d":1e3}')
    expect(await out('{"a":1,"b":"x"}', 'payload.b=1.50')).toBe('{"a":1,"b":1.50}')
    expect(await out('{"a":1,"b":"x"}', 'payload.b=123456789012345678901')).toBe('{"a":1,"b":123456789012345678901}')
    expect(await out('{"a":"v1.2","b":"x"}', 'payload.b=y')).toBe('{"a":"v1.2","b":"y"}')
    expect(await out('{"__proto__":{"x":1},"b":2}', 'payload.__proto__={"y":2}')).toBe('{"__proto__":{"y":2},"b":2}')
  })

  it('a path the payload does not have, or a payload that is not JSON, is an error for that message', async () => {
    expect(await applyEdits(flags({set: ['payload.amount.cents=1']}), rec('{"amount":3}'), target)).toEqual({kind: 'error', message: '--set payload.amount.cents=1: the payload has no payload.amount.cents'})
    expect(await applyEdits(flags({set: ['payload.items.9=1']}), rec('{"items":[1]}'), target)).toEqual({kind: 'error', message: '--set payload.items.9=1: the payload has no payload.items.9'})
    expect(await applyEdits(flags({set: ['payload.a=1']}), rec('not json'), target)).toEqual({kind: 'error', message: '--set payload.a=1: the payload is not JSON'})
    expect(await applyEdits(flags({set: ['payload.a=1']}), rec(null), target)).toMatchObject({kind: 'error'})
  })

  it('setting a field to the value it has changes nothing', async () => {
    expect(await applyEdits(flags({set: ['payload.a=1']}), rec('{"a":1}'), target)).toEqual({kind: 'unchanged'})
  })
})

describe('--set-header and --drop-header', () => {
  it('replace every value of a name where the first was, append a new one, drop all of a name', async () => {
    const r = rec('x', [['a', '1'], ['trace', 't1'], ['a', '2'], ['debug', 'y']])
    const out = await edited(flags({setHeader: ['a=9', 'new=n'], dropHeader: ['debug']}), r)
    expect(out.headers.map((h) => [h.key, h.value?.toString()])).toEqual([
      ['a', '9'],
      ['trace', 't1'],
      ['new', 'n'],
    ])
  })

  it('never sets a convention metadata header, nor sets and drops one name', () => {
    expect(() => parseEditFlags({setHeader: ['kafka_dlt-original-topic=x']})).toThrow(/metadata header/)
    expect(() => parseEditFlags({setHeader: ['stroma.dlq.reason=x']})).toThrow(/metadata header/)
    expect(() => parseEditFlags({setHeader: ['a=1'], dropHeader: ['a']})).toThrow(/both set and dropped/)
    expect(() => parseEditFlags({setHeader: ['=1']})).toThrow(/NAME=VALUE/)
  })
})

describe('--transform', () => {
  it('gets the record in the documented shape', async () => {
    let seen: any
    await applyEdits(withTransform((r) => ((seen = r), r)), rec('{"a":1}', [['h', 'v']]), target)
    expect(seen).toMatchObject({position: '7', key: 'k1', text: '{"a":1}', json: {a: 1}, headers: [{key: 'h', value: 'v'}], target: {topic: 'orders', partition: null}, source: {topic: 'orders', partition: 1, offset: '5', group: null}})
    expect(Buffer.isBuffer(seen.payload)).toBe(true)
  })

  it('takes the payload from whichever of json, text or payload changed; unchanged keeps the exact bytes', async () => {
    expect((await edited(withTransform((r) => ((r.json as any).a = 2, r)), rec('{"a": 1}'))).payload!.toString()).toBe('{"a":2}')
    expect((await edited(withTransform((r) => ({...r, text: 'plain'})), rec('{"a":1}'))).payload!.toString()).toBe('plain')
    expect((await edited(withTransform((r) => ({...r, payload: Buffer.from([1, 2])})), rec('x'))).payload).toEqual(Buffer.from([1, 2]))
    expect(await applyEdits(withTransform((r) => r), rec('{"a": 1}'), target)).toEqual({kind: 'unchanged'})
  })

  it('sees bytes written into the payload Buffer it was given', async () => {
    const r = rec('abc')
    const out = await edited(withTransform((x) => (x.payload![0] = 0x7a, x)), r)
    expect(out.payload!.toString()).toBe('zbc')
    expect(r.payload!.toString()).toBe('abc')
  })

  it('null skips the message; garbage, a throw or an ambiguous change is an error naming the problem', async () => {
    expect(await applyEdits(withTransform(() => null), rec('x'), target)).toEqual({kind: 'skip'})
    expect(await applyEdits(withTransform(async () => null), rec('x'), target)).toEqual({kind: 'skip'})
    const err = async (fn: TransformFn, payload = '{"a":1}') => ((await applyEdits(withTransform(fn), rec(payload), target)) as {message: string}).message
    expect(await err(() => undefined)).toMatch(/fix.mjs returned undefined: return the record/)
    expect(await err(() => 42)).toMatch(/fix.mjs returned number 42/)
    expect(await err(() => [1])).toMatch(/returned an array/)
    expect(await err(() => {
      throw new Error('boom')
    })).toBe('fix.mjs threw: boom')
    expect(await err((r) => ({...r, text: 'x', json: {b: 1}}))).toMatch(/changed text and json/)
    expect(await err((r) => ({...r, headers: 'x'}))).toMatch(/headers must be an array/)
    expect(await err((r) => ({...r, headers: [{key: 'kafka_dlt-original-topic', value: 'x'}]}))).toMatch(/metadata header/)
    expect(await err((r) => ({...r, key: 5}))).toMatch(/key must be a string, a Buffer or null/)
    // A target's name is the plan's to check, by the sink's rule (a Redis stream may be "a:b").
    expect((await edited(withTransform((r) => ({...r, target: {topic: 'a:b', partition: null}})), rec('x'))).target).toEqual({topic: 'a:b', partition: null})
    expect(await err((r) => ({...r, target: {topic: 'x', partition: -1}}))).toMatch(/target.partition/)
  })

  it('can send elsewhere, to a chosen partition', async () => {
    const out = await edited(withTransform((r) => ({...r, target: {topic: 'orders-retry', partition: 2}})), rec('x'))
    expect(out.target).toEqual({topic: 'orders-retry', partition: 2})
    expect(out.change.target).toEqual({before: target, after: {topic: 'orders-retry', partition: 2}})
  })
})
