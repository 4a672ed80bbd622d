import {claimEvents, claimTakes, doneEvents, entriesOf, foldLedger, holderOf, isBatch, releaseEvent, type AnyLedgerEvent, type ClaimRequest, type LedgerEdit, type LedgerEntry, type LedgerTarget, type ReplayLedger} from '../../core/replay/ledger.js'
import {UnavailableError} from '../../core/errors.js'
import type {Producer as LibProducer} from '@platformatic/kafka'
import {withAdmin} from './admin.js'
import {KafkaClient, type TopicLayout} from './client.js'
import {clientOptions} from './connection.js'
import {readPartition} from './log.js'
import {createLogTopic} from './log-topic.js'
import {parseKafkaUri} from './uri.js'

const LEADER_WAIT_MS = 10_000

/**
 * The replay ledger of a Kafka DLQ: a one-partition topic in the same cluster,
 * `<dlq-topic>.dlq-replay-ledger`, created on first use with nothing ever deleted. Each record
 * is one ledger event (value = JSON): a batch event (key = the run) names many messages, an
 * older one-message event (key = its identity) one. Replays append without a lock; the
 * state is the log folded in order, where the first claim of a position wins, and a replay
 * learns which claims it holds by reading the log back up to its own records.
 */
export class KafkaLedger implements ReplayLedger {
  private state = new Map<string, LedgerEntry>()
  private nextOffset = 0
  private layout: TopicLayout | null = null

  private constructor(
    private readonly client: KafkaClient,
    private readonly producer: LibProducer<Buffer, Buffer, Buffer, Buffer>,
    readonly topic: string,
  ) {}

  static async open(uri: string): Promise<KafkaLedger> {
    const target = parseKafkaUri(uri, {needTopic: true})
    const client = await KafkaClient.open(target)
    const producer = new client.lib.Producer<Buffer, Buffer, Buffer, Buffer>({...clientOptions(target, client.settings), idempotent: true, acks: -1})
    return new KafkaLedger(client, producer, `${target.topic}.dlq-replay-ledger`.slice(0, 249))
  }

  get where(): string {
    return `topic "${this.topic}" on ${this.client.target.brokers.map((b) => `${b.host}:${b.port}`).join(',')}`
  }

  private async ensureTopic(create: boolean): Promise<TopicLayout | null> {
    // The client's layout, which its reads refresh when a leader moves (this one only says the topic is there).
    if (this.layout) return (await this.client.layout(this.topic).catch(() => null)) ?? this.layout
    let layout = await this.client.layout(this.topic, true).catch((e) => Promise.reject(this.client.fail(e, this.topic)))
    if (layout === null && create) {
      await withAdmin(this.client, this.topic, (admin) => createLogTopic(admin, this.topic, async () => (await this.client.layout(this.topic, true)) !== null))
      const deadline = Date.now() + LEADER_WAIT_MS
      for (;;) {
        layout = await this.client.layout(this.topic, true).catch(() => null)
        if (layout && layout.leaders[0] >= 0) break
        if (Date.now() > deadline) throw new UnavailableError(`replay ledger topic "${this.topic}" has no leader after ${LEADER_WAIT_MS / 1000} s`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    if (layout && layout.partitions !== 1) throw new UnavailableError(`replay ledger topic "${this.topic}" has ${layout.partitions} partitions; it must have exactly 1`)
    this.layout = layout
    return layout
  }

  /** Folds what was appended since the last look, up to `until` (default: the end). */
  private async refresh(until?: number): Promise<Map<string, LedgerEntry>> {
    const layout = await this.ensureTopic(false)
    if (layout === null) return this.state
    try {
      const end = until ?? (await this.client.latest(this.topic, layout, [0])).get(0) ?? 0
      const events: AnyLedgerEvent[] = []
      // Moved on only once what was read is folded, and only as far as the read got: a read
      // that fails part-way (a lost connection) or stops short of `end` (a new leader's high
      // watermark catching up) goes on from there next time; skipped, its claims and dones
      // would be lost to this instance, and a message replayed would look free.
      const reached = {offset: this.nextOffset}
      for await (const m of readPartition(this.client, this.topic, layout, 0, this.nextOffset, end, false, reached)) {
        try {
          const e: AnyLedgerEvent | null = m.value ? JSON.parse(m.value.toString('utf8')) : null
          if (e !== null) events.push(e)
        } catch {
          // not a ledger event: ignore
        }
      }
      foldLedger(events, this.state, (position) => this.dropped.delete(position))
      this.nextOffset = Math.max(this.nextOffset, reached.offset)
    } catch (error) {
      throw this.client.fail(error, this.topic)
    }
    return this.state
  }

  /**
   * One append at a time: the library's idempotent producer numbers a partition's batches
   * only when a send is acknowledged, so two sends in flight would reuse a sequence number
   * (and a replay claims the next batch while completing the one before).
   */
  private appending: Promise<unknown> = Promise.resolve()

  private append(events: AnyLedgerEvent[]): Promise<number> {
    const next = this.appending.then(() => this.appendNow(events))
    this.appending = next.catch(() => undefined)
    return next
  }

  private async appendNow(events: AnyLedgerEvent[]): Promise<number> {
    await this.ensureTopic(true)
    try {
      const result = await this.producer.send({
        messages: events.map((e) => ({topic: this.topic, partition: 0, key: Buffer.from(isBatch(e) ? e.runId : e.position), value: Buffer.from(JSON.stringify(e))})),
      })
      const base = result.offsets?.find((o) => o.partition === 0)?.offset
      if (base === undefined) throw new UnavailableError(`replay ledger topic "${this.topic}": no acknowledgement`)
      return Number(base) + events.length
    } catch (error) {
      throw this.client.fail(error, this.topic)
    }
  }

  async read(positions: string[]): Promise<Map<string, LedgerEntry>> {
    return entriesOf(await this.refresh(), positions)
  }

  async claim(entries: ClaimRequest[], runId: string, force: boolean): Promise<Set<string>> {
    const state = await this.refresh()
    const at = new Date().toISOString()
    // What looks free now; the log decides (the fold applies the same rule to every claim in it).
    const want = entries.filter((e) => claimTakes(holderOf(state.get(e.position)), runId, force, e.over))
    const held = new Set<string>()
    if (want.length === 0) return held
    const end = await this.append(claimEvents(want, runId, force, at))
    // Read back to our own records: whoever claimed first in the log holds the position.
    const after = await this.refresh(end)
    for (const e of want) if (after.get(e.position)?.runId === runId && after.get(e.position)?.state === 'claimed') held.add(e.position)
    return held
  }

  async complete(entries: Array<{position: string; target: LedgerTarget; offset: string; edit?: LedgerEdit}>, runId: string): Promise<void> {
    if (entries.length === 0) return
    const at = new Date().toISOString()
    await this.append(doneEvents(entries, runId, at))
  }

  async release(positions: string[], runId: string): Promise<void> {
    if (positions.length === 0) return
    const at = new Date().toISOString()
    await this.append([releaseEvent(positions, runId, at)])
  }

  /**
   * Forgotten positions whose own `done` event has not been read back yet: when it is (the next
   * claim reads the log up to its own records), it is dropped instead of folded in again.
   */
  private readonly dropped = new Set<string>()

  forget(positions: string[]): void {
    for (const p of positions) {
      this.state.delete(p)
      this.dropped.add(p)
    }
  }

  async close(): Promise<void> {
    try {
      await this.producer.close()
    } finally {
      await this.client.close()
    }
  }
}
