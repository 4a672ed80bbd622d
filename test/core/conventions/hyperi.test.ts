import {describe, expect, it} from 'vitest'
import {decodeRaw} from '../../../src/core/conventions/index.js'

const entry = {
  timestamp: 1_764_000_000_000,
  service: 'ingest',
  reason: 'parse_error',
  attempts: 3,
  payload: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'),
  destination: 'orders.events',
  source: {topic: 'orders', partition: 2, offset: 99},
  future_field: {anything: true},
}
const rawOf = (o: unknown) => ({position: '7', key: null, value: Buffer.from(JSON.stringify(o)), headers: [], timestamp: null})

describe('hyperi convention', () => {
  it('decodes the JSON envelope and the base64 payload, tolerating unknown fields', () => {
    const r = decodeRaw(rawOf(entry))
    expect(r.convention).toBe('hyperi')
    expect(r.payload).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]))
    expect(r.source).toEqual({topic: 'orders', partition: 2, offset: 99, group: null})
    expect(r.reason).toBe('parse_error')
    expect(r.retries).toBe(3)
    expect(r.deadLetteredAt).toBe(1_764_000_000_000)
    expect(r.metadata).toEqual({service: 'ingest', destination: 'orders.events'})
    expect(r.unreadable).toBeNull()
  })
  it('source and destination are optional', () => {
    const {source, destination, ...bare} = entry
    const r = decodeRaw(rawOf(bare))
    expect(r.source.topic).toBeNull()
    expect(r.metadata).toEqual({service: 'ingest'})
  })
  it('names the field of a wrong type and the bad base64', () => {
    expect(decodeRaw(rawOf({...entry, attempts: '3'})).unreadable).toMatch(/"attempts"/)
    expect(decodeRaw(rawOf({...entry, payload: 'abc'})).unreadable).toMatch(/base64/)
    expect(decodeRaw(rawOf({...entry, payload: 'ab-_'})).unreadable).toMatch(/base64/)
    expect(decodeRaw(rawOf({...entry, source: {partition: 'x'}})).unreadable).toMatch(/source.partition/)
  })
  it('a JSON value without the hyperi fields is just a payload', () => {
    const r = decodeRaw(rawOf({service: 'x'}))
    expect(r.convention).toBe('unknown')
  })
})
