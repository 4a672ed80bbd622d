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
        // The broker answers per partition: the others' cuts may have gone through.
        const cut = partitionsCut(error).filter(([p]) => cuts.has(p))
        const done = cut.length === 0 ? 'nothing was deleted' : `nothing was deleted there; ${cut.map(([p, start]) => `partition ${p} was cut (its log starts at ${start} now)`).join(', ')} — run the purge again once the cause is fixed`
        if (refused.includes('POLICY_VIOLATION')) {
          throw new DlqError(`topic "${this.topic}" does not allow deleting records (a compacted topic: cleanup.policy without delete); ${done}`)
        }
        if (refused.length > 0) {
          const failed = [...cuts.keys()].filter((p) => !cut.some(([q]) => q === p))
          throw new DlqError(`Kafka refused DeleteRecords on "${this.topic}"${cut.length === 0 ? '' : ` for partition${failed.length === 1 ? '' : 's'} ${failed.join(', ')}`} (${[...new Set(refused)].join(', ')}); ${done}`)
        }
        throw error
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

/** The partitions a DeleteRecords failure cut all the same, with their new log start (the response the client nests in `errors[].response`). */
function partitionsCut(error: unknown): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (const e of (error as {errors?: unknown[]})?.errors ?? []) {
    const response = (e as {response?: {topics?: Array<{partitions?: Array<{partitionIndex: number; errorCode: number; lowWatermark: bigint}>}>}})?.response
    for (const t of response?.topics ?? []) for (const p of t.partitions ?? []) if (p.errorCode === 0) out.push([p.partitionIndex, Number(p.lowWatermark)])
  }
  return out.sort((a, b) => a[0] - b[0])
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
