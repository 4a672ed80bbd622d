import * as crypto from 'node:crypto'
import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {isLosslessNumber, parse as parseLossless, stringify as stringifyLossless} from 'lossless-json'
import {utf8OrNull} from '../bytes.js'
import {HEADER_CONVENTIONS, isSystemHeader} from '../conventions/index.js'
import {replayConvention} from '../message.js'
import {UsageError} from '../errors.js'
import type {DecodedRecord, RawHeader} from '../record.js'
import {withDeadline} from '../time.js'
import {STOP_SIGNALS} from '../signals.js'

/**
 * Fix before replay: changes applied to a message on its way back (`replay --set`,
 * `--set-header`, `--drop-header`, `--transform`, and browse's `$EDITOR`). The plan applies
 * them when it builds the outgoing message, so a dry run shows exactly what would be sent; the
 * ledger still keys the DLQ message by its own identity (an edited replay is still a replay of
 * that message) and records a digest of the bytes that were sent.
 */

/** What a `--transform` module's default export receives, and returns (or null to skip the message). */
export interface TransformRecord {
  /** The DLQ position (read-only: changing it changes nothing). */
  readonly position: string
  /** The message key: text when it is valid UTF-8, else a Buffer; null for none. */
  key: string | Buffer | null
  /** The payload bytes (null for a tombstone). */
  payload: Buffer | null
  /** The payload as UTF-8 text, or null when it is not valid UTF-8. */
  text: string | null
  /** The payload parsed as JSON (JSON.parse), or undefined when it is not JSON. */
  json: unknown
  /** User headers in order (a name may repeat): value as text when valid UTF-8, else a Buffer. */
  headers: Array<{key: string; value: string | Buffer | null}>
  /** Where it goes: topic or stream, and partition (null: chosen as usual). */
  target: {topic: string; partition: number | null}
  /** Context, read-only: what the DLQ recorded (an export read back: the convention it was read with). */
  readonly convention: string
  readonly reason: string | null
  readonly source: {topic: string | null; partition: number | null; offset: string | null; group: string | null}
  /**
   * Set when the record does not hold the original message (its writer lost it: SmallRye's key bytes as the
   * value, Kafka Streams' freed key and value): what was lost. Such a message is sent only when the transform
   * returns a payload of its own; otherwise it is skipped (not_original).
   */
  readonly notOriginal: string | null
}

export type TransformFn = (record: TransformRecord) => unknown

export interface PayloadSet {
  expr: string
  path: string[]
  /** The value to write, parsed losslessly (big numbers keep their digits). */
  value: unknown
  /** The same value as JSON.parse reads it, when that writes back the same text (null: it does not, e.g. 1.50). */
  plain: {value: unknown} | null
}

export interface EditSpec {
  sets: PayloadSet[]
  setHeaders: Array<{name: string; value: string}>
  dropHeaders: string[]
  transform: TransformFn | null
  /** Where the transform came from, for messages. */
  transformName: string | null
}

export const NO_EDITS: EditSpec = {sets: [], setHeaders: [], dropHeaders: [], transform: null, transformName: null}

export const hasEdits = (s: EditSpec | null | undefined): s is EditSpec =>
  !!s && (s.sets.length > 0 || s.setHeaders.length > 0 || s.dropHeaders.length > 0 || s.transform !== null)

/** A header name that some convention reads as its own metadata: replay never publishes one (a consumer would take the message for a DLQ entry). */
function reservedHeader(name: string): boolean {
  if (name.startsWith('dlq.')) return true
  return HEADER_CONVENTIONS.some((c) => isSystemHeader(c, name))
}

/** `--set payload.a.b=VALUE`: VALUE is JSON when it parses as JSON, else a string. */
export function parseSet(expr: string): PayloadSet {
  const eq = expr.indexOf('=')
  if (eq < 0) throw new UsageError(`--set "${expr}": expected payload.JSON.PATH=VALUE`)
  const field = expr.slice(0, eq).trim()
  const raw = expr.slice(eq + 1)
  if (!field.startsWith('payload.') || field.length <= 8) throw new UsageError(`--set "${expr}": only payload.JSON.PATH fields can be set (use --set-header for headers, --transform for anything else)`)
  const path = field.slice(8).split('.')
  if (path.some((p) => p === '')) throw new UsageError(`--set "${expr}": empty step in the path "${field}"`)
  let value: unknown
  let plain: {value: unknown} | null
  try {
    value = parseLossless(raw)
    const p = JSON.parse(raw)
    plain = JSON.stringify(p) === stringifyLossless(value) ? {value: p} : null
  } catch {
    value = raw
    plain = {value: raw}
  }
  return {expr, path, value, plain}
}

function parseHeaderAssignment(expr: string): {name: string; value: string} {
  const eq = expr.indexOf('=')
  if (eq <= 0) throw new UsageError(`--set-header "${expr}": expected NAME=VALUE`)
  const name = expr.slice(0, eq)
  checkHeaderName(name, '--set-header')
  return {name, value: expr.slice(eq + 1)}
}

function checkHeaderName(name: string, flag: string): void {
  if (reservedHeader(name)) throw new UsageError(`${flag} "${name}": a DLQ convention's metadata header (replay removes these and never publishes them)`)
}

export function parseEditFlags(flags: {set?: string[]; setHeader?: string[]; dropHeader?: string[]}): Omit<EditSpec, 'transform' | 'transformName'> {
  const setHeaders = (flags.setHeader ?? []).map(parseHeaderAssignment)
  const dropHeaders = flags.dropHeader ?? []
  for (const d of dropHeaders) if (d === '') throw new UsageError('--drop-header: give a header name')
  const both = setHeaders.find((s) => dropHeaders.includes(s.name))
  if (both) throw new UsageError(`header "${both.name}" is both set and dropped`)
  return {sets: (flags.set ?? []).map(parseSet), setHeaders, dropHeaders}
}

/** Imports a `--transform` module; its default export must be a function. */
export async function loadTransform(file: string): Promise<{fn: TransformFn; name: string}> {
  const path = resolve(file)
  if (!existsSync(path)) throw new UsageError(`--transform ${file}: no such file`)
  let mod: {default?: unknown}
  try {
    mod = await import(pathToFileURL(path).href)
  } catch (error) {
    throw new UsageError(`--transform ${file}: the module does not load: ${(error as Error).message}`)
  }
  if (typeof mod.default !== 'function') throw new UsageError(`--transform ${file}: the module's default export must be a function (record) => record | null`)
  return {fn: mod.default as TransformFn, name: file}
}

/** What an edit changed, for the dry run's diff and the ledger. */
export interface EditChange {
  /** sha256 of what is sent (key, value and headers, length-prefixed), hex. */
  sha256: string
  key: {before: Buffer | null; after: Buffer | null} | null
  payload: {before: Buffer | null; after: Buffer | null} | null
  headers: {before: RawHeader[]; after: RawHeader[]} | null
  target: {before: {topic: string; partition: number | null}; after: {topic: string; partition: number | null}} | null
}

export type EditOutcome =
  | {kind: 'unchanged'}
  | {kind: 'skip'}
  | {kind: 'error'; message: string}
  | {
      kind: 'edited'
      key: Buffer | null
      payload: Buffer | null
      headers: RawHeader[]
      target: {topic: string; partition: number | null}
      change: EditChange
      /** The transform returned a payload of its own (not the one it was given): what a record that is not the original needs. */
      payloadByTransform: boolean
    }

class EditError extends Error {}

/**
 * Applies the edits to one record: the --set flags first, then --set-header/--drop-header, then
 * the transform (which has the last word). A problem with this message (a path it does not
 * have, a payload that is not JSON, a transform that throws or returns garbage) is an `error`
 * outcome for this message only: nothing is sent for it, the others go on.
 */
export async function applyEdits(spec: EditSpec, r: DecodedRecord, target: {topic: string; partition: number | null}): Promise<EditOutcome> {
  let key = r.key
  let payload = r.payload
  let headers = r.userHeaders
  let to = target
  let payloadByTransform = false
  try {
    if (spec.sets.length > 0) payload = setPaths(payload, spec.sets)
    if (spec.setHeaders.length > 0 || spec.dropHeaders.length > 0) headers = editHeaders(headers, spec)
    if (spec.transform) {
      const out = await runTransform(spec, r, {key, payload, headers, target: to})
      if (out === null) return {kind: 'skip'}
      payloadByTransform = !sameBytes(out.payload, payload)
      ;({key, payload, headers, target: to} = out)
    }
  } catch (error) {
    // Anything else (a payload nested too deep to write back, say) is this message's problem too.
    return {kind: 'error', message: error instanceof EditError ? error.message : `the edits could not be applied: ${(error as Error)?.message ?? String(error)}`}
  }
  const change: EditChange = {
    sha256: '',
    key: sameBytes(key, r.key) ? null : {before: r.key, after: key},
    payload: sameBytes(payload, r.payload) ? null : {before: r.payload, after: payload},
    headers: sameHeaders(headers, r.userHeaders) ? null : {before: r.userHeaders, after: headers},
    target: to.topic === target.topic && to.partition === target.partition ? null : {before: target, after: to},
  }
  if (!change.key && !change.payload && !change.headers && !change.target) return {kind: 'unchanged'}
  change.sha256 = sentDigest({key, value: payload, headers})
  return {kind: 'edited', key, payload, headers, target: to, change, payloadByTransform}
}

/**
 * Numbers JSON.parse would not write back as they were: decimals and exponents (1.50 → 1.5), 16
 * digits and more (beyond 2^53), negative zero. A payload without any (a digit before ".", "e"
 * or "E" may also be inside a string: then the slow path is taken for nothing) is parsed with
 * JSON.parse, ten times faster than lossless-json; others keep every number's text.
 */
const INEXACT = /[0-9][.eE]|\d{16}|-0(?![.\d])/

function setPaths(payload: Buffer | null, sets: PayloadSet[]): Buffer {
  const text = payload === null ? null : utf8OrNull(payload)
  const fast = text !== null && sets.every((s) => s.plain !== null) && !INEXACT.test(text)
  let doc: unknown
  try {
    if (text === null) throw new Error()
    doc = fast ? JSON.parse(text) : parseLossless(text)
  } catch {
    throw new EditError(`--set ${sets[0].expr}: the payload is not JSON`)
  }
  for (const s of sets) {
    let cur: unknown = doc
    for (let i = 0; i < s.path.length; i++) {
      const step = s.path[i]
      const last = i === s.path.length - 1
      const at = s.path.slice(0, i + 1).join('.')
      if (Array.isArray(cur)) {
        const n = /^\d+$/.test(step) ? Number(step) : -1
        if (n < 0 || n >= cur.length) throw new EditError(`--set ${s.expr}: the payload has no payload.${at}`)
        if (last) cur[n] = fast ? s.plain!.value : s.value
        else cur = cur[n]
      } else if (cur !== null && typeof cur === 'object' && !isLosslessNumber(cur) && Object.hasOwn(cur, step)) {
        // defineProperty, not `=`: a "__proto__" field is an own property of parsed JSON, and `=` would set the prototype.
        if (last) Object.defineProperty(cur, step, {value: fast ? s.plain!.value : s.value, writable: true, enumerable: true, configurable: true})
        else cur = (cur as Record<string, unknown>)[step]
      } else {
        // A path that is not there is a mistake more often than a field to add (--transform adds fields).
        throw new EditError(`--set ${s.expr}: the payload has no payload.${at}`)
      }
    }
  }
  return Buffer.from((fast ? JSON.stringify(doc) : stringifyLossless(doc)) ?? 'null', 'utf8')
}

function editHeaders(headers: RawHeader[], spec: EditSpec): RawHeader[] {
  let out = headers.filter((h) => !spec.dropHeaders.includes(h.key))
  for (const s of spec.setHeaders) {
    const value = Buffer.from(s.value, 'utf8')
    const at = out.findIndex((h) => h.key === s.name)
    // Replaces every value of the name with one, where the first was (else at the end).
    out = out.filter((h, i) => h.key !== s.name || i === at)
    if (at >= 0) out = out.map((h) => (h.key === s.name ? {key: s.name, value} : h))
    else out = [...out, {key: s.name, value}]
  }
  return out
}

/** Text when valid UTF-8, else a copy of the bytes (a transform that writes into it must not change the DLQ's record unseen). */
const asText = (b: Buffer | null): string | Buffer | null => (b === null ? null : (utf8OrNull(b) ?? Buffer.from(b)))

/**
 * How long an async transform may take for one message (DLQ_TRANSFORM_TIMEOUT_MS). A promise
 * that never settles (a lookup waiting on a dead service) would hang the replay with nothing
 * said; past this the message fails (`edit_failed`) and the transform is not called again in
 * this run: every later message fails at once instead of waiting as long again. (A transform
 * that loops without returning cannot be stopped from here.)
 */
export const TRANSFORM_TIMEOUT_MS = Number(process.env.DLQ_TRANSFORM_TIMEOUT_MS) > 0 ? Number(process.env.DLQ_TRANSFORM_TIMEOUT_MS) : 30_000

/** Transforms that did not settle in time, with the message they hung on. */
const hung = new WeakMap<EditSpec, string>()

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as {then?: unknown} | null)?.then === 'function'

async function runTransform(
  spec: EditSpec,
  r: DecodedRecord,
  cur: {key: Buffer | null; payload: Buffer | null; headers: RawHeader[]; target: {topic: string; partition: number | null}},
): Promise<{key: Buffer | null; payload: Buffer | null; headers: RawHeader[]; target: {topic: string; partition: number | null}} | null> {
  const name = spec.transformName ?? 'transform'
  const text = cur.payload === null ? null : utf8OrNull(cur.payload)
  let json: unknown
  try {
    json = text === null ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  const jsonText = json === undefined ? undefined : JSON.stringify(json)
  const input: TransformRecord = {
    position: r.position,
    key: asText(cur.key),
    payload: cur.payload === null ? null : Buffer.from(cur.payload),
    text,
    json,
    headers: cur.headers.map((h) => ({key: h.key, value: asText(h.value)})),
    target: {...cur.target},
    convention: replayConvention(r),
    reason: r.reason,
    source: {topic: r.source.topic, partition: r.source.partition, offset: r.source.offset === null ? null : String(r.source.offset), group: r.source.group},
    notOriginal: r.notOriginal,
  }
  const stuck = hung.get(spec)
  if (stuck !== undefined) throw new EditError(`${name} was not called: it did not settle for ${stuck} within ${TRANSFORM_TIMEOUT_MS / 1000} s`)
  let out: unknown
  try {
    out = untilInterrupted(() => spec.transform!(input))
    if (isThenable(out)) {
      out = await withDeadline(out, TRANSFORM_TIMEOUT_MS, () => {
        hung.set(spec, `position ${r.position}`)
        return new EditError(`the transform did not settle within ${TRANSFORM_TIMEOUT_MS / 1000} s; it is not called again in this run`)
      })
    }
  } catch (error) {
    if (error instanceof EditError) throw error
    throw new EditError(`${name} threw: ${(error as Error)?.message ?? String(error)}`)
  }
  if (out === null) return null
  if (out === undefined) throw new EditError(`${name} returned undefined: return the record (changed or not), or null to skip the message`)
  if (typeof out !== 'object' || Array.isArray(out) || Buffer.isBuffer(out)) throw new EditError(`${name} returned ${describe(out)}: return the record (changed or not), or null to skip the message`)
  const o = out as Record<string, unknown>

  // The payload is whichever of payload / text / json the transform changed; two changed is ambiguous.
  const changed: string[] = []
  if ('payload' in o && !(o.payload === cur.payload || (Buffer.isBuffer(o.payload) && cur.payload !== null && o.payload.equals(cur.payload)))) changed.push('payload')
  if ('text' in o && o.text !== text) changed.push('text')
  if ('json' in o && safeStringify(o.json) !== jsonText) changed.push('json')
  if (changed.length > 1) throw new EditError(`${name} changed ${changed.join(' and ')}: change only one of payload, text, json`)
  let payload = cur.payload
  if (changed[0] === 'payload') payload = bytesOf(o.payload, `${name}: payload`, true)
  else if (changed[0] === 'text') {
    if (o.text !== null && typeof o.text !== 'string') throw new EditError(`${name}: text must be a string or null, got ${describe(o.text)}`)
    payload = o.text === null ? null : Buffer.from(o.text as string, 'utf8')
  } else if (changed[0] === 'json') {
    const t = safeStringify(o.json)
    if (t === undefined) throw new EditError(`${name}: json cannot be written as JSON (${describe(o.json)})`)
    payload = Buffer.from(t, 'utf8')
  }

  const key = 'key' in o ? bytesOf(o.key, `${name}: key`, false) : cur.key
  let headers = cur.headers
  if ('headers' in o) {
    if (!Array.isArray(o.headers)) throw new EditError(`${name}: headers must be an array of {key, value}, got ${describe(o.headers)}`)
    headers = o.headers.map((h, i) => {
      if (h === null || typeof h !== 'object' || typeof (h as {key?: unknown}).key !== 'string' || (h as {key: string}).key === '') {
        throw new EditError(`${name}: headers[${i}] must be {key: string, value: string | Buffer | null}`)
      }
      const k = (h as {key: string}).key
      if (reservedHeader(k) && !cur.headers.some((c) => c.key === k)) throw new EditError(`${name}: header "${k}" is a DLQ convention's metadata header; replay never publishes one`)
      const value = bytesOf((h as {value?: unknown}).value ?? null, `${name}: headers[${i}].value`, false)
      // A name that was not UTF-8 reached the transform as text with U+FFFD: kept, it goes back as its bytes.
      const bytes = cur.headers.find((c) => c.keyBytes && c.key === k)?.keyBytes
      return bytes ? {key: k, value, keyBytes: bytes} : {key: k, value}
    })
  }
  let target = cur.target
  if ('target' in o) {
    const t = o.target as {topic?: unknown; partition?: unknown} | null
    if (t === null || typeof t !== 'object' || typeof t.topic !== 'string' || t.topic === '') throw new EditError(`${name}: target must be {topic: string, partition: number | null}`)
    const p = t.partition ?? null
    if (p !== null && !(typeof p === 'number' && Number.isInteger(p) && p >= 0)) throw new EditError(`${name}: target.partition must be a partition number or null, got ${describe(p)}`)
    // The name is checked by the plan with the sink's own rule (Kafka's topic names; a Redis
    // stream may hold ':'), after every edit: a bad one is target_invalid for that message alone.
    target = {topic: t.topic, partition: p as number | null}
  }
  return {key, payload, headers, target}
}

function bytesOf(v: unknown, what: string, jsonOk: boolean): Buffer | null {
  if (v === null) return null
  if (Buffer.isBuffer(v)) return v
  if (v instanceof Uint8Array) return Buffer.from(v)
  if (typeof v === 'string') return Buffer.from(v, 'utf8')
  if (jsonOk && v !== undefined && typeof v === 'object') {
    const t = safeStringify(v)
    if (t !== undefined) return Buffer.from(t, 'utf8')
  }
  throw new EditError(`${what} must be a string, a Buffer or null, got ${describe(v)}`)
}

function safeStringify(v: unknown): string | undefined {
  try {
    return JSON.stringify(v)
  } catch {
    return undefined
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (Buffer.isBuffer(v)) return 'a Buffer'
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 40)}`
}

const sameBytes = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : a.equals(b))

function sameHeaders(a: RawHeader[], b: RawHeader[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  return a.every((h, i) => h.key === b[i].key && sameBytes(h.value, b[i].value))
}

/**
 * Runs user code so that Ctrl-C (or SIGTERM, SIGHUP) still ends the process while it runs: dlq's own
 * handlers are JavaScript, which a transform looping forever never lets run, so they are taken
 * off for the call and Node's default (end the process, as a shell's 130) applies. Ending here
 * is a crash as far as the replay is concerned: what was claimed and in flight is resolved by
 * the next run, as after any crash.
 */
function untilInterrupted<T>(call: () => T): T {
  // rawListeners: a once() handler stays a once() handler when it is put back.
  const handlers = STOP_SIGNALS.map((s) => [s, process.rawListeners(s) as Array<(...args: unknown[]) => void>] as const)
  for (const s of STOP_SIGNALS) process.removeAllListeners(s)
  try {
    return call()
  } finally {
    for (const [s, hs] of handlers) for (const h of hs) process.on(s, h)
  }
}

/**
 * The digest the ledger records for an edited replay: of the message as replay hands it to the
 * sink (key, value, user headers, each length-prefixed), before a store lays it out.
 */
export function sentDigest(m: {key: Buffer | null; value: Buffer | null; headers: RawHeader[]}): string {
  const h = crypto.createHash('sha256')
  const feed = (tag: string, b: Buffer | null) => {
    if (b === null) h.update(`${tag}-;`)
    else {
      h.update(`${tag}${b.length}:`)
      h.update(b)
    }
  }
  feed('k', m.key)
  feed('v', m.value)
  for (const x of m.headers) {
    feed('hk', Buffer.from(x.key, 'utf8'))
    feed('hv', x.value)
  }
  return h.digest('hex')
}
