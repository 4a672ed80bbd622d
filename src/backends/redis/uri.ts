import {splitUserinfo} from '../../core/uri.js'
import {UsageError} from '../../core/errors.js'
import {redactUri} from '../../core/source.js'

/**
 * A Redis source or sink as named on the command line (docs/redis.md):
 *
 *   redis[s]://[user[:password]@]host[:port][/db][/stream-key][?group=G&prefix=P]
 *
 * The stream key is one path segment: `/` inside it must be written `%2F` (`:` may stay as
 * it is), so `redis://h/0/a/b` is rejected rather than guessed at. A lone numeric segment
 * is a database number, so a stream whose name is only digits needs the db in front.
 */
export interface RedisTarget {
  tls: boolean
  host: string
  port: number
  db: number
  /** The stream key as bytes (percent-decoding may give bytes that are not UTF-8). */
  key: Buffer | null
  username: string | null
  password: string | null
  /** Consumer group whose delivery counts become retries (default: every group, the max). */
  group: string | null
  /** Sink only: prepended to the target topic to name the stream written to. */
  prefix: string
  /** The target as shown to users: never a password. */
  display: string
}

const QUERY_PARAMS = ['group', 'prefix'] as const
const MAX_DB = 1_000_000

function usage(uri: string, why: string): UsageError {
  return new UsageError(`source "${redactUri(uri)}": ${why}`)
}

/** Percent-decoding to bytes: decodeURIComponent would reject (or mangle) non-UTF-8 keys. */
export function percentDecode(s: string): Buffer {
  const out: number[] = []
  const raw = Buffer.from(s, 'utf8')
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]
    if (b === 0x25 /* % */) {
      const hex = raw.subarray(i + 1, i + 3).toString('latin1')
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`"%${hex}" is not a percent-escape (write a literal % as %25)`)
      out.push(Number.parseInt(hex, 16))
      i += 2
    } else out.push(b)
  }
  return Buffer.from(out)
}

const pct = (b: number) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`

/** How a key is named in messages: as text when it is printable UTF-8, else percent-encoded. */
export function keyText(key: Buffer): string {
  const text = key.toString('utf8')
  // eslint-disable-next-line no-control-regex
  if (Buffer.from(text, 'utf8').equals(key) && !/[\u0000-\u001f\u007f%]/.test(text)) return text
  return [...key].map((b) => (b > 0x20 && b < 0x7f && b !== 0x25 ? String.fromCharCode(b) : pct(b))).join('')
}

/** The key as a URI path segment that parses back to the same bytes (for the display URI). */
export function keySegment(key: Buffer): string {
  return keyText(key).replace(/[/?#]|%(?![0-9A-F]{2})/g, (c) => pct(c.charCodeAt(0)))
}

export function parseRedisUri(uri: string, opts: {needKey: boolean}): RedisTarget {
  const m = uri.trim().match(/^(rediss?):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/i)
  if (!m) throw usage(uri, 'expected redis://[user:password@]host:port[/db]/stream-key (or rediss:// for TLS)')
  const [, scheme, authority, path, query, fragment] = m
  if (fragment) throw usage(uri, 'a "#" in a stream key must be written %23')

  const creds = splitUserinfo(authority)
  if (creds === 'bad-escape') throw usage(uri, 'the user or password has a bad percent-escape')
  const {username, password, hosts: hostport} = creds

  const hp = hostport.match(/^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/)
  if (!hp) throw usage(uri, hostport === '' ? 'no host' : `"${hostport}" is not host or host:port`)
  const host = hp[1].startsWith('[') ? hp[1].slice(1, -1) : hp[1]
  const port = hp[2] === undefined ? 6379 : Number(hp[2])
  if (port < 1 || port > 65535) throw usage(uri, `port ${hp[2]} is out of range`)

  const segments = path.split('/').slice(1)
  if (segments.at(-1) === '') segments.pop()
  let db = 0
  if (segments.length > 0 && /^\d+$/.test(segments[0])) {
    db = Number(segments.shift())
    if (db > MAX_DB) throw usage(uri, `database ${db} is out of range`)
  }
  if (segments.length > 1) {
    throw usage(uri, `the stream key may not contain "/" as it is: write it %2F (redis://host:port/${db}/${segments.join('%2F')})`)
  }
  let key: Buffer | null = null
  if (segments.length === 1) {
    if (segments[0] === '') throw usage(uri, 'the stream key is empty')
    try {
      key = percentDecode(segments[0])
    } catch (error) {
      throw usage(uri, (error as Error).message)
    }
  }
  if (opts.needKey && key === null) {
    throw usage(
      uri,
      db > 0 || /\/\d+\/?$/.test(path)
        ? `no stream key after database ${db} (a stream named only with digits is written redis://host:port/0/NAME)`
        : 'no stream key: use redis://host:port[/db]/stream-key',
    )
  }

  const params = new URLSearchParams(query ?? '')
  for (const name of params.keys()) {
    if (!(QUERY_PARAMS as readonly string[]).includes(name)) throw usage(uri, `unknown parameter "${name}" (known: ${QUERY_PARAMS.join(', ')})`)
  }
  const group = params.get('group')
  if (group === '') throw usage(uri, 'group= needs a consumer group name')

  const tls = scheme.toLowerCase() === 'rediss'
  const hostShown = host.includes(':') ? `[${host}]` : host
  const cred = username !== null ? `${username}:***@` : password !== null ? '***@' : ''
  const display = `${tls ? 'rediss' : 'redis'}://${cred}${hostShown}:${port}/${db}${key === null ? '' : `/${keySegment(key)}`}`

  return {tls, host, port, db, key, username, password, group, prefix: params.get('prefix') ?? '', display}
}
