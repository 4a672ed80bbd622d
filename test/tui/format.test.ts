import stringWidth from 'string-width'
import {describe, expect, it} from 'vitest'
import {HEX_ROW_WIDTH, MARK_WIDTH, TEXT_VIEW_BYTES, columnNeeds, detailDoc, hexDump, listColumns, listHeader, listLine} from '../../src/tui/format.js'
import {cutEnd, displayWidth, fitEnd, plural, sliceColumns, wrapColumns} from '../../src/tui/text.js'
import {rec} from './records.js'

const opts = {hex: false, full: null, loadingFull: false, previewLimit: 4096, wrap: true, width: 80}

describe('display width helpers', () => {
  it('measure East Asian wide characters and emoji as two columns', () => {
    expect(displayWidth('abc')).toBe(3)
    expect(displayWidth('日本語')).toBe(6)
    expect(displayWidth('a🔥b')).toBe(4)
    expect(displayWidth('e\u0301')).toBe(1)
  })

  it('cut at the end with … and never split a wide character', () => {
    expect(cutEnd('org.apache.kafka.connect.errors.DataException', 20)).toBe('org.apache.kafka.co…')
    expect(cutEnd('short', 20)).toBe('short')
    expect(cutEnd('日本語テキスト', 6)).toBe('日本…')
    expect(displayWidth(cutEnd('日本語テキスト', 6))).toBeLessThanOrEqual(6)
    expect(fitEnd('🔥🔥🔥', 5)).toBe('🔥🔥…')
    expect(fitEnd('日', 4)).toBe('日  ')
  })

  it('slice columns for sideways scrolling and wrap by columns', () => {
    expect(sliceColumns('0123456789', 3, 4)).toBe('3456')
    // a wide character cut by the left edge becomes a space: the row keeps its width
    expect(sliceColumns('日本語', 1, 4)).toBe(' 本 ')
    expect(wrapColumns('abcdefgh', 3)).toEqual(['abc', 'def', 'gh'])
    expect(wrapColumns('日本語', 4)).toEqual(['日本', '語'])
    expect(wrapColumns('', 4)).toEqual([''])
    expect(wrapColumns('one two three four', 9, 2)).toEqual(['one two ', '  three ', '  four'])
  })

  it('says "1 message", not "1 messages"', () => {
    expect(plural(1, 'message')).toBe('1 message')
    expect(plural(0, 'message')).toBe('0 messages')
    expect(plural(12345, 'message')).toBe('12,345 messages')
  })
})

describe('list columns', () => {
  const spring = rec(6, {reason: 'org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed', source: {topic: 'inventory', partition: 2, offset: 1, group: null}})

  it('give the reason the room a wide terminal has, and cut it at the end', () => {
    const needs = columnNeeds([spring, rec(1)])
    const wide = listColumns(220, needs)
    expect(wide.reason).toBeGreaterThan(60)
    const narrow = listColumns(80, needs)
    expect(narrow.reason).toBeLessThan(wide.reason)
    const line = listLine(spring, narrow)
    expect(line).toContain('org.apache.kafka.')
    expect(line).toMatch(/org\.apache\.kafka\.\S*… /)
    for (const width of [80, 120, 160, 220]) {
      const c = listColumns(width, needs)
      expect(displayWidth(listLine(spring, c)) + MARK_WIDTH).toBeLessThanOrEqual(width)
      expect(displayWidth(listHeader(c))).toBe(displayWidth(listLine(spring, c)))
    }
  })

  it('keep columns aligned when a reason holds emoji or East Asian text', () => {
    const rows = [rec(1, {reason: '🔥 handler failed 🔥'}), rec(2, {reason: 'データ変換エラー'}), rec(3, {reason: 'plain'})]
    const c = listColumns(100, columnNeeds(rows))
    const widths = rows.map((r) => stringWidth(listLine(r, c)))
    expect(new Set(widths).size).toBe(1)
    // the column after the reason starts at the same column on every row
    const keyCol = rows.map((r) => {
      const line = listLine(r, c)
      return stringWidth(line.slice(0, line.indexOf(`k${r.position}`)))
    })
    expect(new Set(keyCol).size).toBe(1)
  })

  it('say the time zone in the header', () => {
    expect(listHeader(listColumns(80, columnNeeds([rec(1)])))).toMatch(/TIME UTC/)
  })
})

describe('detail document', () => {
  it('shows a Spring stack trace header on lines of their own, wrapped to the pane', () => {
    const trace = 'org.springframework.kafka.listener.ListenerExecutionFailedException: Listener failed\n\tat org.springframework.kafka.listener.KafkaMessageListenerContainer$ListenerConsumer.decorateException(KafkaMessageListenerContainer.java:2950)\nCaused by: com.fasterxml.jackson.core.JsonParseException: Unexpected character'
    const r = rec(1, {metadata: {'kafka_dlt-exception-stacktrace': trace}})
    const doc = detailDoc(r, {...opts, width: 60})
    const rows = Array.from({length: doc.rows}, (_, i) => doc.row(i))
    for (const row of rows) expect(displayWidth(row)).toBeLessThanOrEqual(60)
    // each line of the trace starts a row of its own (indented under the header), wrapped rows hang under it
    expect(rows.some((row) => row.startsWith('      Caused by: com.fasterxml'))).toBe(true)
    expect(rows.some((row) => row.startsWith('          at org.springframework'))).toBe(true)
    expect(rows.join('')).toContain('java:2950)')
    // a long field value wraps at a space when it can, and under the value, not at the margin
    const long = detailDoc(rec(2, {reason: 'Listener method could not be invoked with the incoming message because the payload is broken'}), {...opts, width: 60})
    const reason = Array.from({length: long.rows}, (_, i) => long.row(i)).filter((row) => row.includes('Listener') || row.startsWith(' '.repeat(16)))
    expect(reason[0]).toMatch(/^reason {10}Listener method could not be invoked with $/)
    expect(reason[1]).toMatch(/^ {16}the incoming message/)
    // without wrapping the long line is one row, as wide as it is (for sideways scrolling)
    const cut = detailDoc(r, {...opts, width: 60, wrap: false})
    expect(cut.rows).toBeLessThan(doc.rows)
    expect(cut.width).toBeGreaterThan(120)
  })

  it('draws a 50 MB payload as hex row by row: fast, and without building the dump', () => {
    const big = Buffer.alloc(50 * 1024 * 1024)
    for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff
    const r = rec(1, {payload: big.subarray(0, 16), payloadSize: big.length})
    const full = rec(1, {payload: big})
    const heap = process.memoryUsage().heapUsed
    const t = performance.now()
    const doc = detailDoc(r, {...opts, hex: true, full, width: 120})
    const screen = Array.from({length: 40}, (_, i) => doc.row(doc.rows - 40 + i))
    const ms = performance.now() - t
    const grown = process.memoryUsage().heapUsed - heap
    expect(doc.rows).toBeGreaterThan(big.length / 16)
    expect(screen.at(-1)).toMatch(/^031ffff0 {2}00 00/)
    expect(ms).toBeLessThan(500)
    // the whole dump would be ~3.3 million strings (hundreds of MB)
    expect(grown).toBeLessThan(20 * 1024 * 1024)
    const first = Array.from({length: 40}, (_, i) => doc.row(i)).indexOf(hexDump(big, 1)[0])
    expect(first).toBeGreaterThan(10)
    expect(doc.rows - first).toBe(big.length / 16)
  })

  it('a 50 MB text payload: the text view stops after 1 MiB and says how to see the rest', () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 'a')
    const t = performance.now()
    const doc = detailDoc(rec(1, {payload: big}), {...opts, width: 100})
    expect(performance.now() - t).toBeLessThan(2000)
    expect(doc.rows).toBeGreaterThan(TEXT_VIEW_BYTES / 100)
    expect(doc.row(doc.rows - 1)).toMatch(/text view stops after 1\.0 MiB of 50\.0 MiB: x shows all of it as hex, s saves/)
  })

  it('wraps a hex dump only when the pane is narrower than a row', () => {
    const r = rec(1, {payload: Buffer.from([0, 1, 2, 255, 254, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]), payloadSize: 16})
    const wide = detailDoc(r, {...opts, hex: true, width: 100})
    const narrow = detailDoc(r, {...opts, hex: true, width: 40})
    const tail = (d: ReturnType<typeof detailDoc>, n: number) => Array.from({length: n}, (_, i) => d.row(d.rows - n + i))
    expect(tail(wide, 1)[0]).toHaveLength(HEX_ROW_WIDTH)
    expect(tail(narrow, 2).join('')).toBe(tail(wide, 1)[0].slice(0, 80))
  })
})
