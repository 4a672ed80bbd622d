import {Box, Text} from 'ink'
import {truncate} from '../../output/escape.js'

export interface DetailPaneProps {
  width: number
  height: number
  title: string
  lines: string[]
  scroll: number
  focused: boolean
}

export function DetailPane({width, height, title, lines, scroll, focused}: DetailPaneProps) {
  const top = Math.min(scroll, Math.max(0, lines.length - height))
  const shown = lines.slice(top, top + height)
  const more = lines.length > height ? ` ${top + 1}–${top + shown.length}/${lines.length}` : ''
  const head = `── ${title}${more} ${focused ? '(Tab: back to list) ' : ''}`
  return (
    <Box flexDirection="column" width={width} height={height + 1}>
      <Text bold={focused} color={focused ? 'cyan' : undefined} wrap="truncate">
        {truncate(head, width).padEnd(width, '─')}
      </Text>
      {shown.map((l, i) => (
        <Text key={top + i} wrap="truncate">
          {truncate(l, width) || ' '}
        </Text>
      ))}
    </Box>
  )
}
