import stringWidth from 'string-width'

/**
 * Display width on a terminal: East Asian wide characters and most emoji take two columns,
 * combining marks none. Tables and the TUI measure with this, so such text does not shift
 * the columns after it.
 */
export function displayWidth(s: string): number {
  // Printable ASCII is one column per character: skip the library for the common case.
  return /^[\x20-\x7e]*$/.test(s) ? s.length : stringWidth(s)
}

const segmenter = new Intl.Segmenter(undefined, {granularity: 'grapheme'})

/**
 * Cuts `s` to at most `width` columns at the END, marking the cut with `…` (one column).
 * Whole graphemes only, so an emoji or a wide character is never split. The one rule for
 * long text in tables and the TUI.
 */
export function cutToWidth(s: string, width: number): string {
  if (width <= 0) return ''
  if (s.length <= width && /^[\x20-\x7e]*$/.test(s)) return s
  if (displayWidth(s) <= width) return s
  let used = 0
  let out = ''
  for (const {segment} of segmenter.segment(s)) {
    const w = displayWidth(segment)
    if (used + w > width - 1) break
    out += segment
    used += w
  }
  return out + '…'
}

/** Pads to `width` columns (display width, not code units). */
export function padToWidth(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const gap = width - displayWidth(s)
  if (gap <= 0) return s
  return align === 'right' ? ' '.repeat(gap) + s : s + ' '.repeat(gap)
}
