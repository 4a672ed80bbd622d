/**
 * Loads the TUI chunk (React, Ink, chalk) for `dlq browse`.
 *
 * Two modules in it read the environment once, when they load: Ink's `is-in-ci` (with CI or
 * CONTINUOUS_INTEGRATION set Ink draws only the last frame, so the screen would stay blank)
 * and chalk's colour detection (any CI variable means "no colour", which also drops the
 * inverse video that marks the selected row). browse runs only on a real terminal, so while
 * the chunk loads those two variables are hidden and both modules judge the terminal itself
 * (TERM, COLORTERM, FORCE_COLOR); the variables are put back right after, for everything else.
 */
export async function loadTui(): Promise<typeof import('./run-browse.js')> {
  const {env} = process
  // React's development build checks every render and would make each key press slower;
  // it is chosen when React is first loaded, which is here.
  env.NODE_ENV ??= 'production'
  const hidden = ['CI', 'CONTINUOUS_INTEGRATION'].filter((k) => k in env).map((k) => [k, env[k]] as const)
  for (const [k] of hidden) delete env[k]
  try {
    return await import('./run-browse.js')
  } finally {
    for (const [k, v] of hidden) env[k] = v
  }
}
