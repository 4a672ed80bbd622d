import {randomBytes} from 'node:crypto'
import type {Admin, Consumer, Producer} from '@platformatic/kafka'
import {createLogTopic, errorText} from './log-topic.js'
import {DlqError, UnavailableError, UsageError} from '../../core/errors.js'
import {validateTopic} from '../../core/settings/names.js'
import {SettingsFold, describeForeignRecord, encodeLogWrite, isSettingsRecord} from '../../core/settings/fold.js'
import {type SettingChange, type SettingKey, type SettingsStore, type StoredSetting, type WriteOutcome, type WriteRequest} from '../../core/settings/types.js'
import {clientOptions, describeError, loadKafka, resolveSettings, type KafkaLib, type ResolvedSettings} from './connection.js'
import {brokerText, parseKafkaUri, type KafkaTarget} from './uri.js'

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
/**
 * The configuration of a settings topic (log-topic.ts creates it so): the state is the whole
 * log folded from offset 0, so no record may expire or be compacted away (compaction would
 * silently renumber the versions).
 */
const SETTINGS_TOPIC_CONFIG: ReadonlyArray<[name: string, value: string]> = [
  ['cleanup.policy', 'delete'],
  ['retention.ms', '-1'],
  ['retention.bytes', '-1'],
]
/** Long.MAX_VALUE: as good as -1 for a retention. */
const FOREVER = '9223372036854775807'

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
  /** Why the existing topic is not set up as a settings topic (null: it is, or dlq created it). */
  private layoutProblem: string | null = null
  /** Set once a write was refused for `layoutProblem`: the error says it, a warning need not repeat it. */
  private refused = false
  private notes: string[] = []
  /** The log folded so far: a later fold of the same run goes on from there instead of from offset 0. */
  private folded: {fold: SettingsFold; next: bigint} | null = null

  constructor(
    private readonly target: SettingsTarget,
    private readonly lib: KafkaLib,
  ) {
    this.display = target.display
  }

  /** A reader is told, not refused, when the topic does not keep its whole log: what it reads is still right today. */
  get warnings(): string[] {
    return this.layoutProblem !== null && !this.refused ? [...this.notes, this.layoutProblem] : this.notes
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
      } else if (found !== null) {
        this.layoutProblem = await this.checkLayout(admin)
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

  /**
   * The configuration of a topic dlq did not create, against SETTINGS_TOPIC_CONFIG: null when it
   * fits (or cannot be read: a user without DescribeConfigs rights gets a warning, not a refusal).
   */
  private async checkLayout(admin: Admin): Promise<string | null> {
    const topic = this.target.topic
    const wanted = SETTINGS_TOPIC_CONFIG.map(([n, v]) => `${n}=${v}`).join(',')
    let configs: Array<{name: string; value?: string | null}>
    try {
      const [result] = await admin.describeConfigs({resources: [{resourceType: 2 /* TOPIC */, resourceName: topic, configurationKeys: SETTINGS_TOPIC_CONFIG.map(([n]) => n)}]})
      configs = result?.configs ?? []
    } catch (error) {
      this.notes.push(`could not check that settings topic "${topic}" keeps its whole log (${errorText(error).slice(0, 200)}); it needs ${wanted}`)
      return null
    }
    const wrong = SETTINGS_TOPIC_CONFIG.flatMap(([name, want]) => {
      const value = configs.find((c) => c.name === name)?.value
      const fits = value === undefined || value === null || value === want || (name.startsWith('retention.') && value === FOREVER)
      return fits ? [] : [`${name}=${value}`]
    })
    if (wrong.length === 0) return null
    const brokers = this.target.kafka.brokers.map(brokerText).join(',')
    return (
      `topic "${topic}" is not set up as a settings topic (${wrong.join(', ')}): the settings are its whole log, so it needs ${wanted}, ` +
      `or settings and their history are lost when the broker deletes or compacts old records. If it is not meant to be the settings topic, check --store / DLQ_STORE ` +
      `(the default settings topic is ${DEFAULT_SETTINGS_TOPIC}); if it is: kafka-configs.sh --bootstrap-server ${brokers} --alter --entity-type topics --entity-name ${topic} --add-config ${wanted}`
    )
  }

  private notSettingsTopic(offset: bigint, logStart: bigint, highWatermark: bigint, what: string): DlqError {
    const topic = this.target.topic
    const count = highWatermark - logStart
    const held = count > 0n ? `${count} record${count === 1n ? '' : 's'} at offsets ${logStart} to ${highWatermark - 1n}` : 'records'
    return new UnavailableError(
      `topic "${topic}" is not a dlq settings topic: it holds ${held}, and the one at offset ${offset} is not a settings write (${what}) — a DLQ or an application's topic, ` +
        `whose consumers would receive what dlq wrote into it. dlq neither reads settings from it nor writes them into it: check --store / DLQ_STORE ` +
        `(the default settings topic is ${DEFAULT_SETTINGS_TOPIC})`,
    )
  }

  private async logStartOffset(): Promise<bigint> {
    const [t] = await this.getAdmin().listOffsets({topics: [{name: this.target.topic, partitions: [{partitionIndex: 0, timestamp: -2n /* earliest */}]}]})
    return t?.partitions[0]?.offset ?? 0n
  }

  /**
   * Folds the log from offset 0 up to (not including) `end`, or to the high watermark when null.
   * Every record must be a settings write: one that is not (a DLQ message, an application's
   * record) stops the fold with an error, so dlq never reports "version 0" for, or writes into,
   * a topic that is something else.
   */
  private async fold(info: TopicInfo, end: bigint | null, onRecord?: (offset: bigint, outcome: string) => void): Promise<SettingsFold> {
    // Within one run the log only grows: go on from the fold already made rather than re-read it.
    // `state.next` moves with every record applied, so the cache is whole even if this fold throws.
    const state = this.folded !== null && (end === null || this.folded.next <= end) ? this.folded : {fold: new SettingsFold(), next: 0n}
    this.folded = state
    this.consumer ??= new this.lib.Consumer({
      ...this.options(),
      // Required by the client's constructor; never used: fetch() joins no group.
      groupId: `dlq-settings-unused-${randomBytes(4).toString('hex')}`,
    })
    const consumer = this.consumer
    /** Set when the log no longer starts at 0: its first record then only says what the topic was. */
    let truncatedAt: bigint | null = null
    const deadline = Date.now() + READ_BACK_WAIT_MS
    for (;;) {
      if (end !== null && state.next >= end) return state.fold
      const fetchOffset: bigint = truncatedAt ?? state.next
      let response
      try {
        response = await consumer.fetch({
          node: info.leader,
          maxWaitTime: end === null ? 0 : 100,
          minBytes: 1,
          maxBytes: FETCH_MAX_BYTES,
          topics: [{topicId: info.id, partitions: [{partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, partitionMaxBytes: FETCH_MAX_BYTES}]}],
        })
      } catch (error) {
        // The offset is gone (retention, delete-records): look at where the log starts now.
        if (truncatedAt !== null || !/OFFSET_OUT_OF_RANGE|not within the range of offsets/.test(errorText(error))) throw error
        truncatedAt = await this.logStartOffset()
        continue
      }
      const p = response.responses[0]?.partitions[0]
      if (!p) throw new UnavailableError(`settings topic "${this.target.topic}": the broker returned no data for partition 0`)
      if (p.errorCode !== 0) throw new UnavailableError(`settings topic "${this.target.topic}": fetch failed with Kafka error code ${p.errorCode}`)
      if (truncatedAt === null && p.logStartOffset > 0n) truncatedAt = p.logStartOffset
      const before = state.next
      for (const batch of p.records ?? []) {
        if (batch.attributes & IS_CONTROL) {
          if (truncatedAt === null) state.next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
          continue
        }
        for (const r of batch.records) {
          const offset = batch.firstOffset + BigInt(r.offsetDelta)
          if (offset < fetchOffset || (truncatedAt === null && (offset < state.next || (end !== null && offset >= end)))) continue
          if (!isSettingsRecord(r.key, r.value)) throw this.notSettingsTopic(offset, p.logStartOffset, p.highWatermark, describeForeignRecord(r.key, r.value))
          if (truncatedAt !== null) throw this.truncated(truncatedAt)
          const outcome = state.fold.apply(r.value)
          onRecord?.(offset, outcome)
          state.next = offset + 1n
        }
      }
      // Truncated and no record left to say otherwise: the settings history was deleted.
      if (truncatedAt !== null) throw this.truncated(truncatedAt)
      if (end === null && state.next >= p.highWatermark) return state.fold
      if (state.next === before && Date.now() > deadline) throw new UnavailableError(`settings topic "${this.target.topic}": could not read the log up to offset ${end ?? p.highWatermark}`)
    }
  }

  private truncated(logStart: bigint): DlqError {
    return new DlqError(
      `settings topic "${this.target.topic}" no longer starts at offset 0 (log start ${logStart}): records were deleted from it (its retention, or delete-records), ` +
        `so the settings it held cannot be read; a settings topic needs ${SETTINGS_TOPIC_CONFIG.map(([n, v]) => `${n}=${v}`).join(',')}`,
    )
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
    if (this.layoutProblem !== null) {
      this.refused = true
      throw new UnavailableError(`${this.layoutProblem}. Nothing was written`)
    }
    return this.run(async () => {
      // Folding first refuses a topic that holds anything but settings before a record goes into
      // it; and a stale expectation loses anyway, so finding out first keeps losers out of the log.
      const current = (await this.fold(info, null)).get(w.key)
      if (w.expectedVersion !== null && current.version !== w.expectedVersion) return {ok: false, current}
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
