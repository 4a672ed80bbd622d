import {Text} from 'ink'
import {cutEnd, displayWidth} from '../text.js'
import {useTheme} from '../theme.js'

export interface FooterProps {
  width: number
  /** An open prompt: `/` filter, `:` jump or `s` save, with its text and error. */
  prompt: {label: string; text: string; error: string | null} | null
  notice: {text: string; error: boolean} | null
  hints: string
}

export function Footer({width, prompt, notice, hints}: FooterProps) {
  const theme = useTheme()
  if (prompt) {
    if (prompt.error) {
      const left = cutEnd(`${prompt.label}${prompt.text}`, Math.floor(width / 2))
      return (
        <Text wrap="truncate">
          <Text>{left}</Text>
          <Text color={theme.color('red')} bold>
            {cutEnd(`  ✗ ${prompt.error}`, width - displayWidth(left))}
          </Text>
        </Text>
      )
    }
    return <Text wrap="truncate">{cutEnd(`${prompt.label}${prompt.text}▏  (Enter apply · Esc cancel)`, width)}</Text>
  }
  if (notice) {
    return (
      <Text color={theme.color(notice.error ? 'red' : 'yellow')} bold={notice.error} wrap="truncate">
        {cutEnd(notice.text, width)}
      </Text>
    )
  }
  return (
    <Text dimColor wrap="truncate">
      {cutEnd(hints, width)}
    </Text>
  )
}
