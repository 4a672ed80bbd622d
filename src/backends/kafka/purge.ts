import {DlqError} from '../../core/errors.js'
import type {KafkaPurger} from '../../core/purge.js'
import {withAdmin} from './admin.js'
import {KafkaClient} from './client.js'
import {parseKafkaUri} from './uri.js'

/** `dlq purge` on a Kafka DLQ: DeleteRecords, which moves each partition's log start up to a cut. */
export class KafkaTopicPurger implements KafkaPurger {
  readonly kind = 'kafka' as const

  private constructor(
    private readonly client: KafkaClient,
    private readonly topic: string,
  ) {}

  static async open(uri: string): Promise<KafkaTopicPurger> {
    const target = parseKafkaUri(uri, {needTopic: true})
    return new KafkaTopicPurger(await KafkaClient.open(target), target.topic!)
  }

  async groups(): Promise<Array<{name: string; committed: Map<number, number>}>> {
    return withAdmin(this.client, this.topic, async (admin) => {
      const names = [...(await admin.listGroups()).keys()]
      if (names.length === 0) return []
      const res = await admin.listConsumerGroupOffsets({groups: names})
      const out: Array<{name: string; committed: Map<number, number>}> = []
      for (const g of res) {
        const committed = new Map<number, number>()
        for (const t of g.topics) if (t.name === this.topic) for (const p of t.partitions) if (p.committedOffset >= 0n) committed.set(p.partitionIndex, Number(p.committedOffset))
        if (committed.size > 0) out.push({name: g.groupId, committed})
      }
      return out
    })
  }

  async deleteBefore(cuts: Map<number, number>): Promise<Map<number, number>> {
    return withAdmin(this.client, this.topic, async (admin) => {
      let res
      try {
        res = await admin.deleteRecords({topics: [{name: this.topic, partitions: [...cuts].map(([partition, offset]) => ({partition, offset: BigInt(offset)}))}]})
      } catch (error) {
        const refused = brokerErrors(error)
        if (refused.length === 0) throw error
        // The brokers answer per partition, and the library keeps only the failed answers: what
        // was cut all the same is read back from the partitions' log starts.
        const layout = await this.client.layout(this.topic).catch(() => null)
        const starts = layout && (await this.client.earliest(this.topic, layout, [...cuts.keys()]).catch(() => null))
        const cut = starts === null ? null : [...cuts].filter(([p, before]) => (starts.get(p) ?? -1) >= before).map(([p]) => p)
        const failed = cut === null ? [...cuts.keys()] : [...cuts.keys()].filter((p) => !cut.includes(p))
        const done =
          cut === null
            ? 'whether any partition was cut could not be read back: run the purge again to see what is left'
            : cut.length === 0
              ? 'nothing was deleted'
              : `nothing was deleted there; ${cut.map((p) => `partition ${p} was cut (its log starts at ${starts!.get(p)} now)`).join(', ')} — run the purge again once the cause is fixed`
        const which = cut === null || cut.length === 0 ? '' : ` for partition${failed.length === 1 ? '' : 's'} ${failed.join(', ')}`
        if (refused.includes('POLICY_VIOLATION')) {
          throw new DlqError(`topic "${this.topic}" does not allow deleting records (a compacted topic: cleanup.policy without delete)${which}; ${done}`)
        }
        throw new DlqError(`Kafka refused DeleteRecords on "${this.topic}"${which} (${[...new Set(refused)].join(', ')}); ${done}`)
      }
      const out = new Map<number, number>()
      for (const t of res) for (const p of t.partitions) out.set(p.partition, Number(p.lowWatermark))
      return out
    })
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}

/** The broker's per-partition error names in a DeleteRecords failure (the client nests them in `errors[].response[]`). */
function brokerErrors(error: unknown): string[] {
  const out: string[] = []
  const walk = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || depth > 4) return
    const x = e as {apiId?: unknown; errors?: unknown; response?: unknown}
    if (typeof x.apiId === 'string') out.push(x.apiId)
    for (const k of [x.errors, x.response]) if (Array.isArray(k)) for (const c of k) walk(c, depth + 1)
  }
  walk(error, 0)
  return out
}
