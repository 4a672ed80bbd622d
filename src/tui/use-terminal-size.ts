import {useStdout} from 'ink'
import {useEffect, useState} from 'react'

export interface TerminalSize {
  columns: number
  rows: number
}

/** The terminal's size, updated on resize (so the screen is laid out again). */
export function useTerminalSize(fixed?: TerminalSize): TerminalSize {
  const {stdout} = useStdout()
  const read = (): TerminalSize => ({columns: stdout.columns || 100, rows: stdout.rows || 24})
  const [size, setSize] = useState<TerminalSize>(fixed ?? read())
  useEffect(() => {
    if (fixed) return
    const onResize = () => setSize(read())
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout, fixed])
  return fixed ?? size
}

export interface Layout {
  listHeight: number
  detailHeight: number
  /** Rows of the area between the status bar and the footer (overlays use all of it). */
  bodyHeight: number
}

/**
 * Status bar, list header, list, detail title, detail, footer, and one spare row: Ink
 * clears the whole screen on every frame when the output is as tall as the terminal.
 */
export function layout(rows: number): Layout {
  const body = Math.max(4, rows - 5)
  const listHeight = Math.max(2, Math.floor(body * 0.5))
  return {listHeight, detailHeight: Math.max(1, body - listHeight), bodyHeight: body + 2}
}
