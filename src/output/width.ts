import stringWidth from 'string-width'

/**
 * Display width on a terminal: East Asian wide characters and most emoji take two columns,
 * combining marks none. Tables and the TUI measure with this, so such text does not shift
 * the columns after it.
 */
export function displayWidth(s: string): number {
  // Printable ASCII is one column per character: skip the library for the common case.
  return isPrintableAscii(s) ? s.length : stringWidth(s)
}

function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c > 0x7e) return false
  }
  return true
}

// Made on first use: creating a segmenter loads ICU's break rules (10–15 ms), which a table
// of printable ASCII never needs.
let segmenter: Intl.Segmenter | undefined

/** `text` cut to at most `width` columns, and the columns it takes. */
export interface Cut {
  text: string
  width: number
}

/**
 * Cuts `s` to at most `width` columns at the END, marking the cut with `…` (one column).
 * Whole graphemes only, so an emoji or a wide character is never split. Reads only as far
 * as the cut: a 1 MiB string costs what its first `width` columns cost. The one rule for
 * long text in tables and the TUI.
 */
export function cut(s: string, width: number): Cut {
  if (width <= 0) return {text: '', width: 0}
  // Leading printable ASCII: one column per character, no segmenting needed.
  let i = 0
  const n = s.length
  while (i < n && i <= width) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c > 0x7e) break
    i++
  }
  if (i === n && n <= width) return {text: s, width: n}
  if (i > width) return {text: s.slice(0, width - 1) + '…', width}
  let used = i
  // Where the text may end if a cut is needed: leaving one column for the ellipsis.
  let keep = i <= width - 1 ? i : width - 1
  let keptWidth = keep
  segmenter ??= new Intl.Segmenter(undefined, {granularity: 'grapheme'})
  for (const {segment, index} of segmenter.segment(s.slice(i))) {
    const w = segment.length === 1 && segment.charCodeAt(0) >= 0x20 && segment.charCodeAt(0) <= 0x7e ? 1 : stringWidth(segment)
    if (used + w > width) return {text: s.slice(0, keep) + '…', width: keptWidth + 1}
    used += w
    if (used <= width - 1) {
      keep = i + index + segment.length
      keptWidth = used
    }
  }
  return {text: s, width: used}
}

export function cutToWidth(s: string, width: number): string {
  return cut(s, width).text
}

/** Pads to `width` columns (display width, not code units). */
export function padToWidth(s: string, width: number, align: 'left' | 'right' = 'left', known?: number): string {
  const gap = width - (known ?? displayWidth(s))
  if (gap <= 0) return s
  return align === 'right' ? ' '.repeat(gap) + s : s + ' '.repeat(gap)
}
