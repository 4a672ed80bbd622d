import {createContext, useContext} from 'react'

/**
 * Colours of the TUI. NO_COLOR (https://no-color.org) turns colours off but keeps bold and
 * inverse video, which are not colours and are what marks the selected row; FORCE_COLOR
 * overrides NO_COLOR. Whether the terminal can show SGR at all is chalk's call (TERM,
 * COLORTERM, FORCE_COLOR=0); without any, the row marker still shows the cursor.
 */
export interface Theme {
  /** A colour name for Ink's `color` prop, or undefined when colours are off. */
  color(name: 'cyan' | 'green' | 'red' | 'yellow'): string | undefined
}

export function themeFor(env: NodeJS.ProcessEnv): Theme {
  const off = env.NO_COLOR !== undefined && env.NO_COLOR !== '' && env.FORCE_COLOR === undefined
  return {color: (name) => (off ? undefined : name)}
}

export const ThemeContext = createContext<Theme>(themeFor({}))
export const useTheme = (): Theme => useContext(ThemeContext)
