/**
 * Command descriptions are written as wrapped paragraphs in the source; oclif wraps help
 * text to the terminal itself, so the source's line breaks would leave ragged lines. This
 * joins each paragraph into one line and keeps indented lines (tables, lists) as they are.
 */
export function paragraphs(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((block) => {
      const lines = block.split('\n')
      if (lines.some((l) => /^\s/.test(l)) || /^[A-Z][A-Z ]+$/.test(lines[0])) return block
      return lines.join(' ')
    })
    .join('\n\n')
}
