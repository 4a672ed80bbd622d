import {createRequire} from 'node:module'
import {escapeText, truncate} from './escape.js'

const require = createRequire(import.meta.url)

export interface Column {
  head: string
  /** Fixed width; the one column without it takes what is left of the terminal. */
  width?: number
  align?: 'left' | 'right'
}

export function terminalWidth(): number {
  const fromEnv = Number(process.env.COLUMNS)
  if (Number.isInteger(fromEnv) && fromEnv > 20) return fromEnv
  return process.stdout.columns && process.stdout.columns > 20 ? process.stdout.columns : 160
}

/**
 * A table whose cells are always one escaped line cut to the column width, so no value,
 * however long, multi-line or hostile, can break the layout or reach the terminal raw.
 */
export function renderTable(columns: Column[], rows: string[][], width = terminalWidth()): string {
  const Table = require('cli-table3') as typeof import('cli-table3')
  const fixed = columns.reduce((sum, c) => sum + (c.width ?? 0), 0)
  // Each column costs its width plus padding (2) and a border (1), plus the final border.
  const flexible = Math.max(10, width - fixed - columns.length * 3 - 1)
  const widths = columns.map((c) => c.width ?? flexible)
  const table = new Table({
    head: columns.map((c, i) => truncate(c.head, widths[i])),
    colWidths: widths.map((w) => w + 2),
    colAligns: columns.map((c) => c.align ?? 'left'),
    wordWrap: false,
    style: {head: [], border: [], 'padding-left': 1, 'padding-right': 1},
    chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
  })
  for (const row of rows) table.push(row.map((cell, i) => truncate(escapeText(cell), widths[i])))
  return table.toString()
}
