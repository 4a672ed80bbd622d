import type {Admin} from '@platformatic/kafka'

/** A library error with its nested causes, as one line to match codes against. */
export function errorText(error: unknown): string {
  const e = error as Error & {errors?: unknown[]; cause?: unknown}
  const parts = [String(e?.message ?? error)]
  for (const inner of e?.errors ?? []) parts.push(errorText(inner))
  if (e?.cause) parts.push(errorText(e.cause))
  return parts.join(' | ')
}

/**
 * Creates a one-partition topic whose whole log is kept (the settings store and the replay
 * ledger are that log folded from offset 0, so nothing may ever be deleted). Losing the
 * creation to another writer is fine: it is the same topic. The broker does not always say
 * so plainly while creations race, so `exists` is asked before giving up.
 */
export async function createLogTopic(admin: Admin, topic: string, exists: () => Promise<boolean>): Promise<void> {
  try {
    await admin.createTopics({
      topics: [topic],
      partitions: 1,
      // -1: the broker's default replication factor.
      replicas: -1,
      configs: [
        {name: 'cleanup.policy', value: 'delete'},
        {name: 'retention.ms', value: '-1'},
        {name: 'retention.bytes', value: '-1'},
      ],
    })
  } catch (error) {
    if (/TOPIC_ALREADY_EXISTS|already exists/i.test(errorText(error))) return
    if (await exists().catch(() => false)) return
    throw error
  }
}
