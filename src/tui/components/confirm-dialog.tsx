import {Box, Text} from 'ink'
import {escapeText} from '../../output/escape.js'
import {droppedText} from '../../output/replay.js'
import type {PlanView} from '../replay-port.js'

export interface ConfirmDialogProps {
  width: number
  height: number
  view: PlanView
}

/** The replay plan, and the question. Nothing is sent before `y`. */
export function ConfirmDialog({width, height, view}: ConfirmDialogProps) {
  const lines: string[] = []
  lines.push(`${view.send} message${view.send === 1 ? '' : 's'} will be sent to ${escapeText(view.sink)}:`)
  for (const t of view.byTarget) lines.push(`  ${t.count} → ${escapeText(t.topic)}${t.partition === null ? ' (partition chosen by the store)' : ` partition ${t.partition}`}`)
  if (view.skip > 0) {
    const why = Object.entries(view.skipped)
      .map(([reason, n]) => `${n} ${reason}`)
      .join(', ')
    lines.push(`${view.skip} skipped: ${why}`)
  }
  lines.push(view.removedHeaders.length === 0 ? 'No system metadata headers to remove.' : `System metadata removed: ${view.removedHeaders.map(escapeText).join(', ')}`)
  const d = view.dropped
  if (d) lines.push(`NOT SENT: ${droppedText(d)}: the layout chosen has no place for them.`)
  const changes = view.changes ?? []
  if (changes.length === 0) lines.push(d ? 'Payload bytes are sent unchanged; key and user headers too, except what NOT SENT names.' : 'Payload bytes, key and user headers are sent unchanged.')
  else {
    lines.push(`Sent EDITED (the ledger records the edit):`)
    for (const c of changes) lines.push(`  ${escapeText(c.position)}: ${c.text}`)
  }
  for (const n of view.notes) lines.push(`  ${escapeText(n.position)}: ${escapeText(n.text)}`)
  const room = Math.max(1, height - 3)
  const shown = lines.length > room ? [...lines.slice(0, room - 1), `… ${lines.length - room + 1} more lines`] : lines
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="round" borderColor="yellow">
      <Text bold color="yellow">
        Replay the selection?
      </Text>
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate">
          {l}
        </Text>
      ))}
      <Text bold>{view.send === 0 ? 'Nothing to send. n / Esc: back' : `Send ${view.send}? y: send · n / Esc: cancel`}</Text>
    </Box>
  )
}
