// Topic set-up and clean-up shared by the Kafka-backed bench cases.
import {Admin} from '@platformatic/kafka'

/** Creates `topic` with `partitions` partitions and waits until each has a leader. */
export async function createTopic(brokers, topic, partitions) {
  const admin = new Admin({clientId: 'dlq-bench', bootstrapBrokers: [brokers]})
  try {
    await admin.createTopics({topics: [topic], partitions, replicas: 1})
    for (let i = 0; i < 100; i++) {
      const md = await admin.metadata({topics: [topic], forceUpdate: true}).catch(() => null)
      if (md?.topics.get(topic)?.partitions.every((p) => p.leader >= 0)) break
      await new Promise((r) => setTimeout(r, 100))
    }
  } finally {
    await admin.close()
  }
}

export async function dropTopic(brokers, topic) {
  const admin = new Admin({clientId: 'dlq-bench', bootstrapBrokers: [brokers]})
  try {
    await admin.deleteTopics({topics: [topic]})
  } finally {
    await admin.close()
  }
}
