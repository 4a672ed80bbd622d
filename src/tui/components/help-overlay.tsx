import {Box, Text} from 'ink'
import {truncate} from '../../output/escape.js'
import {KEY_MAP} from '../keymap.js'

/** The keys of the list, from the key map; in two columns when the screen is short. */
export function HelpOverlay({width, height}: {width: number; height: number}) {
  const rows = KEY_MAP.list.map((b) => `${b.label.padEnd(10)} ${b.help}`)
  const room = Math.max(1, height - 2)
  const columns = rows.length > room ? 2 : 1
  const perColumn = Math.ceil(rows.length / columns)
  const colWidth = Math.floor((width - 2) / columns)
  const lines = Array.from({length: Math.min(perColumn, room)}, (_, i) =>
    Array.from({length: columns}, (_, c) => truncate(rows[c * perColumn + i] ?? '', colWidth - 1).padEnd(colWidth)).join(''),
  )
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold>Keys</Text>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {'  '}
          {l.trimEnd()}
        </Text>
      ))}
      <Text dimColor>Esc or ? closes this help</Text>
    </Box>
  )
}
