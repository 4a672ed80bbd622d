import {Box, Text} from 'ink'
import {memo} from 'react'
import {useTheme} from '../theme.js'

export interface ListRowView {
  index: number
  line: string
  selected: boolean
  replayed: boolean
}

export interface MessageListProps {
  width: number
  height: number
  header: string
  rows: ListRowView[]
  cursor: number
  focused: boolean
  /** Shown instead of rows when there are none. */
  empty: string
}

/**
 * The cursor row is marked twice: `›` in the first column (visible on any terminal, with or
 * without colour) and inverse video (bold only while the detail has the keys).
 */
const Row = memo(function Row({line, mark, current, focused}: {line: string; mark: string; current: boolean; focused: boolean}) {
  const theme = useTheme()
  return (
    <Text wrap="truncate" inverse={current && focused} bold={current} color={mark === '✓' ? theme.color('green') : undefined}>
      {current ? '›' : ' '}
      {mark} {line}
    </Text>
  )
})

export function MessageList({width, height, header, rows, cursor, focused, empty}: MessageListProps) {
  const lines = rows.slice(0, height)
  return (
    <Box flexDirection="column" width={width} height={height + 1}>
      <Text bold wrap="truncate">
        {'   '}
        {header}
      </Text>
      {lines.length === 0 ? (
        <Text dimColor wrap="truncate">
          {'   '}
          {empty}
        </Text>
      ) : (
        lines.map((r) => {
          const mark = r.selected ? '●' : r.replayed ? '✓' : ' '
          return <Row key={r.index} line={r.line} mark={mark} current={r.index === cursor} focused={focused} />
        })
      )}
    </Box>
  )
}
