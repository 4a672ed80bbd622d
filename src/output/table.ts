import {escapeText} from './escape.js'
import {cut, displayWidth, padToWidth, type Cut} from './width.js'

export interface Column {
  head: string
  /** The most this column ever takes (its cells are cut to it). */
  max?: number
  /** Same as `max` (older name). */
  width?: number
  /** The least it is shrunk to when the terminal is narrow (default: its heading's width, at most 8). */
  min?: number
  align?: 'left' | 'right'
  /** Left out, last first, when the table cannot fit with every column at its comfortable width. */
  optional?: boolean
  /** Below this the column is cramped: optional columns go before it is squeezed further (default: min). */
  comfort?: number
  /** Share of the width when columns must give way, relative to the others (default 1). */
  weight?: number
  /** Never cut a value wider than the column (a position must stay whole); only streamed rows can have one. */
  whole?: boolean
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
  const plan = planTable(columns, rows, width)
  return [plan.header, ...plan.prepared.map((row) => plan.line(row))].join('\n')
}

/** Column widths chosen once, for a table whose rows are printed as they come (`dlq tail --follow`). */
export interface TablePlan {
  header: string
  /** One row, cut to the planned widths (a `whole` column's value is never cut: it pushes the row out instead). */
  row(cells: string[]): string
}

/** Plans the widths from `sizing` rows (never printed themselves), as renderTable would for them. */
export function streamTable(columns: Column[], sizing: string[][], width = terminalWidth()): TablePlan {
  const plan = planTable(columns, sizing, width)
  return {header: plan.header, row: (cells) => plan.line(cells.map((cell, i) => prepare(cell, plan.columns[i]?.max)))}
}

function planTable(columns: Column[], rows: string[][], width: number): {header: string; columns: Column[]; prepared: Cut[][]; line: (row: Cut[]) => string} {
  columns = columns.map((c) => ({...c, max: c.max ?? c.width}))
  const cells = rows.map((row) => row.map((cell, i) => prepare(cell, columns[i]?.max)))
  let cols = columns.map((c, i) => ({...c, index: i, natural: Math.min(c.max ?? Infinity, Math.max(displayWidth(c.head), widest(cells, i)))}))
  cols = cols.map((c) => ({...c, min: Math.min(c.natural, c.min ?? Math.min(8, displayWidth(c.head)))}))
  const total = (cs: typeof cols, w: (c: (typeof cols)[number]) => number) => cs.reduce((sum, c) => sum + w(c), 0) + GAP.length * (cs.length - 1)
  // Leave optional columns out (last first) while the others cannot have their comfortable widths.
  const comfortable = (c: (typeof cols)[number]) => Math.min(c.natural, Math.max(c.min!, c.comfort ?? 0))
  for (let i = cols.length - 1; i >= 0 && total(cols, comfortable) > width; i--) if (cols[i].optional) cols.splice(i, 1)
  let widths = cols.map((c) => c.natural)
  if (total(cols, (c) => c.natural) > width) {
    // The largest cap C such that every column at min(natural, max(min, C × weight)) fits.
    const at = (cap: number) => cols.map((c) => Math.min(c.natural, Math.max(c.min!, Math.floor(cap * (c.weight ?? 1)))))
    let lo = 0
    let hi = Math.max(...cols.map((c) => c.natural / Math.min(1, c.weight ?? 1)))
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
  const line = (values: Cut[]) =>
    cols
      .map((c, k) => {
        const value = values[c.index] ?? {text: '', width: 0}
        const fitted = value.width <= widths[k] || c.whole ? value : cut(value.text, widths[k])
        return k === cols.length - 1 && c.align !== 'right' ? fitted.text : padToWidth(fitted.text, widths[k], c.align, fitted.width)
      })
      .join(GAP)
      .trimEnd()
  // Narrower than even the required columns at their minimum: cut each line as a last resort.
  const fit = total(cols, (c) => c.min!) > width ? (s: string) => cut(s, width).text : (s: string) => s
  return {header: fit(line(columns.map((c) => ({text: c.head, width: displayWidth(c.head)})))), columns, prepared: cells, line: (row) => fit(line(row))}
}

/** Escaped, and cut to its column's cap (reading no further than that), with its width. */
function prepare(cell: string, max: number | undefined): Cut {
  const limit = max === undefined ? 4096 : max * 4 + 8
  return cut(escapeText(cell.length > limit ? cell.slice(0, limit) : cell), max ?? Infinity)
}

function widest(cells: Cut[][], i: number): number {
  let most = 0
  for (const row of cells) {
    const w = row[i]?.width ?? 0
    if (w > most) most = w
  }
  return most
}
