import {Text} from 'ink'
import {truncate} from '../../output/escape.js'

export interface StatusBarProps {
  width: number
  source: string
  bounds: string
  position: string
  filters: string[]
  selected: number
  busy: string | null
}

export function StatusBar({width, source, bounds, position, filters, selected, busy}: StatusBarProps) {
  const parts = [
    `dlq browse ${source}`,
    bounds,
    `at ${position}`,
    filters.length === 0 ? 'no filter' : `filter: ${filters.join(' && ')}`,
    `${selected} selected`,
    ...(busy ? [busy] : []),
  ]
  const line = truncate(parts.join(' │ '), width)
  return (
    <Text inverse wrap="truncate">
      {line.padEnd(width)}
    </Text>
  )
}
