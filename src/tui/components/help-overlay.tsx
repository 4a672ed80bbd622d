import {Box, Text} from 'ink'
import {KEY_MAP} from '../keymap.js'
import {cutEnd, fitEnd} from '../text.js'

/** A column of the help narrower than this cuts the descriptions too much to read. */
const MIN_COLUMN = 38

/** The help as rows of text for a screen `width` wide with `room` rows: in as many columns as fit. */
export function helpRows(width: number, room: number): string[] {
  const keys = KEY_MAP.list.map((b) => `${b.label.padEnd(8)} ${b.help}`)
  const fit = Math.max(1, Math.floor((width - 2) / MIN_COLUMN))
  const columns = Math.max(1, Math.min(fit, Math.ceil(keys.length / Math.max(1, room))))
  const perColumn = Math.ceil(keys.length / columns)
  const colWidth = Math.floor((width - 2) / columns)
  return Array.from({length: perColumn}, (_, i) =>
    Array.from({length: columns}, (_, c) => fitEnd(cutEnd(keys[c * perColumn + i] ?? '', colWidth - 1), colWidth))
      .join('')
      .trimEnd(),
  )
}

/**
 * The keys of the list, from the key map. When they do not fit (a short terminal), the help
 * scrolls with j/k rather than leaving keys out.
 */
export function HelpOverlay({width, height, scroll}: {width: number; height: number; scroll: number}) {
  const room = Math.max(1, height - 2)
  const rows = helpRows(width, room)
  const top = Math.max(0, Math.min(scroll, rows.length - room))
  const shown = rows.slice(top, top + room)
  const more = rows.length > room ? ` · ${top + 1}–${top + shown.length} of ${rows.length} rows, ↑↓ j k scroll` : ''
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold>Keys</Text>
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate">
          {'  '}
          {l}
        </Text>
      ))}
      <Text dimColor wrap="truncate">
        {cutEnd(`Esc or ? closes this help${more}`, width)}
      </Text>
    </Box>
  )
}
