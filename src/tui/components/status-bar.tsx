import {Text} from 'ink'
import {cutEnd, fitEnd} from '../text.js'

export interface StatusBarProps {
  width: number
  source: string
  bounds: string
  position: string
  filters: string[]
  selected: number
  follow: boolean
  busy: string | null
}

export function StatusBar({width, source, bounds, position, filters, selected, follow, busy}: StatusBarProps) {
  // What changes with each key first; the source (often a long path) last, cut first.
  const parts = [
    'dlq browse',
    `at ${position}`,
    filters.length === 0 ? 'no filter' : `filter: ${filters.join(' && ')}`,
    `${selected} selected`,
    bounds,
    ...(follow ? ['follow'] : []),
    ...(busy ? [busy] : []),
    source,
  ]
  return (
    <Text inverse wrap="truncate">
      {fitEnd(cutEnd(parts.join(' │ '), width), width)}
    </Text>
  )
}
