import {Box, Text} from 'ink'
import {memo} from 'react'

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

const Row = memo(function Row({line, mark, current, focused}: {line: string; mark: string; current: boolean; focused: boolean}) {
  return (
    <Text wrap="truncate" inverse={current && focused} bold={current} color={mark === '✓ ' ? 'green' : undefined}>
      {mark}
      {line}
    </Text>
  )
})

export function MessageList({width, height, header, rows, cursor, focused, empty}: MessageListProps) {
  const lines = rows.slice(0, height)
  return (
    <Box flexDirection="column" width={width} height={height + 1}>
      <Text bold wrap="truncate">
        {'  '}
        {header}
      </Text>
      {lines.length === 0 ? (
        <Text dimColor wrap="truncate">
          {'  '}
          {empty}
        </Text>
      ) : (
        lines.map((r) => {
          const mark = r.selected ? '● ' : r.replayed ? '✓ ' : '  '
          return <Row key={r.index} line={r.line} mark={mark} current={r.index === cursor} focused={focused} />
        })
      )}
    </Box>
  )
}
