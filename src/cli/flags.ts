import {Args, Flags} from '@oclif/core'
import {DEFAULT_PAYLOAD_LIMIT, MAX_PAYLOAD_LIMIT} from '../core/message.js'
import {DEFAULT_LIMIT, MAX_LIMIT} from '../core/reader.js'
import {UsageError} from '../core/errors.js'
import {FILTER_FIELDS, type FilterSpec} from '../core/filter.js'

export const sourceArg = Args.string({
  description: 'The DLQ: a file (.ndjson, .ndjson.gz, file:PATH), a rotated directory, kafka://host:port/topic or redis://host:port/stream',
  required: true,
})

/** The filter language of product.md, shared by inspect, browse, replay --all and stats. */
export const filterFlags = {
  filter: Flags.string({
    char: 'f',
    multiple: true,
    // One value per flag: `--filter X FILE` keeps FILE as the source (greedy, it took FILE as a second filter).
    multipleNonGreedy: true,
    // The same list the "unknown field" error gives: both come from FILTER_FIELDS.
    description: `FIELD OP VALUE, repeatable, all must match. OP: = != ~ < > <= >=. Fields: ${FILTER_FIELDS.join(', ')}`,
    helpValue: 'EXPR',
  }),
  grep: Flags.string({description: 'Only messages whose payload contains TEXT.', helpValue: 'TEXT'}),
  since: Flags.string({description: 'Only messages at or after TIME (ISO 8601, epoch ms, or relative like -2h).', helpValue: 'TIME'}),
  until: Flags.string({description: 'Only messages at or before TIME.', helpValue: 'TIME'}),
}

export function filterSpec(flags: {filter?: string[]; grep?: string; since?: string; until?: string}): FilterSpec {
  return {filters: flags.filter, grep: flags.grep, since: flags.since, until: flags.until}
}

export const pageFlags = {
  from: Flags.string({description: 'Start at this position (as printed by inspect).', helpValue: 'POS'}),
  limit: Flags.integer({
    char: 'n',
    description: `Messages per page (max ${MAX_LIMIT}).`,
    default: DEFAULT_LIMIT,
    env: 'DLQ_LIMIT',
  }),
  'payload-limit': Flags.integer({
    description: `Bytes of each payload to show (max ${MAX_PAYLOAD_LIMIT}).`,
    default: DEFAULT_PAYLOAD_LIMIT,
    env: 'DLQ_PAYLOAD_LIMIT',
    helpValue: 'BYTES',
  }),
  'no-payload': Flags.boolean({description: 'Leave payloads out (sizes only).'}),
}

export function checkPayloadLimit(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--payload-limit ${n}: must be a whole number of bytes from 0 to ${MAX_PAYLOAD_LIMIT}`)
  if (n > MAX_PAYLOAD_LIMIT) throw new UsageError(`--payload-limit ${n}: the most is ${MAX_PAYLOAD_LIMIT} bytes (1 MiB)`)
  return n
}

/** `--partition N` (repeatable): read only these partitions of a Kafka DLQ. */
export const partitionFlag = {
  partition: Flags.integer({
    multiple: true,
    // One value per flag: `--filter X FILE` keeps FILE as the source (greedy, it took FILE as a second filter).
    multipleNonGreedy: true,
    min: 0,
    description: 'Kafka only: read just this partition (repeatable).',
    helpValue: 'N',
  }),
}

/** Folds `--partition` into a Kafka source URI (`?partition=N,M`); other stores have no partitions. */
export function withPartitions(source: string, partitions: number[] | undefined): string {
  if (!partitions || partitions.length === 0) return source
  if (!/^kafka:\/\//i.test(source.trim())) throw new UsageError('--partition applies to Kafka sources (kafka://host:port/topic) only')
  const list = [...new Set(partitions)].sort((a, b) => a - b).join(',')
  if (/[?&]partition=/.test(source)) throw new UsageError('give the partitions either with --partition or with ?partition= in the URI, not both')
  return `${source}${source.includes('?') ? '&' : '?'}partition=${list}`
}

/**
 * Where a replay sends messages: shared by `replay` and `browse` (which replays its selection),
 * so both read the same environment variables.
 */
export const replayTargetFlags = {
  to: Flags.string({description: 'Send every message to this topic / stream instead of its recorded source topic.', helpValue: 'TOPIC', env: 'DLQ_REPLAY_TO'}),
  sink: Flags.string({
    description: "Where the target topics live: kafka://host:port or redis://host:port (required for file DLQs; default: the DLQ's own cluster or server).",
    helpValue: 'URI',
    env: 'DLQ_SINK',
  }),
  ledger: Flags.string({description: "Keep the replay ledger in this file instead of the DLQ's own store (a new file, or one holding ledger lines: never the DLQ itself or the settings store).", helpValue: 'PATH', env: 'DLQ_LEDGER'}),
}

/** Decoding of Confluent wire-format payloads and keys (Avro, Protobuf, JSON Schema) with a registry. */
export const schemaFlags = {
  'schema-registry': Flags.string({
    description:
      "Decode payloads and keys in the Confluent wire format (Avro, Protobuf, JSON Schema) with this schema registry's Confluent API (http[s]://host:port[/path]; Apicurio: …/apis/ccompat/v7). Else the profile's schemaRegistry.url. User and password: in the URL, DLQ_SCHEMA_REGISTRY_USERNAME/_PASSWORD or the profile.",
    helpValue: 'URL',
    env: 'DLQ_SCHEMA_REGISTRY',
  }),
  decode: Flags.string({
    options: ['auto', 'off', 'required'],
    default: 'auto',
    env: 'DLQ_DECODE',
    description: 'auto: decode when a registry is set, show the raw bytes with a note where decoding fails; off: never decode; required: a registry must be set and reachable (exit 4 when it is not).',
  }),
}
