import {Box, Text} from 'ink'
import {escapeText} from '../../output/escape.js'
import type {ResultView} from '../replay-port.js'

export interface ReplayResultsProps {
  width: number
  height: number
  result: ResultView
  scroll: number
}

export function ReplayResults({width, height, result, scroll}: ReplayResultsProps) {
  const room = Math.max(1, height - 3)
  const top = Math.min(scroll, Math.max(0, result.items.length - room))
  const items = result.items.slice(top, top + room)
  const ok = result.failed === 0
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold color={ok ? 'green' : 'red'}>
        Replay: {result.replayed} replayed, {result.skipped} skipped, {result.failed} failed (of {result.requested})
      </Text>
      {items.map((it) => (
        <Text key={it.position} wrap="truncate" color={it.outcome === 'failed' ? 'red' : it.outcome === 'skipped' ? 'yellow' : undefined}>
          {'  '}
          {escapeText(it.position).padEnd(18)} {it.outcome.padEnd(9)} {it.target ? escapeText(it.target) : ''}
          {it.reason ? ` ${escapeText(it.reason)}` : ''}
        </Text>
      ))}
      <Text dimColor>{result.items.length > room ? '↑/↓ scroll · ' : ''}Esc / Enter: back to the list</Text>
    </Box>
  )
}
