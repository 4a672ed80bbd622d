import stringWidth from 'string-width'

/**
 * Display-width text helpers for the TUI: an East Asian wide character or an emoji takes two
 * terminal columns, a combining mark none. Everything is measured with string-width (the
 * measure Ink lays text out with), so columns line up. Text reaching here is already escaped
 * (src/output/escape.ts): no control characters are left to measure.
 *
 * The rule for cutting is the same everywhere (the list, the detail pane, the tables of
 * `inspect`): keep the start, cut at the END, mark the cut with `…`.
 */

const ASCII = /^[\x20-\x7e]*$/
let segmenter: Intl.Segmenter | null = null

export function displayWidth(s: string): number {
  return ASCII.test(s) ? s.length : stringWidth(s)
}

/** Graphemes with their widths (a cluster is never split). */
function* clusters(s: string): Generator<[string, number]> {
  segmenter ??= new Intl.Segmenter()
  for (const {segment} of segmenter.segment(s)) yield [segment, ASCII.test(segment) ? segment.length : stringWidth(segment)]
}

/** At most `width` columns: the start of `s`, with `…` as the last column when something was cut. */
export function cutEnd(s: string, width: number): string {
  if (width <= 0) return ''
  if (ASCII.test(s)) return s.length <= width ? s : s.slice(0, width - 1) + '…'
  if (stringWidth(s) <= width) return s
  let out = ''
  let used = 0
  for (const [c, w] of clusters(s)) {
    if (used + w > width - 1) break
    out += c
    used += w
  }
  return out + '…'
}

/** Exactly `width` columns: cut at the end (with `…`) or padded with spaces. */
export function fitEnd(s: string, width: number): string {
  const t = cutEnd(s, width)
  const w = displayWidth(t)
  return w >= width ? t : t + ' '.repeat(width - w)
}

/**
 * The columns [start, start + width) of `s`, for horizontal scrolling. A wide character
 * that straddles either edge is replaced by spaces so the row keeps its width.
 */
export function sliceColumns(s: string, start: number, width: number): string {
  if (width <= 0) return ''
  if (ASCII.test(s)) return s.slice(start, start + width)
  let out = ''
  let col = 0
  const end = start + width
  for (const [c, w] of clusters(s)) {
    if (col >= end) break
    if (col >= start && col + w <= end) out += c
    else if (col + w > start) out += ' '.repeat(Math.min(col + w, end) - Math.max(col, start))
    col += w
  }
  return out
}

/**
 * `s` broken into rows of at most `width` columns; at least one row. Rows after the first
 * start with `indent` spaces (a hanging indent under a field's value). A row breaks after
 * its last space when that keeps at least half of it, else hard (a cluster is never split).
 */
export function wrapColumns(s: string, width: number, indent = 0): string[] {
  const w = Math.max(1, width)
  const pad = indent > 0 && indent <= w / 2 ? ' '.repeat(indent) : ''
  if (displayWidth(s) <= w) return [s]
  const rows: string[] = []
  if (ASCII.test(s)) {
    let rest = s
    let room = w
    while (rest.length > room) {
      let cut = rest.lastIndexOf(' ', room)
      if (cut < room / 2) cut = room
      else cut += 1
      rows.push((rows.length > 0 ? pad : '') + rest.slice(0, cut))
      rest = rest.slice(cut)
      room = w - pad.length
    }
    rows.push((rows.length > 0 ? pad : '') + rest)
    return rows
  }
  let row = ''
  let used = 0
  let room = w
  for (const [c, cw] of clusters(s)) {
    if (used + cw > room && used > 0) {
      rows.push((rows.length > 0 ? pad : '') + row)
      row = ''
      used = 0
      room = w - pad.length
    }
    row += c
    used += cw
  }
  rows.push((rows.length > 0 ? pad : '') + row)
  return rows
}

/** `n` and the noun, in the singular for one: "1 record", "2 records". */
export const plural = (n: number, noun: string, many = `${noun}s`): string => `${n.toLocaleString('en')} ${n === 1 ? noun : many}`
