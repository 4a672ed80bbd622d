import {splitUserinfo} from '../../core/uri.js'
import {UsageError} from '../../core/errors.js'
import {redactUri} from '../../core/source.js'

/**
 * A Kafka source or sink as named on the command line (docs/kafka.md):
 *
 *   kafka://[user[:password]@]host[:port][,host[:port]…][/topic][?param=value&…]
 *
 * Parameters: `partition=N[,M…]` (readers only: read just these partitions),
 * `sasl=plain|scram-sha-256|scram-sha-512`, `tls=1|0`, `ca=PATH`, `cert=PATH`, `key=PATH`,
 * `insecure=1` (TLS without certificate verification; testing only).
 * Credentials in the URI are allowed but never shown: `display` has `***` instead.
 */
export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512'
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512']

export interface BrokerAddress {
  host: string
  port: number
}

export interface KafkaTarget {
  brokers: BrokerAddress[]
  topic: string | null
  /** Partitions to read, ascending and distinct; null = all of them. */
  partitions: number[] | null
  username: string | null
  password: string | null
  sasl: SaslMechanism | null
  /** null = not said in the URI (the environment or the profile may still turn TLS on). */
  tls: boolean | null
  ca: string | null
  cert: string | null
  key: string | null
  insecure: boolean
  /** The target as shown to users: never a password. */
  display: string
}

const QUERY_PARAMS = ['partition', 'sasl', 'tls', 'ca', 'cert', 'key', 'insecure'] as const
/** Kafka's own rule for topic names (org.apache.kafka.common.internals.Topic). */
const TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/
const DEFAULT_PORT = 9092
const MAX_PARTITION = 2 ** 31 - 1

function usage(uri: string, why: string): UsageError {
  return new UsageError(`source "${redactUri(uri)}": ${why}`)
}

export function parseSaslMechanism(text: string, where: string): SaslMechanism {
  const m = text.trim().toLowerCase().replace(/_/g, '-')
  if ((SASL_MECHANISMS as readonly string[]).includes(m)) return m as SaslMechanism
  throw new UsageError(`${where}: SASL mechanism "${text}" is not supported (use ${SASL_MECHANISMS.join(', ')})`)
}

export function parseFlag(text: string, where: string): boolean {
  const t = text.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(t)) return true
  if (['0', 'false', 'no', 'off'].includes(t)) return false
  throw new UsageError(`${where}: "${text}" is not 1/0 or true/false`)
}

function parseBroker(uri: string, text: string): BrokerAddress {
  const m = text.match(/^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/)
  if (!m) throw usage(uri, text === '' ? 'a broker address is empty' : `"${text}" is not host or host:port`)
  const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1]
  const port = m[2] === undefined ? DEFAULT_PORT : Number(m[2])
  if (port < 1 || port > 65535) throw usage(uri, `port ${m[2]} is out of range`)
  return {host, port}
}

export function brokerText(b: BrokerAddress): string {
  return `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`
}

function parsePartitions(uri: string, text: string): number[] {
  const out = new Set<number>()
  for (const part of text.split(',')) {
    const t = part.trim()
    if (!/^\d{1,10}$/.test(t) || Number(t) > MAX_PARTITION) throw usage(uri, `partition=${text}: "${t}" is not a partition number`)
    out.add(Number(t))
  }
  return [...out].sort((a, b) => a - b)
}

export function parseKafkaUri(uri: string, opts: {needTopic: boolean}): KafkaTarget {
  const m = uri.trim().match(/^kafka:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/i)
  if (!m) throw usage(uri, 'expected kafka://host:port[,host:port…]/topic')
  const [, authority, path, query, fragment] = m
  if (fragment) throw usage(uri, 'a Kafka URI has no "#" part')

  const creds = splitUserinfo(authority)
  if (creds === 'bad-escape') throw usage(uri, 'the user or password has a bad percent-escape')
  const {username, password, hosts} = creds
  if (hosts === '') throw usage(uri, 'no broker address (kafka://host:port/topic)')
  const brokers = hosts.split(',').map((h) => parseBroker(uri, h.trim()))

  const segments = path.split('/').slice(1)
  if (segments.at(-1) === '') segments.pop()
  if (segments.length > 1) throw usage(uri, `"${path}" is not one topic name (Kafka topic names cannot contain "/")`)
  let topic: string | null = null
  if (segments.length === 1) {
    let t: string
    try {
      t = decodeURIComponent(segments[0])
    } catch {
      throw usage(uri, 'the topic has a bad percent-escape')
    }
    if (!TOPIC_RE.test(t)) throw usage(uri, `"${t}" is not a valid Kafka topic name (letters, digits, ".", "_", "-"; at most 249)`)
    topic = t
  }
  if (opts.needTopic && topic === null) throw usage(uri, 'no topic: use kafka://host:port/topic')

  const params = new URLSearchParams(query ?? '')
  for (const name of params.keys()) {
    if (!(QUERY_PARAMS as readonly string[]).includes(name)) throw usage(uri, `unknown parameter "${name}" (known: ${QUERY_PARAMS.join(', ')})`)
    if (params.getAll(name).length > 1) throw usage(uri, `parameter "${name}" is given more than once`)
  }
  const where = (name: string) => `source "${redactUri(uri)}": ${name}=`
  const partitionText = params.get('partition')
  const saslText = params.get('sasl')
  const tlsText = params.get('tls')
  const path_ = (name: 'ca' | 'cert' | 'key') => {
    const v = params.get(name)
    if (v === '') throw usage(uri, `${name}= needs a file path`)
    return v
  }
  const insecureText = params.get('insecure')

  const partitions = partitionText === null ? null : parsePartitions(uri, partitionText)
  const shownUser = username !== null ? `${encodeURIComponent(username)}:***@` : password !== null ? '***@' : ''
  const display = `kafka://${shownUser}${brokers.map(brokerText).join(',')}${topic === null ? '' : `/${topic}`}${partitions ? `?partition=${partitions.join(',')}` : ''}`

  return {
    brokers,
    topic,
    partitions,
    username,
    password,
    sasl: saslText === null ? null : parseSaslMechanism(saslText, where('sasl')),
    tls: tlsText === null ? null : parseFlag(tlsText, where('tls')),
    ca: path_('ca'),
    cert: path_('cert'),
    key: path_('key'),
    insecure: insecureText === null ? false : parseFlag(insecureText, where('insecure')),
    display,
  }
}
