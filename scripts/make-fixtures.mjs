#!/usr/bin/env node
// Writes the sample DLQs in fixtures/ (deterministic: same bytes every run).
// Run: npm run fixtures
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {gzipSync} from 'node:zlib'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures')
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0) // 2026-11-22T10:00:00Z

const i32 = (n) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return {base64: b.toString('base64')}
}
const i64 = (n) => {
  const b = Buffer.alloc(8)
  b.writeBigInt64BE(BigInt(n))
  return {base64: b.toString('base64')}
}
const b64 = (s) => Buffer.from(s).toString('base64')
const line = (o) => JSON.stringify(o) + '\n'

function hyperi(i, reason, topic, extra = {}) {
  return {
    timestamp: T0 + i * 60_000,
    service: 'ingest',
    reason,
    attempts: i % 4,
    payload: b64(JSON.stringify({event: 'order.created', id: 1000 + i, amount: (i * 7.25).toFixed(2)})),
    destination: `${topic}.events`,
    source: {topic, partition: i % 3, offset: 5000 + i},
    ...extra,
  }
}

const reasons = ['parse_error', 'timeout', 'schema_mismatch', 'parse_error', 'downstream_unavailable']

// 1. hyperi-rustlib entries
const hyperiLines = []
for (let i = 0; i < 12; i++) hyperiLines.push(line(hyperi(i, reasons[i % reasons.length], i % 2 ? 'orders' : 'payments')))

// 2. one record per Kafka convention, as Kafka-style export lines (kcat -J like)
const kafka = (i, topic, headers, key, value) => ({topic, partition: 0, offset: i, timestamp: T0 + i * 1000, key, value, headers})
const conv = [
  kafka(0, 'orders-dlt', {
    'kafka_dlt-original-topic': 'orders',
    'kafka_dlt-original-partition': i32(3),
    'kafka_dlt-original-offset': i64(12345),
    'kafka_dlt-original-timestamp': i64(T0 - 5000),
    'kafka_dlt-original-timestamp-type': 'CreateTime',
    'kafka_dlt-original-consumer-group': 'order-workers',
    'kafka_dlt-exception-fqcn': 'org.springframework.kafka.listener.ListenerExecutionFailedException',
    'kafka_dlt-exception-cause-fqcn': 'com.fasterxml.jackson.core.JsonParseException',
    'kafka_dlt-exception-message': "Unexpected character ('}' (code 125)) at [Source: line 1, column 18]",
    trace: 'abc-123',
  }, 'order-17', '{"id":17,"total":}'),
  kafka(1, 'error.payments.billing', {
    'x-original-topic': 'payments',
    'x-original-partition': i32(1),
    'x-original-offset': i64(77),
    'x-exception-fqcn': 'java.lang.IllegalStateException',
    'x-exception-message': 'card declined',
  }, 'pay-9', '{"payment":9,"card":"****4242"}'),
  kafka(2, 'connect-dlq', {
    '__connect.errors.topic': 'inventory',
    '__connect.errors.partition': '2',
    '__connect.errors.offset': '881',
    '__connect.errors.connector.name': 'jdbc-sink',
    '__connect.errors.task.id': '0',
    '__connect.errors.stage': 'VALUE_CONVERTER',
    '__connect.errors.exception.class.name': 'org.apache.kafka.connect.errors.DataException',
    '__connect.errors.exception.message': 'Converting byte[] to Kafka Connect data failed',
  }, null, {base64: Buffer.from([0x00, 0x00, 0x00, 0x00, 0x2a, 0xff, 0xfe, 0x10]).toString('base64')}),
  kafka(3, 'shipments-dlq', {
    '__streams.errors.topic': 'shipments',
    '__streams.errors.partition': '0',
    '__streams.errors.offset': '42',
    '__streams.errors.exception': 'org.apache.kafka.common.errors.SerializationException',
    '__streams.errors.message': 'Size of data received by IntegerDeserializer is not 4',
  }, 'ship-1', 'not-an-int'),
  kafka(4, 'dead-letter-topic-prices', {
    'dead-letter-reason': 'price must be positive',
    'dead-letter-cause': 'java.lang.IllegalArgumentException: price must be positive',
    'dead-letter-exception-class-name': 'java.lang.IllegalArgumentException',
    'dead-letter-topic': 'prices',
    'dead-letter-partition': '0',
    'dead-letter-offset': '314',
    tenant: 'eu-1',
  }, 'sku-3', '{"sku":3,"price":-1}'),
  kafka(5, 'jobs.dlq', {
    'stroma.dlq.source_topic': 'jobs',
    'stroma.dlq.source_group': 'job-runners',
    'stroma.dlq.source_offset': '9001',
    'stroma.dlq.retry_count': '5',
    'stroma.dlq.reason': 'retries_exhausted',
    'stroma.dlq.dead_lettered_at_ms': String(T0 + 5500),
    priority: 'high',
  }, 'job-77', '{"job":77}'),
  kafka(6, 'clicks_dlq', {
    source_topic: 'clicks',
    source_partition: '4',
    source_offset: '123456',
    source_consumer_group: 'analytics',
    source_attempts: '3',
    source_trace_id: '5f0c7d2e-3b8a-4c61-9a55-0c1f7b0e9d11',
  }, 'user-5', '{"click":"/checkout"}'),
  kafka(7, 'clicks_dlq', {
    original_topic: 'clicks',
    original_partition: '1',
    original_offset: '777',
    original_consumer_group: 'analytics',
    original_attempts: '2',
    original_key: 'user-8',
  }, '1', '{"click":"/cart"}'),
  kafka(8, 'snuba-dead-letter', {original_partition: '0', original_offset: '31337'}, null, '{"event_id":"e1"}'),
  kafka(9, 'poison', {
    reason_poisoned: 'could not unmarshal message',
    topic_poisoned: 'notifications',
    handler_poisoned: 'email_sender',
    subscriber_poisoned: 'kafka',
  }, null, '{"to":"ops@example.com"}'),
  kafka(10, 'audit-dlt', {}, 'a-1', '{"audit":true}'),
]
const conventionLines = conv.map(line)

// 3. hostile bytes: escape sequences, bidi override and binary, to show they never reach the terminal raw
const hostile = [
  line(kafka(11, 'orders-dlt', {'kafka_dlt-original-topic': 'orders', 'kafka_dlt-original-partition': i32(0), 'kafka_dlt-original-offset': i64(99), 'kafka_dlt-exception-fqcn': 'java.lang.RuntimeException', note: 'evil\u001b]0;pwned\u0007'}, 'k\u001b[31mred', 'line1\nline2\u001b[2J\u202egnp.exe')),
]

// 4. corrupt lines: every one is shown as an unreadable record, none stops the read
const corrupt = [
  line(hyperi(0, 'timeout', 'orders')),
  '{"timestamp": 1764000000000, "service": "ingest", "reason": "x", "attempts": 1, "payl\n',
  line({...hyperi(2, 'timeout', 'orders'), attempts: 'three'}),
  line({...hyperi(3, 'timeout', 'orders'), payload: 'not base64!!'}),
  Buffer.concat([Buffer.from('{"key":"bad utf8 \xff","value":"x","headers":{}}', 'latin1'), Buffer.from('\n')]),
  '\n',
  line(hyperi(6, 'timeout', 'orders')).replace('\n', '\r\n'),
  '[1,2,3]\n',
  '{"hello":"world"}\n',
  JSON.stringify(hyperi(9, 'parse_error', 'orders')).slice(0, 60),
]

rmSync(root, {recursive: true, force: true})
mkdirSync(join(root, 'rotated', 'ingest'), {recursive: true})
writeFileSync(join(root, 'hyperi.ndjson'), hyperiLines.join(''))
writeFileSync(join(root, 'conventions.ndjson'), conventionLines.join(''))
writeFileSync(join(root, 'hostile.ndjson'), hostile.join(''))
writeFileSync(join(root, 'corrupt.ndjson'), Buffer.concat(corrupt.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c)))))
writeFileSync(join(root, 'mixed.ndjson'), [...hyperiLines.slice(0, 6), ...conventionLines].join(''))
writeFileSync(join(root, 'hyperi.ndjson.gz'), gzipSync(hyperiLines.join(''), {level: 9, mtime: 0}))

// A rotated hyperi-rustlib directory: oldest gzipped, newer plain, then the live file.
const rot = (from, to) => hyperiLines.slice(from, to).join('')
writeFileSync(join(root, 'rotated', 'ingest', 'dlq.ndjson.20261122T090000.gz'), gzipSync(rot(0, 4), {level: 9}))
writeFileSync(join(root, 'rotated', 'ingest', 'dlq.ndjson.20261122T100000'), rot(4, 8))
writeFileSync(join(root, 'rotated', 'ingest', 'dlq.ndjson'), rot(8, 12))
console.error(`fixtures written to ${root}`)
