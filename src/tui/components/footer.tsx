import {Text} from 'ink'
import {truncate} from '../../output/escape.js'

export interface FooterProps {
  width: number
  /** An open prompt: `/` filter or `:` jump, with its text and error. */
  prompt: {label: string; text: string; error: string | null} | null
  notice: {text: string; error: boolean} | null
  hints: string
}

export function Footer({width, prompt, notice, hints}: FooterProps) {
  if (prompt) {
    if (prompt.error) {
      return (
        <Text wrap="truncate">
          <Text>{truncate(`${prompt.label}${prompt.text}`, Math.floor(width / 2))}</Text>
          <Text color="red">{truncate(`  ✗ ${prompt.error}`, width - Math.min(width, prompt.label.length + prompt.text.length))}</Text>
        </Text>
      )
    }
    return (
      <Text wrap="truncate">
        {truncate(`${prompt.label}${prompt.text}▏  (Enter apply · Esc cancel)`, width)}
      </Text>
    )
  }
  if (notice) {
    return (
      <Text color={notice.error ? 'red' : 'yellow'} wrap="truncate">
        {truncate(notice.text, width)}
      </Text>
    )
  }
  return (
    <Text dimColor wrap="truncate">
      {truncate(hints, width)}
    </Text>
  )
}
