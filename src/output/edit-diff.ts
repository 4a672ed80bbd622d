import {createTwoFilesPatch, diffWordsWithSpace} from 'diff'
import {parse as parseLossless, stringify as stringifyLossless} from 'lossless-json'
import {textOrBase64, utf8OrNull} from '../core/bytes.js'
import type {EditChange} from '../core/replay/edit.js'
import type {RawHeader} from '../core/record.js'
import {escapeText, truncate} from './escape.js'

/** Changed JSON paths shown per message in a table before "… N more". */
const MAX_PATHS = 6
const MAX_VALUE = 40

/**
 * The dry run's view of a fix before replay. A table gets one line per message: changed JSON
 * paths with old → new values (or, for text, the changed words; for binary, the sizes), headers
 * set and dropped. `--json` gets before and after in full and a unified patch of the payload.
 */
export function compactDiff(c: EditChange): string {
  const parts: string[] = []
  if (c.target) parts.push(`target ${c.target.before.topic} → ${c.target.after.topic}${c.target.after.partition === null ? '' : `/${c.target.after.partition}`}`)
  if (c.key) parts.push(`key ${shortBytes(c.key.before)} → ${shortBytes(c.key.after)}`)
  if (c.payload) parts.push(payloadDiff(c.payload.before, c.payload.after))
  if (c.headers) parts.push(...headerDiff(c.headers.before, c.headers.after))
  return escapeText(parts.join('; '))
}

function shortBytes(b: Buffer | null): string {
  if (b === null) return 'null'
  const t = utf8OrNull(b)
  return t === null ? `${b.length} bytes` : JSON.stringify(truncate(t, MAX_VALUE))
}

function parseJson(b: Buffer | null): {ok: boolean; value: unknown} {
  const t = b === null ? null : utf8OrNull(b)
  if (t === null) return {ok: false, value: undefined}
  try {
    return {ok: true, value: parseLossless(t)}
  } catch {
    return {ok: false, value: undefined}
  }
}

function payloadDiff(before: Buffer | null, after: Buffer | null): string {
  const a = parseJson(before)
  const b = parseJson(after)
  if (a.ok && b.ok) {
    const paths: string[] = []
    jsonPaths(a.value, b.value, 'payload', paths)
    if (paths.length === 0) return 'payload re-serialised (same JSON value)'
    const shown = paths.slice(0, MAX_PATHS)
    return shown.join(', ') + (paths.length > shown.length ? ` … ${paths.length - shown.length} more` : '')
  }
  const ta = before === null ? null : utf8OrNull(before)
  const tb = after === null ? null : utf8OrNull(after)
  if (ta !== null && tb !== null) {
    const words = diffWordsWithSpace(ta, tb)
      .filter((p) => p.added || p.removed)
      .map((p) => `${p.added ? '+' : '-'}${JSON.stringify(truncate(p.value, MAX_VALUE))}`)
    return `payload ${words.slice(0, MAX_PATHS).join(' ')}${words.length > MAX_PATHS ? ` … ${words.length - MAX_PATHS} more` : ''}`
  }
  return `payload ${before === null ? 'null' : `${before.length} bytes`} → ${after === null ? 'null' : `${after.length} bytes`}`
}

const show = (v: unknown) => truncate(stringifyLossless(v) ?? 'undefined', MAX_VALUE)

/** Paths whose value differs, as `path: old → new`, `+path: new`, `-path`. */
function jsonPaths(a: unknown, b: unknown, at: string, out: string[]): void {
  const obj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !('isLosslessNumber' in v)
  if (obj(a) && obj(b)) {
    for (const k of Object.keys(a)) {
      if (!Object.hasOwn(b, k)) out.push(`-${at}.${k}`)
      else jsonPaths(a[k], b[k], `${at}.${k}`, out)
    }
    for (const k of Object.keys(b)) if (!Object.hasOwn(a, k)) out.push(`+${at}.${k}: ${show(b[k])}`)
    return
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => jsonPaths(x, b[i], `${at}.${i}`, out))
    return
  }
  if (stringifyLossless(a) !== stringifyLossless(b)) out.push(`${at}: ${show(a)} → ${show(b)}`)
}

function headerDiff(before: RawHeader[], after: RawHeader[]): string[] {
  const text = (h: RawHeader) => (h.value === null ? 'null' : (utf8OrNull(h.value) ?? `${h.value.length} bytes`))
  const out: string[] = []
  const names = new Set([...before.map((h) => h.key), ...after.map((h) => h.key)])
  for (const n of names) {
    const a = before.filter((h) => h.key === n).map(text)
    const b = after.filter((h) => h.key === n).map(text)
    if (a.join('\u0000') === b.join('\u0000') && a.length === b.length) continue
    if (b.length === 0) out.push(`-header ${n}`)
    else out.push(`header ${n}=${truncate(b.join(','), MAX_VALUE)}`)
  }
  return out
}

const bytesJson = (b: Buffer | null) => (b === null ? null : textOrBase64(b))
const headersJson = (hs: RawHeader[]) => hs.map((h) => ({key: h.key, value: bytesJson(h.value)}))

/** Pretty text of a payload for the patch: JSON indented (numbers kept exact), else the text. */
function patchText(b: Buffer | null): string | null {
  if (b === null) return ''
  const j = parseJson(b)
  if (j.ok) return (stringifyLossless(j.value, null, 2) ?? '') + '\n'
  const t = utf8OrNull(b)
  return t === null ? null : t.endsWith('\n') ? t : t + '\n'
}

/** `--json`: what changed, with before and after in full and a unified patch of the payload when it is text. */
export function editJson(c: EditChange): unknown {
  let payload: unknown = null
  if (c.payload) {
    const a = patchText(c.payload.before)
    const b = patchText(c.payload.after)
    payload = {before: bytesJson(c.payload.before), after: bytesJson(c.payload.after), patch: a === null || b === null ? null : createTwoFilesPatch('before', 'after', a, b, undefined, undefined, {context: 2})}
  }
  return {
    sha256: c.sha256,
    key: c.key ? {before: bytesJson(c.key.before), after: bytesJson(c.key.after)} : null,
    payload,
    headers: c.headers ? {before: headersJson(c.headers.before), after: headersJson(c.headers.after)} : null,
    target: c.target,
  }
}
