/**
 * Rule 4: with no metadata, the DLQ topic's name may hint at its source. It stays a hint
 * (metadata `dlq.source-topic-hint`): the source remains unknown and replay needs `--to`.
 */
const PATTERNS: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
  [/^(.+)-dlt$/, (m) => m[1]],
  [/^(.+)\.DLT$/, (m) => m[1]],
  [/^(.+)\.dlq$/, (m) => m[1]],
  // Sentry names Arroyo DLQs `<topic>-dlq`.
  [/^(.+)-dlq$/, (m) => m[1]],
  [/^error\.(.+)\.([^.]+)$/, (m) => m[1]],
  [/^dead-letter-topic-(.+)$/, (m) => m[1]],
  [/^_dlq\.(.+)$/, (m) => m[1]],
]

export function topicHint(dlqTopic: string | null | undefined): string | null {
  if (!dlqTopic || dlqTopic === 'dfe.dlq') return null
  for (const [re, pick] of PATTERNS) {
    const m = dlqTopic.match(re)
    if (m) return pick(m)
  }
  return null
}
