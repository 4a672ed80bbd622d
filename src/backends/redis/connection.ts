import {readFileSync} from 'node:fs'
import type {ConnectionOptions} from 'node:tls'
import type {Redis} from 'ioredis'
import {activeProfile, type TlsSettings} from '../../core/config.js'
import {connectionLost, DlqError, UnavailableError, UsageError} from '../../core/errors.js'
import {withDeadline} from '../../core/time.js'
import {keyText, type RedisTarget} from './uri.js'

/** Connect and handshake must finish within this, so an unreachable server fails fast. */
export const CONNECT_TIMEOUT_MS = 5000
/** Any later command: a server that stops answering must not hang a CI job forever. */
export const COMMAND_TIMEOUT_MS = 60_000

export interface RedisConnection {
  client: Redis
  target: RedisTarget
  /** Where the password came from, to name it in an auth error (never the password itself). */
  passwordFrom: string | null
  /** Maps any error of a later command to a dlq error naming the server. */
  fail(error: unknown): DlqError
  close(): Promise<void>
}

interface Credentials {
  username: string | null
  password: string | null
  passwordFrom: string | null
  tls: ConnectionOptions | null
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new UsageError(`profile redis.tls.${what}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
}

function tlsOptions(target: RedisTarget, settings: TlsSettings | boolean | undefined): ConnectionOptions | null {
  // The scheme alone decides (a profile may serve several servers); the profile adds the certificates.
  if (!target.tls) return null
  const s: TlsSettings = typeof settings === 'object' ? settings : {}
  const opts: ConnectionOptions = {servername: /^[\d.]+$|:/.test(target.host) ? undefined : target.host}
  if (s.ca) opts.ca = readPem(s.ca, 'ca')
  if (s.cert) opts.cert = readPem(s.cert, 'cert')
  if (s.key) opts.key = readPem(s.key, 'key')
  if (s.insecure) opts.rejectUnauthorized = false
  return opts
}

/** URI first, then DLQ_REDIS_USERNAME / DLQ_REDIS_PASSWORD, then the active profile. */
export function resolveCredentials(target: RedisTarget, env = process.env): Credentials {
  const profile = activeProfile().redis ?? {}
  const username = target.username ?? (env.DLQ_REDIS_USERNAME || null) ?? profile.username ?? null
  let password: string | null = null
  let passwordFrom: string | null = null
  if (target.password !== null) [password, passwordFrom] = [target.password, 'the URI']
  else if (env.DLQ_REDIS_PASSWORD) [password, passwordFrom] = [env.DLQ_REDIS_PASSWORD, 'DLQ_REDIS_PASSWORD']
  else if (profile.password !== undefined) [password, passwordFrom] = [profile.password, 'the profile (redis.password)']
  return {username, password, passwordFrom, tls: tlsOptions(target, profile.tls)}
}

export function where(target: RedisTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host
  return `${host}:${target.port}`
}

/** One place that turns client and server errors into messages a user can act on (exit 4). */
export function describeError(error: unknown, target: RedisTarget, creds?: Pick<Credentials, 'username' | 'passwordFrom'>): DlqError {
  if (error instanceof DlqError) return error
  const e = error as NodeJS.ErrnoException
  const msg = String(e?.message ?? error)
  const at = `Redis at ${where(target)}`
  const code = e?.code ?? ''
  if (code === 'ECONNREFUSED') return connectionLost(`cannot reach ${at}: connection refused (is the server running, on that port?)`)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new UnavailableError(`cannot reach ${at}: host "${target.host}" not found`)
  if (/Command timed out/.test(msg)) return connectionLost(`${at} did not answer within ${COMMAND_TIMEOUT_MS / 1000} s`)
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(msg)) return connectionLost(`cannot reach ${at}: no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)
  if (code === 'ECONNRESET' || code === 'EPIPE' || /Connection is closed|Stream isn't writeable/.test(msg)) {
    return connectionLost(`lost the connection to ${at}${target.tls ? '' : ' (if the server wants TLS, use rediss://)'}`)
  }
  if (msg.startsWith('WRONGPASS')) {
    const user = creds?.username ?? 'default'
    return new UnavailableError(`${at} refused the credentials of user "${user}": authentication failed (password from ${creds?.passwordFrom ?? 'nowhere'})`)
  }
  if (msg.startsWith('NOAUTH')) {
    return new UnavailableError(`${at} requires a password: give it in the URI, in DLQ_REDIS_PASSWORD or in the profile (redis.password)`)
  }
  if (msg.startsWith('NOPERM')) return new UnavailableError(`${at}: the user may not do this: ${msg}`)
  if (/DB index is out of range|invalid DB index/i.test(msg)) return new UnavailableError(`${at} has no database ${target.db}`)
  if (msg.startsWith('WRONGTYPE')) {
    return new UnavailableError(`${at}: key "${target.key ? keyText(target.key) : ''}" is no longer a stream`)
  }
  if (/SSL|TLS|certificate|self.signed|EPROTO/i.test(msg + code)) return new UnavailableError(`TLS with ${at} failed: ${msg}`)
  return new UnavailableError(`${at}: ${msg}`)
}

function informative(error: unknown): boolean {
  const e = error as {code?: unknown; message?: unknown}
  return typeof e?.code === 'string' || /^[A-Z]+ /.test(String(e?.message))
}

/** The error a handshake past its deadline gives (ETIMEDOUT: reported as no answer within the connect timeout). */
const handshakeLate = () => Object.assign(new Error('handshake timed out'), {code: 'ETIMEDOUT'})

/**
 * Connects with no retries and no offline queue: dlq is a one-shot CLI, so an unreachable
 * server must be an error within seconds, not an endless reconnect loop. AUTH and SELECT
 * are sent by us rather than by the client, so their errors are ours to report (the client
 * would print warnings of its own to the terminal).
 */
export async function connect(target: RedisTarget, verify: (conn: RedisConnection) => Promise<void> = ping): Promise<RedisConnection> {
  const creds = resolveCredentials(target)
  const {Redis: RedisClient} = await import('ioredis')
  const client = new RedisClient({
    host: target.host,
    port: target.port,
    tls: creds.tls ?? undefined,
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: () => false,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    disableClientInfo: true,
    autoResubscribe: false,
  })
  let lastError: unknown = null
  // Without a listener the client prints "Unhandled error event" to the terminal.
  client.on('error', (error) => {
    lastError = error
  })
  const fail = (error: unknown) => describeError(error, target, creds)
  const close = async () => {
    if (client.status === 'end') return
    try {
      await withDeadline(client.quit(), 1000, handshakeLate)
    } catch {
      client.disconnect()
    }
  }
  const conn: RedisConnection = {client, target, passwordFrom: creds.passwordFrom, fail, close}
  try {
    await withDeadline(
      (async () => {
        await client.connect()
        if (creds.password !== null) {
          try {
            await (creds.username === null ? client.auth(creds.password) : client.auth(creds.username, creds.password))
          } catch (error) {
            // A password for a server that has none is harmless: carry on, as redis-cli does.
            if (!/without any password configured|no password is set/.test(String((error as Error).message))) throw error
          }
        }
        if (target.db !== 0) await client.select(target.db)
        // The first real command is part of the handshake: a port that accepts connections
        // but never answers (not Redis, or a hung server) fails within the deadline too.
        await verify(conn)
      })(),
      CONNECT_TIMEOUT_MS,
      handshakeLate,
    )
  } catch (error) {
    client.disconnect()
    // "Connection is closed" says less than the socket error the client saw just before it.
    if (error instanceof DlqError) throw error
    throw fail(informative(error) || lastError === null ? error : lastError)
  }
  return conn
}

async function ping(conn: RedisConnection): Promise<void> {
  await conn.client.ping()
}

/** The stream key must exist and be a stream: anything else is exit 4 with the reason. */
export async function checkStream(conn: RedisConnection): Promise<void> {
  const key = conn.target.key!
  const type = await conn.client.type(key)
  const at = `Redis at ${where(conn.target)}, database ${conn.target.db}`
  if (type === 'none') throw new UnavailableError(`${at}: there is no stream "${keyText(key)}" (the key does not exist)`)
  if (type !== 'stream') throw new UnavailableError(`${at}: key "${keyText(key)}" holds a ${type}, not a stream`)
}
