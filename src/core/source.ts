import {UsageError} from './errors.js'
import type {DlqReader} from './reader.js'

/** What a SOURCE argument names (product.md, "Sources"). */
export type SourceSpec = {kind: 'file'; path: string} | {kind: 'kafka'; uri: string} | {kind: 'redis'; uri: string}

export function parseSource(text: string): SourceSpec {
  const t = text.trim()
  if (t === '') throw new UsageError('SOURCE is empty: give a file, a directory, kafka://… or redis://…')
  if (t.startsWith('file:')) {
    const path = t.startsWith('file://') ? decodeURIComponent(new URL(t).pathname) : t.slice(5)
    if (path === '') throw new UsageError(`source "${text}": file: needs a path`)
    return {kind: 'file', path}
  }
  const scheme = t.match(/^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//)?.[1]?.toLowerCase()
  if (scheme === undefined) return {kind: 'file', path: t}
  if (scheme === 'kafka') return {kind: 'kafka', uri: t}
  if (scheme === 'redis' || scheme === 'rediss') return {kind: 'redis', uri: t}
  throw new UsageError(`source "${redactUri(t)}": unknown scheme "${scheme}://" (use a path, file:PATH, kafka://host:port/topic or redis://host:port/stream)`)
}

/**
 * A URI safe to print: whatever stands between `scheme://` and the last `@` before the query
 * is credentials, even when an unencoded `/` or `@` in a password confuses URL parsing; only
 * the user name before the first `:` is kept.
 */
export function redactUri(uri: string): string {
  const m = uri.match(/^([a-zA-Z][\w+.-]*:\/\/)([^?#]*)$|^([a-zA-Z][\w+.-]*:\/\/)([^?#]*)([?#].*)$/)
  if (!m) return uri
  const scheme = m[1] ?? m[3]
  const rest = m[2] ?? m[4]
  const tail = m[5] ?? ''
  const at = rest.lastIndexOf('@')
  if (at < 0) return uri
  const user = rest.slice(0, at).split(':')[0].split('/')[0]
  return `${scheme}${user ? `${user}:***` : '***'}@${rest.slice(at + 1)}${tail}`
}

/** Opens the reader for a SOURCE. Store clients are loaded only when that store is used. */
export async function openReader(text: string): Promise<DlqReader> {
  const spec = parseSource(text)
  switch (spec.kind) {
    case 'file': {
      const {openFileReader} = await import('../backends/file/index.js')
      return openFileReader(spec.path)
    }
    case 'kafka':
    case 'redis': {
      const loaders = await import('../backends/registry.js')
      return loaders.openStoreReader(spec)
    }
  }
}
