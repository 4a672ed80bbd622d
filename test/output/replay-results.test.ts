import {describe, expect, it} from 'vitest'
import type {ResultItem} from '../../src/core/replay/execute.js'
import {jsonString, safeJson} from '../../src/output/escape.js'
import type {PlanItem} from '../../src/core/replay/plan.js'
import {planItemJson, planItemText, planWriter, renderPlanSummary, resultItemJson, resultWriter} from '../../src/output/replay.js'

/** Strings that need every kind of escape JSON or the terminal asks for, and some that need none. */
const HOSTILE = [
  '',
  'plain-1796058135134-0',
  'quote " and backslash \\',
  'esc \u001b[2J bell \u0007 nul \u0000 del \u007f',
  'c1 \u0085 \u009b',
  'bidi \u202e \u2066 \u061c zw \u200b bom \ufeff',
  'separators \u2028 \u2029',
  'newline \n tab \t cr \r',
  'lone \ud800 high, lone \udc00 low',
  'paired \u{1f600} emoji',
  'héllo 世界',
  '</script>',
]

function items(): ResultItem[] {
  const out: ResultItem[] = [
    {position: '0', outcome: 'replayed', target: {topic: 'orders', partition: null, offset: '1796058135134-0'}, reason: null, error: null},
    {position: '1:42', outcome: 'replayed', target: {topic: 'orders', partition: 3, offset: '42'}, reason: null, error: null},
    {position: '7', outcome: 'failed', target: {topic: 'orders', partition: 0, offset: null}, reason: 'in_doubt', error: 'lost the connection'},
    {position: '8', outcome: 'skipped', target: null, reason: 'already_replayed', error: 'found in the target'},
    {position: '9', outcome: 'failed', target: null, reason: 'not_attempted', error: 'not attempted: interrupted'},
  ]
  for (const s of HOSTILE) {
    out.push({position: s, outcome: 'failed', target: {topic: s, partition: 2, offset: s}, reason: 'edit_failed', error: s})
  }
  return out
}

describe('replay result output', () => {
  it('jsonString is safeJson of a string, byte for byte', () => {
    for (const s of HOSTILE) expect(jsonString(s)).toBe(safeJson(s))
  })

  it('an item is written exactly as safeJson wrote it, escapes included', () => {
    for (const r of items()) expect(resultItemJson(r)).toBe(safeJson(r))
  })

  it('an item of another shape than declared falls back to safeJson', () => {
    const odd = [
      {position: '1', outcome: 'replayed', target: {topic: 't', partition: Number.NaN, offset: 'x'}, reason: null, error: null},
      {position: '1', outcome: 'replayed', target: {topic: 't', partition: null, offset: undefined}, reason: null, error: null},
      {position: 1, outcome: 'replayed', target: null, reason: undefined, error: null},
    ] as unknown as ResultItem[]
    for (const r of odd) expect(resultItemJson(r)).toBe(safeJson(r))
  })

  it('the --json document is the same bytes as items written with safeJson, and carries no raw control or bidi character', () => {
    const chunks: string[] = []
    const w = resultWriter((t) => chunks.push(t) > 0, {json: true, rows: null})
    const all = items()
    for (const r of all) w.item(r)
    w.end()
    const doc = chunks.join('')
    const failed = all.filter((r) => r.outcome === 'failed').length
    const skipped = all.filter((r) => r.outcome === 'skipped').length
    const expected =
      `{\n  "items": [\n    ${all.map((r) => safeJson(r)).join(',\n    ')}\n  ],\n` +
      `  "requested": ${all.length},\n  "replayed": ${all.length - failed - skipped},\n  "skipped": ${skipped},\n  "failed": ${failed}\n}\n`
    expect(doc).toBe(expected)
    expect(JSON.parse(doc).items).toEqual(JSON.parse(JSON.stringify(all)))
    // Lone surrogates only (the u flag): a paired one is a character, kept as is.
    // eslint-disable-next-line no-control-regex
    expect(doc.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]/u)
  })

  it('an empty result is still one document', () => {
    const chunks: string[] = []
    const w = resultWriter((t) => chunks.push(t) > 0, {json: true, rows: null})
    w.end()
    expect(JSON.parse(chunks.join(''))).toEqual({items: [], requested: 0, replayed: 0, skipped: 0, failed: 0})
  })

  it('a table lists the first rows, then failures past them, counts the rest and ends with the totals', () => {
    const chunks: string[] = []
    const w = resultWriter((t) => chunks.push(t) > 0, {json: false, rows: 2})
    const ok = (p: string): ResultItem => ({position: p, outcome: 'replayed', target: {topic: 't', partition: null, offset: `1-${p}`}, reason: null, error: null})
    for (const p of ['p0', 'p1', 'p2']) w.item(ok(p))
    w.item({position: 'p3', outcome: 'failed', target: {topic: 't', partition: null, offset: null}, reason: 'in_doubt', error: 'lost \u001b the connection'})
    w.item(ok('p4'))
    w.end()
    const text = chunks.join('')
    expect(text).toMatch(/p0 .*replayed.*t@1-p0/)
    expect(text).toMatch(/p1 /)
    expect(text).not.toMatch(/p2 |p4 /)
    expect(text).toMatch(/p3 .*failed.*in_doubt: lost \\e the connection/)
    expect(text).not.toContain('\u001b')
    expect(text).toContain('… 2 more positions not listed')
    expect(text.endsWith('5 requested: 4 replayed, 0 skipped, 1 failed\n')).toBe(true)
  })

  it('a plan item is written exactly as safeJson(planItemJson(it)) wrote it, escapes, layouts and edits included', () => {
    const base: PlanItem = {
      position: '0',
      action: 'send',
      reason: null,
      detail: null,
      target: {topic: 'orders', partition: null},
      partitionBy: null,
      doubt: null,
      layout: {name: 'payload'},
      headersKept: [],
      headersRemoved: [],
      message: null,
      ledger: null,
      ledgerKey: 'k',
    }
    const plans: PlanItem[] = [
      base,
      {...base, target: {topic: 'orders', partition: 4}, partitionBy: 'murmur2', layout: null, headersKept: ['trace', 'b'], headersRemoved: ['kafka_dlt-exception-message']},
      {...base, partitionBy: 'recorded', doubt: 'may be the offset', layout: {name: 'fields', valueField: 'body'}},
      {...base, action: 'skip', reason: 'already_replayed', detail: 'replayed to orders at 1-0', target: null, layout: null},
      {...base, edit: {sha256: 'ab', before: {}, after: {}} as unknown as PlanItem['edit']},
    ]
    for (const h of HOSTILE) {
      plans.push({...base, position: h, action: 'skip', reason: 'edit_failed', detail: h, target: {topic: h, partition: 1}, doubt: h, layout: {name: 'fields', valueField: h}, headersKept: [h, h], headersRemoved: [h]})
    }
    for (const it of plans) expect(planItemText(it)).toBe(safeJson(planItemJson(it)))
  })

  it('the dry-run --json document parses and lists every plan item', () => {
    const chunks: string[] = []
    const w = planWriter((t) => chunks.push(t) > 0, {source: 's\u001b', sink: 'redis://x', ledger: 'l'}, {json: true, rows: null})
    const it = {position: '0', action: 'send', reason: null, detail: null, target: {topic: 't\u202e', partition: null}, partitionBy: null, doubt: null, layout: {name: 'payload'}, headersKept: [], headersRemoved: [], message: null, ledger: null, ledgerKey: 'k'} as PlanItem
    w.item(it)
    w.item({...it, position: '1'})
    w.end()
    const doc = chunks.join('')
    expect(doc).toContain(`"items": [\n    ${safeJson(planItemJson(it))},\n    ${safeJson(planItemJson({...it, position: '1'}))}\n  ],`)
    expect(JSON.parse(doc).items.map((x: {position: string}) => x.position)).toEqual(['0', '1'])
    expect(doc).not.toMatch(/\u001b|\u202e/)
  })

  it('the plan summary counts edited messages in good English: one is, two are', () => {
    const head = {source: 'dlq.ndjson', sink: 'redis://127.0.0.1:6379', ledger: 'ledger.ndjson'}
    const summary = (edited: number) => renderPlanSummary(head, {send: edited, skip: 0, skipped: {}, byTarget: [], removedHeaders: [], edited})
    expect(summary(1)).toMatch(/edited: 1 of them is sent changed/)
    expect(summary(2)).toMatch(/edited: 2 of them are sent changed/)
  })
})
