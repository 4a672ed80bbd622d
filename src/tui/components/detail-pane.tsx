import {Box, Text} from 'ink'
import type {DetailDoc} from '../format.js'
import {cutEnd, displayWidth, sliceColumns} from '../text.js'
import {useTheme} from '../theme.js'

export interface DetailPaneProps {
  width: number
  height: number
  doc: DetailDoc | null
  scroll: number
  hscroll: number
  wrap: boolean
  focused: boolean
  zoomed: boolean
}

/** The clamped first row shown for a scroll position (the last screenful at most). */
export const detailTop = (rows: number, height: number, scroll: number): number => Math.max(0, Math.min(scroll, rows - height))

/** Draws only the rows on screen: the document makes each row on demand. */
export function DetailPane({width, height, doc, scroll, hscroll, wrap, focused, zoomed}: DetailPaneProps) {
  const theme = useTheme()
  const rows = doc?.rows ?? 0
  const top = detailTop(rows, height, scroll)
  const shown: string[] = []
  for (let i = top; i < Math.min(rows, top + height); i++) {
    const row = doc!.row(i)
    shown.push(wrap ? cutEnd(row, width) : sliceColumns(row, hscroll, width))
  }
  const more = rows > height ? ` ${top + 1}–${top + shown.length}/${rows.toLocaleString('en')}` : ''
  const side = !wrap && hscroll > 0 ? ` →${hscroll}` : ''
  const hint = !zoomed && focused ? '(Tab: back to list) ' : ''
  // Where the view stands first: the title (position, source, reason) may be cut.
  const head = cutEnd(`──${more}${side}${wrap ? '' : ' [nowrap]'} ${hint}${doc?.title ?? ''} `, width)
  return (
    <Box flexDirection="column" width={width} height={height + 1}>
      <Text bold={focused || zoomed} color={focused || zoomed ? theme.color('cyan') : undefined} wrap="truncate">
        {head}
        {'─'.repeat(Math.max(0, width - displayWidth(head)))}
      </Text>
      {shown.map((l, i) => (
        <Text key={top + i} wrap="truncate">
          {l || ' '}
        </Text>
      ))}
    </Box>
  )
}
