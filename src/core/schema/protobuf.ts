import protobuf from 'protobufjs'
import descriptor from 'protobufjs/ext/descriptor/index.js'

/**
 * Protobuf payloads in the Confluent wire format: after the schema id come the message indexes
 * (a zig-zag varint count, then that many zig-zag varints; a single 0 byte means [0], the first
 * message of the file), then the message. The registry holds a schema either as .proto text or,
 * as Confluent's Python serializer registers it, as a base64 FileDescriptorProto; both are read.
 * The value is shown in the proto3 JSON mapping: lowerCamelCase names, 64-bit integers as
 * strings, enums by name, bytes base64, well-known types (Timestamp, Duration, wrappers, Struct,
 * Empty, FieldMask) as their JSON form. Defaults are left out, as the mapping says.
 */
export interface ProtoFile {
  /** The import name the schema is known by (a reference's `name`); '' for the schema itself. */
  name: string
  schema: string
}

type Decode = (body: Buffer) => unknown

const FileDescriptorProto = (descriptor as any).FileDescriptorProto
/** protobufjs's descriptor extension adds these to Root (its typings do not say so). */
const DescRoot = protobuf.Root as unknown as {
  fromDescriptor(set: {file: any[]}): protobuf.Root
  fromJSON(json: protobuf.INamespace): {toDescriptor(syntax: string): {file: any[]}}
}

/** A base64 FileDescriptorProto, or null when the text is .proto source. */
function asDescriptor(schema: string): any | null {
  const t = schema.trim()
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t) || t.length % 4 !== 0) return null
  try {
    const fdp = FileDescriptorProto.decode(Buffer.from(t, 'base64'))
    return typeof fdp.name === 'string' || fdp.messageType?.length ? fdp : null
  } catch {
    return null
  }
}

const WELL_KNOWN = /^google\/protobuf\/[\w]+\.proto$/

function wellKnownDescriptor(name: string): any {
  const json = protobuf.common.get(name)
  if (!json) throw new Error(`import "${name}" is neither a reference nor a well-known type protobufjs carries`)
  const file = DescRoot.fromJSON({nested: json.nested as any}).toDescriptor('proto3').file[0]
  file.name = name
  return file
}

interface Compiled {
  root: protobuf.Root
  /** Fully qualified names of the schema's own top-level messages, in declaration order. */
  topLevel: string[]
}

function compileDescriptors(main: any, refs: any[]): Compiled {
  const files = [...refs, main]
  const have = new Set(files.map((f) => f.name))
  const wk: any[] = []
  const want = (deps: string[] | undefined) => {
    for (const d of deps ?? []) {
      if (!have.has(d) && WELL_KNOWN.test(d)) {
        have.add(d)
        const f = wellKnownDescriptor(d)
        want(f.dependency)
        wk.push(f)
      }
    }
  }
  for (const f of files) want(f.dependency)
  const root = DescRoot.fromDescriptor({file: [...wk, ...files]})
  const pkg = main.package ? `${main.package}.` : ''
  return {root, topLevel: (main.messageType ?? []).map((m: any) => `${pkg}${m.name}`)}
}

function compileText(main: string, refs: ProtoFile[]): Compiled {
  const root = new protobuf.Root()
  const imports = new Set<string>()
  const parse = (text: string) => {
    const r = protobuf.parse(text, root, {keepCase: true})
    for (const i of [...(r.imports ?? []), ...(r.weakImports ?? [])]) imports.add(i)
    return r
  }
  for (const ref of refs) parse(ref.schema)
  const parsed = parse(main)
  const known = new Set(refs.map((r) => r.name))
  const added = new Set<string>()
  const addWellKnown = (name: string) => {
    if (added.has(name) || known.has(name)) return
    added.add(name)
    const json = protobuf.common.get(name)
    if (!json) throw new Error(`import "${name}" is neither a reference nor a well-known type protobufjs carries`)
    root.addJSON(json.nested as any)
  }
  for (const i of imports) if (WELL_KNOWN.test(i)) addWellKnown(i)
  root.resolveAll()
  // The order of the schema's own messages: parse it alone (nothing is resolved there).
  const alone = protobuf.parse(main, new protobuf.Root(), {keepCase: true})
  let ns: protobuf.NamespaceBase = alone.root
  if (alone.package) ns = alone.root.lookup(alone.package) as protobuf.Namespace
  const pkg = parsed.package ? `${parsed.package}.` : ''
  return {root, topLevel: ns.nestedArray.filter((n) => n instanceof protobuf.Type).map((t) => `${pkg}${t.name}`)}
}

/** Reads one zig-zag varint at `pos`; returns [value, next position]. */
function zigzagVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0
  let shift = 0
  for (;;) {
    if (pos >= buf.length) throw new Error('message indexes run past the end of the payload')
    const b = buf[pos++]
    result += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) break
    shift += 7
    if (shift > 35) throw new Error('a message index is not a valid varint')
  }
  return [result % 2 === 0 ? result / 2 : -(result + 1) / 2, pos]
}

/** The message indexes after the schema id, and where the message starts. */
export function messageIndexes(body: Buffer): {indexes: number[]; start: number} {
  const [count, p] = zigzagVarint(body, 0)
  if (count === 0) return {indexes: [0], start: p}
  if (count < 0 || count > 100) throw new Error(`message index count ${count} is not plausible`)
  const indexes: number[] = []
  let pos = p
  for (let i = 0; i < count; i++) {
    const [v, next] = zigzagVarint(body, pos)
    if (v < 0) throw new Error(`message index ${v} is negative`)
    indexes.push(v)
    pos = next
  }
  return {indexes, start: pos}
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0')
}

function nanosText(nanos: number): string {
  if (!nanos) return ''
  const s = pad(nanos, 9)
  return '.' + (s.endsWith('000000') ? s.slice(0, 3) : s.endsWith('000') ? s.slice(0, 6) : s)
}

type Conv = (v: any) => unknown
const same: Conv = (v) => v

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'])

function structValue(v: any): unknown {
  if (v === null || v === undefined) return null
  if ('nullValue' in v || 'null_value' in v) return null
  if ('numberValue' in v || 'number_value' in v) return v.numberValue ?? v.number_value
  if ('stringValue' in v || 'string_value' in v) return v.stringValue ?? v.string_value
  if ('boolValue' in v || 'bool_value' in v) return v.boolValue ?? v.bool_value
  const s = v.structValue ?? v.struct_value
  if (s) return structObject(s)
  const l = v.listValue ?? v.list_value
  if (l) return (l.values ?? []).map(structValue)
  return null
}
function structObject(s: any): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(s.fields ?? {})) out[k] = structValue(v)
  return out
}

/** A converter from protobufjs's plain object to the proto3 JSON mapping, built once per type. */
function converter(type: protobuf.Type, seen = new Map<protobuf.Type, Conv>()): Conv {
  const full = type.fullName
  if (full.startsWith('.google.protobuf.')) {
    const short = full.slice('.google.protobuf.'.length)
    if (short === 'Timestamp') {
      return (v) => {
        const ms = Number(v.seconds ?? 0) * 1000
        const d = new Date(ms)
        return Number.isNaN(d.getTime()) ? v : d.toISOString().replace(/\.\d{3}Z$/, `${nanosText(v.nanos ?? 0)}Z`)
      }
    }
    if (short === 'Duration') return (v) => `${v.seconds ?? 0}${nanosText(Math.abs(v.nanos ?? 0))}s`
    if (WRAPPERS.has(short)) return (v) => v.value ?? (short === 'StringValue' || short === 'BytesValue' ? '' : short === 'BoolValue' ? false : short.includes('64') ? '0' : 0)
    if (short === 'Struct') return structObject
    if (short === 'Value') return structValue
    if (short === 'ListValue') return (v) => (v.values ?? []).map(structValue)
    if (short === 'Empty') return () => ({})
    if (short === 'FieldMask') return (v) => (v.paths ?? []).map(camel).join(',')
  }
  const cached = seen.get(type)
  if (cached) return cached
  let fields: Array<[string, string, Conv, boolean, boolean]> = []
  const conv: Conv = (v) => {
    const out: Record<string, unknown> = {}
    for (const [from, to, c, repeated, map] of fields) {
      const x = v[from]
      if (x === undefined) continue
      if (map) {
        const o: Record<string, unknown> = {}
        for (const k of Object.keys(x)) o[k] = c(x[k])
        out[to] = o
      } else out[to] = repeated ? (x as unknown[]).map(c) : c(x)
    }
    return out
  }
  seen.set(type, conv)
  fields = type.fieldsArray.map((f) => {
    f.resolve()
    const c = f.resolvedType instanceof protobuf.Type ? converter(f.resolvedType, seen) : same
    return [f.name, camel(f.name), c, f.repeated, f.map]
  })
  return conv
}

/** Compiles a Protobuf schema and its references (dependencies first) into a decoder. */
export function protobufDecoder(schema: string, references: ProtoFile[]): Decode {
  const main = asDescriptor(schema)
  const refDescs = references.map((r) => ({name: r.name, d: asDescriptor(r.schema)}))
  let compiled: Compiled
  if (main && refDescs.every((r) => r.d)) {
    compiled = compileDescriptors(main, refDescs.map((r) => ({...r.d, name: r.d.name || r.name})))
  } else if (!main && refDescs.every((r) => !r.d)) {
    compiled = compileText(schema, references)
  } else {
    throw new Error('a schema in .proto text with references registered as descriptors (or the other way round) is not supported')
  }
  const {root, topLevel} = compiled
  const byPath = new Map<string, {type: protobuf.Type; toJson: Conv}>()
  const typeAt = (indexes: number[]) => {
    const key = indexes.join(',')
    let hit = byPath.get(key)
    if (!hit) {
      const top = topLevel[indexes[0]]
      if (top === undefined) throw new Error(`message index ${indexes[0]}: the schema has ${topLevel.length} top-level message(s)`)
      let type = root.lookupType(top)
      for (const i of indexes.slice(1)) {
        const nested = type.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type)
        if (!nested[i]) throw new Error(`message index ${indexes.join(',')}: ${type.name} has no nested message ${i}`)
        type = nested[i]
      }
      hit = {type, toJson: converter(type)}
      byPath.set(key, hit)
    }
    return hit
  }
  return (body) => {
    const {indexes, start} = messageIndexes(body)
    const {type, toJson} = typeAt(indexes)
    const msg = type.decode(body.subarray(start))
    return toJson(type.toObject(msg, {longs: String, enums: String, bytes: String}))
  }
}
