#!/usr/bin/env node
// Loads a fixture of Kafka-style NDJSON lines (key, value, headers, partition) into a Kafka
// topic, headers byte for byte, so the README's tour can show a real Kafka DLQ.
// Usage: node scripts/load-fixture.mjs fixtures/conventions.ndjson kafka://127.0.0.1:19092/orders-dlt [--partitions N]
import {readFileSync} from 'node:fs'
import {Admin, Producer} from '@platformatic/kafka'

const [file, uri, ...rest] = process.argv.slice(2)
const m = uri?.match(/^kafka:\/\/([^/]+)\/(.+)$/)
if (!file || !m) {
  console.error('usage: node scripts/load-fixture.mjs FILE kafka://host:port/topic [--partitions N]')
  process.exit(2)
}
const partitions = rest.includes('--partitions') ? Number(rest[rest.indexOf('--partitions') + 1]) : 1
const [, brokers, topic] = m
const bytes = (v) => (v === null || v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.base64, 'base64'))
const opts = {clientId: 'dlq-fixture-loader', bootstrapBrokers: brokers.split(',')}
const admin = new Admin(opts)
try {
  await admin.createTopics({topics: [topic], partitions, replicas: 1})
} catch (error) {
  if (!/already exists/i.test(JSON.stringify(error.errors ?? error.message))) throw error
} finally {
  await admin.close()
}
const producer = new Producer({...opts, idempotent: true, acks: -1})
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
for (const o of lines) {
  await producer.send({
    messages: [
      {
        topic,
        partition: (o.partition ?? 0) % partitions,
        key: bytes(o.key),
        value: bytes(o.value ?? o.payload),
        headers: new Map(Object.entries(o.headers ?? {}).map(([k, v]) => [Buffer.from(k), bytes(v)])),
        timestamp: o.timestamp ? BigInt(o.timestamp) : undefined,
      },
    ],
  })
}
await producer.close()
console.error(`${lines.length} records → ${topic}`)
