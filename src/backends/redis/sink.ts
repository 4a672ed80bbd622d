import {UnavailableError} from '../../core/errors.js'
import type {SourceInfo} from '../../core/reader.js'
import {createHash} from 'node:crypto'
import {NotSentError, type DlqSink, type OutgoingMessage, type SentMessage, type TargetInfo} from '../../core/sink.js'
import type {RedisConnection} from './connection.js'
import {detectLayout, encodeEntry, type EntryFields} from './layouts.js'
import {keyText} from './uri.js'
import {encodeCommand, encodedCommand} from './wire.js'
import type {Command} from 'ioredis'

/** XADDs per pipeline: big enough to hide round trips, small enough to bound buffered replies. */
const PIPELINE = 1000

/**
 * Many XADDs in one script call. ARGV is a list of runs of messages to the same stream with the
 * same field count (a replay is mostly one run per call): the stream's index in KEYS, the field
 * count, the number of messages, then their fields. Sending a thousand messages as one command
 * instead of a thousand halves replay's CPU spent in the Redis client (ioredis builds, writes and
 * resolves every command separately); describing runs rather than each message keeps the
 * server's own work per message close to a plain XADD's. The XADDs run in order; a script that
 * fails part-way keeps what it added (like a pipeline), so the batch is in doubt, as with a
 * pipeline. The ids come back as one space-separated string: one reply to parse, not a thousand.
 */
const XADD_MANY = `
local ids = {}
local argc = #ARGV
local i = 1
while i <= argc do
  local key = KEYS[tonumber(ARGV[i])]
  local c = tonumber(ARGV[i + 1])
  local n = tonumber(ARGV[i + 2])
  i = i + 3
  for _ = 1, n do
    ids[#ids + 1] = redis.call('XADD', key, '*', unpack(ARGV, i, i + c - 1))
    i = i + c
  end
end
return table.concat(ids, ' ')`

/** Errors meaning the script did not run at all (scripting unavailable or not allowed). */
const NO_SCRIPTING = /unknown command|NOPERM|scripting is disabled|not allowed/i

/** Message and field counts as text, made once. */
const SMALL = Array.from({length: 64}, (_, i) => String(i))

/**
 * Replay into Redis: each message is XADDed (id `*`, chosen by Redis) to the stream named
 * `prefix + topic` (prefix from `?prefix=`, applied by `targetName` when the plan is made), in the layout the plan chose for it (what the
 * stream's consumer reads: layouts.ts `encodeEntry`; dlq's own layout, which keeps key, value
 * and headers byte for byte, when none was chosen). Streams have no partitions: a message's
 * partition is not used.
 * A stream key in the sink URI is ignored, so a DLQ's own URI can name the server to replay to.
 */
export class RedisSink implements DlqSink {
  readonly info: SourceInfo

  constructor(private readonly conn: RedisConnection) {
    this.info = {kind: 'redis', display: conn.target.display.replace(/(:\d+\/\d+)\/.*$/, '$1')}
  }

  private readonly streams = new Map<string, Buffer>()

  /** The stream a target topic is written to: `?prefix=` + topic. The plan names targets by it, so every other method takes it as it is. */
  targetName(topic: string): string {
    return this.conn.target.prefix + topic
  }

  streamFor(stream: string): Buffer {
    let key = this.streams.get(stream)
    if (!key) this.streams.set(stream, (key = Buffer.from(stream, 'utf8')))
    return key
  }

  /** Also the layout of the stream's newest entry: what its writers write, so what its consumers read. */
  async describeTarget(topic: string): Promise<TargetInfo> {
    const key = this.streamFor(topic)
    let type: string
    let newest: Array<[Buffer, EntryFields]> = []
    try {
      type = await this.conn.client.type(key)
      if (type === 'stream') newest = (await this.conn.client.xrevrangeBuffer(key, '+', '-', 'COUNT', 1)) as unknown as Array<[Buffer, EntryFields]>
    } catch (error) {
      throw this.conn.fail(error)
    }
    // Only the messages for this key are skipped (target_invalid); the replay's others still go.
    if (type !== 'none' && type !== 'stream') return {exists: true, partitions: null, layout: null, refused: `key "${keyText(key)}" in ${this.info.display} holds a ${type}, not a stream: cannot replay into it`}
    return {exists: type === 'stream', partitions: null, layout: newest.length > 0 ? detectLayout(newest[0][1]) : null}
  }

  /**
   * Sends of several batches may be in flight: ioredis writes them in call order on one
   * connection that is never re-established (no retry, no offline queue), so when it breaks,
   * what was not written is a suffix of what was handed over.
   */
  readonly maxInFlight = 4

  /** Whether XADD_MANY can be used: null until the first chunk finds out. */
  private scripting: boolean | null = null
  private probing: Promise<void> | null = null

  /** ioredis's Command class, for commands encoded here; loaded (from the module cache) by the first send. */
  private commandClass: typeof Command | null = null
  private loading: Promise<void> | null = null

  async send(batch: OutgoingMessage[]): Promise<SentMessage[]> {
    // Every send waits on the same promise, so sends still start in the order they were called.
    if (this.commandClass === null) {
      await (this.loading ??= import('ioredis').then((m) => {
        this.commandClass = m.Command
      }))
    }
    // With no offline queue, a client that is not connected refuses the pipeline before
    // writing a byte: those messages were certainly not sent.
    if (this.conn.client.status !== 'ready') throw new NotSentError(`${this.info.display}: not connected (${this.conn.client.status}); nothing of this batch was sent`)
    // Every chunk of the batch is written at once; the replies are read in order.
    const pending: Array<Promise<Array<string | Error>>> = []
    for (let at = 0; at < batch.length; at += PIPELINE) {
      const chunk = batch.slice(at, at + PIPELINE)
      let exec: Promise<Array<string | Error>>
      if (this.probing === null) {
        // The very first chunk finds out whether scripts run. Every later chunk is chained
        // on that answer — all on the same promise, so they are written in the order they
        // were handed over, whether or not the answer is in yet.
        exec = this.scripted(chunk, true)
        this.probing = exec.then(
          () => undefined,
          () => undefined,
        )
      } else exec = this.probing.then(() => (this.scripting === false ? this.pipelined(chunk) : this.scripted(chunk, false)))
      // Rejections are looked at in order below; this keeps a later one from going unhandled.
      exec.catch(() => undefined)
      pending.push(exec)
    }
    const sent: SentMessage[] = []
    for (let k = 0, at = 0; k < pending.length; k++, at += PIPELINE) {
      const size = Math.min(PIPELINE, batch.length - at)
      let results: Array<string | Error>
      try {
        results = await pending[k]
      } catch (error) {
        const failure = this.conn.fail(error)
        if (at === 0 && /isn't writeable/.test((error as Error).message)) throw new NotSentError(failure.message, error)
        if (/WRONGTYPE/.test((error as Error).message)) throw await this.wrongType(batch, at, size)
        throw failure
      }
      if (results.length !== size) throw new UnavailableError(`${this.info.display}: ${size} XADDs were not answered in full`)
      for (let i = 0; i < size; i++) {
        const id = results[i]
        const m = batch[at + i]
        if (id instanceof Error) {
          const why = id.message.startsWith('WRONGTYPE') ? 'the key holds a value that is not a stream' : this.conn.fail(id).message
          throw new UnavailableError(`XADD of message ${at + i + 1} of ${batch.length} to stream "${keyText(this.streamFor(m.topic))}" failed: ${why}`)
        }
        sent.push({topic: m.topic, partition: null, offset: String(id)})
      }
    }
    return sent
  }

  /** Names the first message of a chunk whose stream key holds another type (a script says only WRONGTYPE). */
  private async wrongType(batch: OutgoingMessage[], at: number, size: number): Promise<UnavailableError> {
    const checked = new Set<string>()
    for (let i = at; i < at + size; i++) {
      if (checked.has(batch[i].topic)) continue
      checked.add(batch[i].topic)
      const type = await this.conn.client.type(this.streamFor(batch[i].topic)).catch(() => 'stream')
      if (type !== 'stream' && type !== 'none') {
        return new UnavailableError(`XADD of message ${i + 1} of ${batch.length} to stream "${keyText(this.streamFor(batch[i].topic))}" failed: the key holds a value that is not a stream`)
      }
    }
    return new UnavailableError(`XADD to a stream of this batch failed: a key holds a value that is not a stream`)
  }

  /**
   * One XADD_MANY call for the chunk, encoded here (wire.ts) and sent as EVAL of the script's
   * text: Redis runs it from its script cache by the text's digest, and unlike EVALSHA it can
   * never be refused as unknown. The first call falls back to a pipeline where scripts cannot run.
   */
  private async scripted(chunk: OutgoingMessage[], probe: boolean): Promise<Array<string | Error>> {
    const keys: Buffer[] = []
    const index = new Map<string, number>()
    const rest: Array<string | Buffer> = []
    // The run being written: its stream index, field count and where its message count goes.
    let runKey = 0
    let runFields = -1
    let runAt = -1
    let runLength = 0
    for (const m of chunk) {
      let k = index.get(m.topic)
      if (k === undefined) {
        keys.push(this.streamFor(m.topic))
        index.set(m.topic, (k = keys.length))
      }
      const fields = encodeEntry(m)
      if (k !== runKey || fields.length !== runFields) {
        if (runAt >= 0) rest[runAt] = String(runLength)
        runKey = k
        runFields = fields.length
        runLength = 0
        rest.push(SMALL[k] ?? String(k), SMALL[fields.length] ?? String(fields.length), '')
        runAt = rest.length - 1
      }
      runLength++
      for (const f of fields) rest.push(f)
    }
    if (runAt >= 0) rest[runAt] = String(runLength)
    const args = (['EVAL', XADD_MANY, String(keys.length)] as Array<string | Buffer>).concat(keys, rest)
    try {
      const ids = (await this.conn.client.sendCommand(encodedCommand(this.commandClass!, 'eval', encodeCommand(args)))) as string
      if (probe) this.scripting = true
      return ids.split(' ')
    } catch (error) {
      // Nothing ran: send this chunk, and every later one, as plain XADDs.
      if (probe && NO_SCRIPTING.test((error as Error).message)) {
        this.scripting = false
        return this.pipelined(chunk)
      }
      throw error
    }
  }

  private async pipelined(chunk: OutgoingMessage[]): Promise<Array<string | Error>> {
    const pipe = this.conn.client.pipeline()
    for (const m of chunk) pipe.xadd(this.streamFor(m.topic), '*', ...encodeEntry(m))
    const results = await pipe.exec()
    if (!results) throw new UnavailableError(`${this.info.display}: the pipeline of ${chunk.length} XADDs was not answered`)
    return results.map(([error, id]) => error ?? String(id))
  }

  /** The stream's last entry id before a send: an in-doubt message can only be after it. */
  async mark(topic: string): Promise<string | null> {
    try {
      const last = (await this.conn.client.xrevrange(this.streamFor(topic), '+', '-', 'COUNT', 1)) as Array<[string, string[]]>
      return last.length > 0 ? last[0][0] : '0-0'
    } catch (error) {
      throw this.conn.fail(error)
    }
  }

  /**
   * Entries after a mark, by content digest, read once per (stream, mark) and shared by all
   * the in-doubt messages of one batch; a found entry is used up, so two identical messages
   * need two identical entries. The message is encoded in the layout it is sent in (a later run
   * chooses the same one: by convention, or from the newest entry, which a replay in that layout
   * does not change), then in dlq's own layout: what a dlq before consumer layouts, or a run
   * with another --layout, sent. An entry in dlq's layout with these exact bytes is dlq's replay.
   */
  private readonly seen = new Map<string, Map<string, string[]>>()

  async find(message: OutgoingMessage, mark: string | null): Promise<SentMessage | null | undefined> {
    // A mark another kind of sink recorded (a Kafka claim replayed now with --sink redis://…) says
    // nothing about this stream: this sink cannot check that doubt (undefined), and it must not
    // stop the replay of other messages.
    if (mark !== null && !/^\d+-\d+$/.test(mark)) return undefined
    const stream = this.streamFor(message.topic)
    const from = mark ?? '0-0'
    const cacheKey = `${stream.toString('hex')} ${from}`
    let byDigest = this.seen.get(cacheKey)
    if (!byDigest) {
      byDigest = new Map()
      let cursor = from
      for (;;) {
        let batch: Array<[Buffer, Buffer[]]>
        try {
          batch = (await this.conn.client.xrangeBuffer(stream, `(${cursor}`, '+', 'COUNT', 5000)) as unknown as Array<[Buffer, Buffer[]]>
        } catch (error) {
          throw this.conn.fail(error)
        }
        for (const [id, fields] of batch) {
          const d = digest(fields)
          const ids = byDigest.get(d) ?? []
          ids.push(id.toString())
          byDigest.set(d, ids)
        }
        if (batch.length < 5000) break
        cursor = batch[batch.length - 1][0].toString()
      }
      this.seen.set(cacheKey, byDigest)
    }
    const encodings = [message, ...(message.layout && message.layout.name !== 'dlq' ? [{...message, layout: undefined}] : [])]
    for (const m of encodings) {
      const id = byDigest.get(digest(encodeEntry(m).map((f) => (Buffer.isBuffer(f) ? f : Buffer.from(f)))))?.shift()
      if (id !== undefined) return {topic: message.topic, partition: null, offset: id}
    }
    return null
  }

  async close(): Promise<void> {
    await this.conn.close()
  }
}

function digest(fields: Buffer[]): string {
  const h = createHash('sha256')
  for (const f of fields) h.update(`${f.length}:`).update(f)
  return h.digest('hex')
}
