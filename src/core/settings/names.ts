import {UsageError} from '../errors.js'

/**
 * Kafka's own rules (org.apache.kafka.common.internals.Topic): 1–249 characters of
 * [a-zA-Z0-9._-], and not "." or "..". The reserved prefixes are system metadata of
 * Kafka itself (`__consumer_offsets`, `__connect…`) and of Fibril (`fibril.`, `stroma.`):
 * a DLQ routed there would be read or stripped by the system that owns them.
 */
export const MAX_NAME_LENGTH = 249
export const RESERVED_PREFIXES = ['__', 'fibril.', 'stroma.'] as const

const LEGAL = /^[a-zA-Z0-9._-]+$/

function show(name: string): string {
  return JSON.stringify(name)
}

function reserved(name: string, what: string): void {
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p))
  if (prefix) throw new UsageError(`${what} ${show(name)}: names starting with "${prefix}" are reserved (reserved prefixes: ${RESERVED_PREFIXES.join(', ')})`)
}

export function validateTopic(name: string, what = 'topic'): string {
  if (name.length === 0) throw new UsageError(`${what}: the name is empty`)
  if (name === '.' || name === '..') throw new UsageError(`${what} ${show(name)}: "." and ".." are not topic names`)
  if (name.length > MAX_NAME_LENGTH) throw new UsageError(`${what} ${show(name.slice(0, 40) + '…')}: ${name.length} characters, the most Kafka allows is ${MAX_NAME_LENGTH}`)
  if (!LEGAL.test(name)) {
    const bad = [...new Set([...name].filter((c) => !LEGAL.test(c)))].map((c) => JSON.stringify(c)).join(' ')
    throw new UsageError(`${what} ${show(name)}: Kafka topic names may only contain ASCII letters, digits, ".", "_" and "-" (found ${bad})`)
  }
  reserved(name, what)
  return name
}

/**
 * Kafka accepts any non-empty group id; dlq also refuses what would only ever be a typo or
 * an attack on a terminal: control characters, surrounding whitespace, over-long ids.
 */
export function validateGroup(name: string, what = 'group'): string {
  if (name.length === 0) throw new UsageError(`${what}: the group id is empty`)
  if (name.length > MAX_NAME_LENGTH) throw new UsageError(`${what}: ${name.length} characters, dlq allows at most ${MAX_NAME_LENGTH}`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) throw new UsageError(`${what} ${JSON.stringify(name)}: control characters are not allowed`)
  if (name.trim() !== name) throw new UsageError(`${what} ${JSON.stringify(name)}: leading or trailing whitespace is not allowed`)
  reserved(name, what)
  return name
}

export function validateVersion(n: number, what = '--expected-version'): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} ${n}: must be a whole number, 0 or more (0 = never set)`)
  return n
}
