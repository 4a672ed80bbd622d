import {UnavailableError} from '../../core/errors.js'
import type {SourceInfo} from '../../core/reader.js'
import type {DlqSink, OutgoingMessage, SentMessage} from '../../core/sink.js'
import type {RedisConnection} from './connection.js'
import {encodeDlqEntry} from './layouts.js'
import {keyText} from './uri.js'

/** XADDs per pipeline: big enough to hide round trips, small enough to bound buffered replies. */
const PIPELINE = 1000

/**
 * Replay into Redis: each message is XADDed (id `*`, chosen by Redis) to the stream named
 * `prefix + topic` (prefix from `?prefix=`), in dlq's own layout so key, value and headers
 * arrive byte for byte. Streams have no partitions: a message's partition is not used.
 * A stream key in the sink URI is ignored, so a DLQ's own URI can name the server to replay to.
 */
export class RedisSink implements DlqSink {
  readonly info: SourceInfo

  constructor(private readonly conn: RedisConnection) {
    this.info = {kind: 'redis', display: conn.target.display.replace(/(:\d+\/\d+)\/.*$/, '$1')}
  }

  streamFor(topic: string): Buffer {
    return Buffer.from(this.conn.target.prefix + topic, 'utf8')
  }

  async describeTarget(topic: string): Promise<{exists: boolean; partitions: number | null}> {
    const key = this.streamFor(topic)
    let type: string
    try {
      type = await this.conn.client.type(key)
    } catch (error) {
      throw this.conn.fail(error)
    }
    if (type !== 'none' && type !== 'stream') throw new UnavailableError(`${this.info.display}: key "${keyText(key)}" holds a ${type}, not a stream: cannot replay into it`)
    return {exists: type === 'stream', partitions: null}
  }

  async send(batch: OutgoingMessage[]): Promise<SentMessage[]> {
    const sent: SentMessage[] = []
    for (let at = 0; at < batch.length; at += PIPELINE) {
      const chunk = batch.slice(at, at + PIPELINE)
      const pipe = this.conn.client.pipeline()
      for (const m of chunk) pipe.xadd(this.streamFor(m.topic), '*', ...encodeDlqEntry(m))
      let results: Array<[Error | null, unknown]> | null
      try {
        results = await pipe.exec()
      } catch (error) {
        throw this.conn.fail(error)
      }
      if (!results || results.length !== chunk.length) throw new UnavailableError(`${this.info.display}: the pipeline of ${chunk.length} XADDs was not answered in full`)
      results.forEach(([error, id], i) => {
        if (error) {
          const why = error.message.startsWith('WRONGTYPE') ? 'the key holds a value that is not a stream' : this.conn.fail(error).message
          throw new UnavailableError(`XADD of message ${at + i + 1} of ${batch.length} to stream "${keyText(this.streamFor(chunk[i].topic))}" failed: ${why}`)
        }
        sent.push({topic: chunk[i].topic, partition: null, offset: String(id)})
      })
    }
    return sent
  }

  async close(): Promise<void> {
    await this.conn.close()
  }
}
