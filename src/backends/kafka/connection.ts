import {readFileSync} from 'node:fs'
import type {ConnectionOptions as TlsOptions} from 'node:tls'
import {activeProfile, type TlsSettings} from '../../core/config.js'
import {connectionLost, DlqError, UnavailableError, UsageError} from '../../core/errors.js'
import {brokerText, parseFlag, parseSaslMechanism, type KafkaTarget, type SaslMechanism} from './uri.js'

/** The client library, loaded only when a Kafka source or sink is opened. */
export type KafkaLib = typeof import('@platformatic/kafka')
export type KafkaBase = InstanceType<KafkaLib['Base']>
export type KafkaConnection = Awaited<ReturnType<KafkaBase['connections']['get']>>

/** A broker that does not accept the connection (and the SASL handshake) within this fails fast. */
export const CONNECT_TIMEOUT_MS = 5000
/** Any request: a broker that stops answering must not hang a CI job. */
export const REQUEST_TIMEOUT_MS = 15_000

export interface ResolvedSettings {
  sasl: {mechanism: SaslMechanism; username: string; password: string; passwordFrom: string} | null
  tls: TlsOptions | null
  clientId: string
}

function readPem(path: string, what: string, from: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new UsageError(`Kafka TLS ${what} (${from}): cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
}

/**
 * Where each setting comes from, first found wins: the URI, then DLQ_KAFKA_* environment
 * variables, then the active profile's `kafka` section (src/core/config.ts).
 */
export function resolveSettings(target: KafkaTarget, env: NodeJS.ProcessEnv = process.env): ResolvedSettings {
  const profile = activeProfile().kafka ?? {}
  const pick = <T>(...c: Array<[T | null | undefined, string]>): [T, string] | null => {
    for (const [v, from] of c) if (v !== null && v !== undefined && v !== '') return [v, from]
    return null
  }

  const username = pick<string>([target.username, 'the URI'], [env.DLQ_KAFKA_USERNAME, 'DLQ_KAFKA_USERNAME'], [profile.sasl?.username, 'the profile (kafka.sasl.username)'])
  const password = pick<string>(
    [target.password, 'the URI'],
    [env.DLQ_KAFKA_PASSWORD, 'DLQ_KAFKA_PASSWORD'],
    [profile.sasl?.password, 'the profile (kafka.sasl.password)'],
  )
  const mechanismText = pick<string>(
    [target.sasl, 'the URI'],
    [env.DLQ_KAFKA_SASL_MECHANISM, 'DLQ_KAFKA_SASL_MECHANISM'],
    [profile.sasl?.mechanism, 'the profile (kafka.sasl.mechanism)'],
  )
  let sasl: ResolvedSettings['sasl'] = null
  if (mechanismText) {
    const mechanism = parseSaslMechanism(mechanismText[0], `SASL mechanism from ${mechanismText[1]}`)
    if (!username) throw new UsageError(`SASL ${mechanism} needs a user name: put it in the URI (kafka://USER@host…), DLQ_KAFKA_USERNAME or the profile`)
    if (!password) throw new UsageError(`SASL ${mechanism} needs a password: set DLQ_KAFKA_PASSWORD or put it in the profile (not on the command line)`)
    sasl = {mechanism, username: username[0], password: password[0], passwordFrom: password[1]}
  } else if (username || password) {
    throw new UsageError(
      `Kafka credentials given (${(username ?? password)![1]}) but no SASL mechanism: add ?sasl=plain|scram-sha-256|scram-sha-512 to the URI or set DLQ_KAFKA_SASL_MECHANISM`,
    )
  }

  const profTls: TlsSettings = typeof profile.tls === 'object' ? profile.tls : {}
  const ca = pick<string>([target.ca, 'URI ca='], [env.DLQ_KAFKA_CA, 'DLQ_KAFKA_CA'], [profTls.ca, 'profile kafka.tls.ca'])
  const cert = pick<string>([target.cert, 'URI cert='], [env.DLQ_KAFKA_CERT, 'DLQ_KAFKA_CERT'], [profTls.cert, 'profile kafka.tls.cert'])
  const key = pick<string>([target.key, 'URI key='], [env.DLQ_KAFKA_KEY, 'DLQ_KAFKA_KEY'], [profTls.key, 'profile kafka.tls.key'])
  const insecure =
    target.insecure ||
    (env.DLQ_KAFKA_TLS_INSECURE ? parseFlag(env.DLQ_KAFKA_TLS_INSECURE, 'DLQ_KAFKA_TLS_INSECURE') : false) ||
    profTls.insecure === true
  const tlsWanted =
    target.tls ??
    (env.DLQ_KAFKA_TLS ? parseFlag(env.DLQ_KAFKA_TLS, 'DLQ_KAFKA_TLS') : null) ??
    (profile.tls === undefined ? null : profile.tls !== false) ??
    // Certificates only make sense over TLS: naming one turns it on.
    Boolean(ca || cert || key || insecure)
  let tls: TlsOptions | null = null
  if (tlsWanted) {
    tls = {}
    if (ca) tls.ca = readPem(ca[0], 'CA', ca[1])
    if (cert) tls.cert = readPem(cert[0], 'client certificate', cert[1])
    if (key) tls.key = readPem(key[0], 'client key', key[1])
    if (insecure) tls.rejectUnauthorized = false
  }
  if ((cert === null) !== (key === null)) throw new UsageError('Kafka TLS: a client certificate needs its key and the other way round (cert= and key=)')

  return {sasl, tls, clientId: profile.clientId ?? 'dlq'}
}

let libPromise: Promise<KafkaLib> | null = null

/** Loads @platformatic/kafka once, on first use (never for file or Redis sources). */
export function loadKafka(): Promise<KafkaLib> {
  if (!libPromise) {
    phase('kafka-import')
    libPromise = import('@platformatic/kafka').then((lib) => (phase('kafka-imported'), lib))
  }
  return libPromise
}

const tracing = process.env.DLQ_TRACE_PHASES === '1'
let lastPhase = 0
let lastCpu = 0

/**
 * `DLQ_TRACE_PHASES=1`: each step of a Kafka read on stderr as `dlq-phase NAME AT_MS +MS cpu
 * +CPU_MS` (milliseconds since the process started, and since the step before; then the CPU
 * time the process used since the step before, which a loaded machine does not inflate as
 * much), for the benchmark's page-latency breakdown. The first line's AT_MS is what node and
 * the CLI took to get there.
 */
export function phase(name: string): void {
  if (!tracing) return
  const at = performance.now()
  const {user, system} = process.cpuUsage()
  const cpu = (user + system) / 1000
  if (lastPhase === 0) process.once('exit', () => phase('exit'))
  process.stderr.write(`dlq-phase ${name} ${at.toFixed(1)} +${(at - lastPhase).toFixed(1)} cpu +${(cpu - lastCpu).toFixed(1)}\n`)
  lastPhase = at
  lastCpu = cpu
}

const SASL_NAMES: Record<SaslMechanism, 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'> = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
}

/** Options shared by every client dlq creates (reader's Base, sink's Producer, tests' Admin). */
export function clientOptions(target: KafkaTarget, settings: ResolvedSettings) {
  return {
    clientId: settings.clientId,
    bootstrapBrokers: target.brokers.map(brokerText),
    connectTimeout: CONNECT_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    timeout: REQUEST_TIMEOUT_MS,
    // One retry smooths over a leader move; more would only delay the error a user must see.
    retries: 1,
    retryDelay: 250,
    autocreateTopics: false,
    ...(settings.tls ? {tls: settings.tls} : {}),
    ...(settings.sasl ? {sasl: {mechanism: SASL_NAMES[settings.sasl.mechanism], username: settings.sasl.username, password: settings.sasl.password}} : {}),
  }
}

/** Every error inside a library error: MultipleErrors nest, causes chain. */
function flatten(error: unknown, out: unknown[] = [], depth = 0): unknown[] {
  if (depth > 8 || error === null || error === undefined) return out
  out.push(error)
  const e = error as {errors?: unknown[]; cause?: unknown}
  if (Array.isArray(e.errors)) for (const x of e.errors) flatten(x, out, depth + 1)
  if (e.cause !== undefined) flatten(e.cause, out, depth + 1)
  return out
}

/** Broker-sent text is not ours: keep it printable and short. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e]/g, ' ').slice(0, 300)
}

export interface ErrorContext {
  target: KafkaTarget
  settings?: ResolvedSettings
  topic?: string | null
}

/** One place that turns client and broker errors into messages a user can act on. */
export function describeError(error: unknown, ctx: ErrorContext): DlqError {
  if (error instanceof DlqError) return error
  const where = ctx.target.brokers.map(brokerText).join(',')
  const all = flatten(error)
  const codes = new Set<string>()
  const apiIds = new Set<string>()
  for (const e of all) {
    const x = e as {code?: unknown; apiId?: unknown}
    if (typeof x.code === 'string') codes.add(x.code)
    if (typeof x.apiId === 'string') apiIds.add(x.apiId)
  }
  const messages = all.map((e) => (e instanceof Error ? e.message : String(e)))
  const topic = ctx.topic ?? ctx.target.topic

  if (codes.has('PLT_KFK_AUTHENTICATION') || apiIds.has('SASL_AUTHENTICATION_FAILED') || apiIds.has('UNSUPPORTED_SASL_MECHANISM') || apiIds.has('ILLEGAL_SASL_STATE')) {
    const s = ctx.settings?.sasl
    const who = s ? ` as user "${clean(s.username)}" with SASL ${s.mechanism} (password from ${s.passwordFrom})` : ' (no SASL credentials were given)'
    const server = all.map((e) => (e as {serverErrorMessage?: unknown}).serverErrorMessage).find((m): m is string => typeof m === 'string' && m !== '')
    return new UnavailableError(`Kafka at ${where}: authentication failed${who}${server ? `: ${clean(server)}` : ''}`)
  }
  if (apiIds.has('TOPIC_AUTHORIZATION_FAILED') || apiIds.has('CLUSTER_AUTHORIZATION_FAILED') || apiIds.has('TRANSACTIONAL_ID_AUTHORIZATION_FAILED')) {
    return new UnavailableError(`Kafka at ${where}: not authorized${topic ? ` for topic "${topic}"` : ''}`)
  }
  if (apiIds.has('UNKNOWN_TOPIC_OR_PARTITION') || apiIds.has('UNKNOWN_TOPIC_ID') || messages.some((m) => m.startsWith('Unknown topic'))) {
    return new UnavailableError(`Kafka at ${where}: topic "${topic ?? '?'}" does not exist`)
  }
  if (all.some((e) => (e as {constructor?: {name?: string}}).constructor?.name === 'TimeoutError' || /timed out/i.test((e as Error).message ?? ''))) {
    return connectionLost(`Kafka at ${where}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s (connect timeout ${CONNECT_TIMEOUT_MS / 1000} s)`)
  }
  if (codes.has('PLT_KFK_NETWORK') || messages.some((m) => m.includes('Cannot connect to any broker'))) {
    const sys = all.map((e) => (e as {code?: unknown}).code).find((c): c is string => typeof c === 'string' && /^E[A-Z]+$/.test(c))
    const tlsHint = sys === undefined && messages.some((m) => /certificate|SSL|TLS|self.signed/i.test(m)) ? ' (TLS: check ca=/insecure=)' : ''
    return connectionLost(`Kafka at ${where}: cannot connect${sys ? ` (${sys})` : ''}${tlsHint}`)
  }
  if (codes.has('PLT_KFK_UNSUPPORTED_COMPRESSION')) return new DlqError(`Kafka at ${where}: ${clean(messages[0])}`)
  return new DlqError(`Kafka at ${where}: ${clean(messages.find((m) => m && !m.endsWith('failed.')) ?? messages[0] ?? 'unknown error')}`)
}
