// Creates (or with --delete, deletes) Kafka topics for the benchmark:
// node bench/kafka-topic.mjs BROKERS TOPIC… [--partitions N] [--delete]
import {Admin} from '@platformatic/kafka'

const args = process.argv.slice(2)
const pIdx = args.indexOf('--partitions')
const partitions = pIdx >= 0 ? Number(args.splice(pIdx, 2)[1]) : 1
const dIdx = args.indexOf('--delete')
const remove = dIdx >= 0 && args.splice(dIdx, 1).length > 0
const [brokers, ...topics] = args
const admin = new Admin({clientId: 'dlq-bench', bootstrapBrokers: brokers.split(',')})
try {
  if (remove) await admin.deleteTopics({topics})
  else await admin.createTopics({topics, partitions, replicas: 1})
} finally {
  await admin.close()
}
