import {Box, Text} from 'ink'
import {KEY_MAP} from '../keymap.js'

export function HelpOverlay({width, height}: {width: number; height: number}) {
  const rows = KEY_MAP.list.map((b) => `${b.label.padEnd(10)} ${b.help}`)
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold>Keys</Text>
      {rows.slice(0, Math.max(0, height - 2)).map((r) => (
        <Text key={r} wrap="truncate">
          {'  '}
          {r}
        </Text>
      ))}
      <Text dimColor>Esc or ? closes this help</Text>
    </Box>
  )
}
