import {randomBytes} from 'node:crypto'
import type {Admin, Consumer, Producer} from '@platformatic/kafka'
import {createLogTopic, errorText} from './log-topic.js'
import {DlqError, UnavailableError, UsageError} from '../../core/errors.js'
import {validateTopic} from '../../core/settings/names.js'
import {SettingsFold, encodeLogWrite} from '../../core/settings/fold.js'
import {type SettingChange, type SettingKey, type SettingsStore, type StoredSetting, type WriteOutcome, type WriteRequest} from '../../core/settings/types.js'
import {clientOptions, describeError, loadKafka, resolveSettings, type KafkaLib, type ResolvedSettings} from './connection.js'
import {parseKafkaUri, type KafkaTarget} from './uri.js'

/**
 * Settings in a single-partition Kafka topic (default `dlq-settings`), used as a log of write
 * attempts (core/settings/fold.ts). A writer produces its attempt with acks=all, then reads
 * the log from offset 0 up to its own record and folds it: its write won exactly when the
 * fold applied that record. Concurrent writers need no lock and no transaction, and every
 * reader reaches the same state because there is one partition, hence one order.
 *
 * Reading uses plain Fetch requests: no consumer group is joined and no offset is committed,
 * so reading leaves nothing behind on the cluster. Brokers, SASL and TLS are resolved like
 * any Kafka source (connection.ts): the URI, DLQ_KAFKA_* variables, then the profile.
 */
export const DEFAULT_SETTINGS_TOPIC = 'dlq-settings'
/** A freshly created topic takes a moment to get a leader; a read-back must see its own write. */
const LEADER_WAIT_MS = 15_000
const READ_BACK_WAIT_MS = 30_000
const FETCH_MAX_BYTES = 8 * 1024 * 1024
const IS_CONTROL = 1 << 5

interface SettingsTarget {
  kafka: KafkaTarget
  settings: ResolvedSettings
  topic: string
  display: string
}

interface TopicInfo {
  id: string
  leader: number
}

export class KafkaSettingsStore implements SettingsStore {
  readonly display: string
  private admin: Admin | null = null
  private consumer: Consumer | null = null
  private producer: Producer | null = null
  private info: TopicInfo | null = null

  constructor(
    private readonly target: SettingsTarget,
    private readonly lib: KafkaLib,
  ) {
    this.display = target.display
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (error) {
      throw describeError(error, {target: this.target.kafka, settings: this.target.settings, topic: this.target.topic})
    }
  }

  private options() {
    return clientOptions(this.target.kafka, this.target.settings)
  }

  private getAdmin(): Admin {
    return (this.admin ??= new this.lib.Admin(this.options()))
  }

  /** Metadata of the settings topic, or null when it does not exist (reads then see an empty store). */
  private async topicInfo(create: boolean): Promise<TopicInfo | null> {
    if (this.info) return this.info
    const topic = this.target.topic
    const admin = this.getAdmin()
    const lookup = async (): Promise<TopicInfo | null | 'no-leader'> => {
      let meta
      try {
        meta = await admin.metadata({topics: [topic], autocreateTopics: false, forceUpdate: true})
      } catch (error) {
        if (/Unknown topic|UNKNOWN_TOPIC_OR_PARTITION/.test(errorText(error))) return null
        throw error
      }
      const t = meta.topics.get(topic)
      if (!t) return null
      if (t.partitionsCount !== 1) throw new UnavailableError(`settings topic "${topic}" has ${t.partitionsCount} partitions; it must have exactly 1 (one partition is what gives every writer the same order)`)
      const leader = t.partitions[0]?.leader ?? -1
      return leader < 0 ? 'no-leader' : {id: t.id, leader}
    }
    return this.run(async () => {
      let found = await lookup()
      if (found === null && create) {
        await createLogTopic(admin, topic, async () => (await lookup()) !== null)
        found = 'no-leader'
      }
      const deadline = Date.now() + LEADER_WAIT_MS
      while (found === 'no-leader') {
        if (Date.now() > deadline) throw new UnavailableError(`settings topic "${topic}" has no leader after ${LEADER_WAIT_MS / 1000} s`)
        await new Promise((r) => setTimeout(r, 100))
        found = await lookup()
      }
      if (found === null) return null
      return (this.info = found)
    })
  }

  /** Folds the log from offset 0 up to (not including) `end`, or to the high watermark when null. */
  private async fold(info: TopicInfo, end: bigint | null, onRecord?: (offset: bigint, outcome: string) => void): Promise<SettingsFold> {
    const fold = new SettingsFold()
    this.consumer ??= new this.lib.Consumer({
      ...this.options(),
      // Required by the client's constructor; never used: fetch() joins no group.
      groupId: `dlq-settings-unused-${randomBytes(4).toString('hex')}`,
    })
    const consumer = this.consumer
    let next = 0n
    const deadline = Date.now() + READ_BACK_WAIT_MS
    for (;;) {
      if (end !== null && next >= end) return fold
      const response = await consumer.fetch({
        node: info.leader,
        maxWaitTime: end === null ? 0 : 100,
        minBytes: 1,
        maxBytes: FETCH_MAX_BYTES,
        topics: [{topicId: info.id, partitions: [{partition: 0, currentLeaderEpoch: -1, fetchOffset: next, lastFetchedEpoch: -1, partitionMaxBytes: FETCH_MAX_BYTES}]}],
      })
      const p = response.responses[0]?.partitions[0]
      if (!p) throw new UnavailableError(`settings topic "${this.target.topic}": the broker returned no data for partition 0`)
      if (p.errorCode !== 0) throw new UnavailableError(`settings topic "${this.target.topic}": fetch failed with Kafka error code ${p.errorCode}`)
      if (p.logStartOffset > 0n) {
        throw new DlqError(`settings topic "${this.target.topic}" no longer starts at offset 0 (log start ${p.logStartOffset}): its retention deleted settings history; set retention.ms=-1 on it`)
      }
      const before = next
      for (const batch of p.records ?? []) {
        if (batch.attributes & IS_CONTROL) {
          next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
          continue
        }
        for (const r of batch.records) {
          const offset = batch.firstOffset + BigInt(r.offsetDelta)
          if (offset < next || (end !== null && offset >= end)) continue
          const outcome = fold.apply(r.value)
          onRecord?.(offset, outcome)
          next = offset + 1n
        }
      }
      if (end === null && next >= p.highWatermark) return fold
      if (next === before && Date.now() > deadline) throw new UnavailableError(`settings topic "${this.target.topic}": could not read the log up to offset ${end ?? p.highWatermark}`)
    }
  }

  private async state(): Promise<SettingsFold> {
    const info = await this.topicInfo(false)
    if (!info) return new SettingsFold()
    return this.run(() => this.fold(info, null))
  }

  async read(key: SettingKey): Promise<StoredSetting> {
    return (await this.state()).get(key)
  }

  async history(key: SettingKey): Promise<SettingChange[]> {
    return (await this.state()).changes.get(key) ?? []
  }

  async list(prefix: string): Promise<Array<{key: SettingKey; setting: StoredSetting}>> {
    const fold = await this.state()
    return [...fold.settings.entries()].filter(([key]) => key.startsWith(prefix)).map(([key, setting]) => ({key, setting}))
  }

  async write(w: WriteRequest): Promise<WriteOutcome> {
    const info = (await this.topicInfo(true))!
    return this.run(async () => {
      // A stale expectation loses anyway; finding out first keeps losers out of the log.
      if (w.expectedVersion !== null) {
        const current = (await this.fold(info, null)).get(w.key)
        if (current.version !== w.expectedVersion) return {ok: false, current}
      }
      this.producer ??= new this.lib.Producer({...this.options(), acks: -1, idempotent: true})
      const result = await this.producer.send({messages: [{topic: this.target.topic, partition: 0, key: Buffer.from(w.key, 'utf8'), value: encodeLogWrite(w)}]})
      const own = result.offsets?.find((o) => o.partition === 0)?.offset
      if (own === undefined) throw new UnavailableError(`settings topic "${this.target.topic}": the broker did not say where the write landed`)
      let outcome = 'ignored'
      const fold = await this.fold(info, own + 1n, (offset, o) => {
        if (offset === own) outcome = o
      })
      const setting = fold.get(w.key)
      if (outcome === 'applied') return {ok: true, setting}
      if (outcome === 'rejected') return {ok: false, current: setting}
      throw new DlqError(`settings topic "${this.target.topic}": could not find this write at offset ${own} when reading it back`)
    })
  }

  async close(): Promise<void> {
    const clients = [this.producer, this.consumer, this.admin].filter((c) => c !== null)
    await Promise.allSettled(clients.map((c) => c.close()))
  }
}

/** `kafka://host:port[,host:port…][/topic]` with the query parameters of a Kafka source (sasl=, tls=, ca=, …). */
export async function openKafkaSettingsStore(uri: string): Promise<SettingsStore> {
  const kafka = parseKafkaUri(uri, {needTopic: false})
  if (kafka.partitions !== null) throw new UsageError(`settings store "${kafka.display}": partition= does not apply (the settings topic has one partition)`)
  const topic = validateTopic(kafka.topic ?? DEFAULT_SETTINGS_TOPIC, 'settings topic')
  const settings = resolveSettings(kafka)
  const display = kafka.topic === null ? `${kafka.display}/${topic}` : kafka.display
  return new KafkaSettingsStore({kafka, settings, topic, display}, await loadKafka())
}
