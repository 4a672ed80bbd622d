import {escapeText} from './escape.js'
import {cutToWidth, displayWidth, padToWidth} from './width.js'

export interface Column {
  head: string
  /** The most this column ever takes (its cells are cut to it). */
  max?: number
  /** Same as `max` (older name). */
  width?: number
  /** The least it is shrunk to when the terminal is narrow (default: its heading's width, at most 8). */
  min?: number
  align?: 'left' | 'right'
  /** Left out, last first, when the table cannot fit even with every column at its minimum. */
  optional?: boolean
}

/** Columns are separated by this; no borders, so a narrow terminal loses no width to them. */
const GAP = '  '
/** Width when stdout is not a terminal and $COLUMNS does not say. */
export const DEFAULT_WIDTH = 120

/**
 * The width to fit: the terminal's when stdout is one, else $COLUMNS (what shells export),
 * else DEFAULT_WIDTH. Pass Infinity to never cut to a width (`--output wide`).
 */
export function terminalWidth(): number {
  if (process.stdout.isTTY && process.stdout.columns > 0) return process.stdout.columns
  const fromEnv = Number(process.env.COLUMNS)
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv
  return DEFAULT_WIDTH
}

/**
 * A table fitted to `width` columns. Every cell is one escaped line, so no value, however
 * long, multi-line or hostile, can break the layout or reach the terminal raw; a cell too
 * long for its column is cut at the end with `…`. When the natural widths do not fit, the
 * widest columns give way first (each down to its minimum), then optional columns are left
 * out. Linear in the number of cells.
 */
export function renderTable(columns: Column[], rows: string[][], width = terminalWidth()): string {
  columns = columns.map((c) => ({...c, max: c.max ?? c.width}))
  const cells = rows.map((row) => row.map((cell, i) => prepare(cell, columns[i]?.max)))
  let cols = columns.map((c, i) => ({...c, index: i, natural: Math.min(c.max ?? Infinity, Math.max(displayWidth(c.head), ...colWidths(cells, i)))}))
  cols = cols.map((c) => ({...c, min: Math.min(c.natural, c.min ?? Math.min(8, displayWidth(c.head)))}))
  const total = (cs: typeof cols, w: (c: (typeof cols)[number]) => number) => cs.reduce((sum, c) => sum + w(c), 0) + GAP.length * (cs.length - 1)
  // Leave optional columns out (last first) while even the minimum widths do not fit.
  for (let i = cols.length - 1; i >= 0 && total(cols, (c) => c.min!) > width; i--) if (cols[i].optional) cols.splice(i, 1)
  let widths = cols.map((c) => c.natural)
  if (total(cols, (c) => c.natural) > width) {
    // The largest cap C such that every column at min(natural, max(min, C)) fits.
    const at = (cap: number) => cols.map((c) => Math.min(c.natural, Math.max(c.min!, cap)))
    let lo = 0
    let hi = Math.max(...cols.map((c) => c.natural))
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (at(mid).reduce((a, b) => a + b, 0) + GAP.length * (cols.length - 1) <= width) lo = mid
      else hi = mid - 1
    }
    widths = at(lo)
    // Hand what the cap left over to the columns that were cut, left to right.
    let spare = width - (widths.reduce((a, b) => a + b, 0) + GAP.length * (cols.length - 1))
    for (let i = 0; i < cols.length && spare > 0; i++) {
      const more = Math.min(spare, cols[i].natural - widths[i])
      widths[i] += more
      spare -= more
    }
  }
  const line = (values: string[]) =>
    cols
      .map((c, k) => {
        const text = cutToWidth(values[c.index] ?? '', widths[k])
        return k === cols.length - 1 && c.align !== 'right' ? text : padToWidth(text, widths[k], c.align)
      })
      .join(GAP)
      .trimEnd()
  const out = [line(columns.map((c) => c.head))]
  for (const row of cells) out.push(line(row))
  return out.join('\n')
}

/** Escaped, and cut early to its column's cap so a long payload is not measured in full. */
function prepare(cell: string, max: number | undefined): string {
  const limit = max === undefined ? 4096 : max * 4 + 8
  const text = escapeText(cell.length > limit ? cell.slice(0, limit) : cell)
  return max === undefined ? text : cutToWidth(text, max)
}

function colWidths(cells: string[][], i: number): number[] {
  let widest = 0
  for (const row of cells) {
    const w = displayWidth(row[i] ?? '')
    if (w > widest) widest = w
  }
  return [widest]
}
