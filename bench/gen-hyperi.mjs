#!/usr/bin/env node
// Writes N hyperi-rustlib DLQ entries (default 1,000,000, about 700 MB) as NDJSON.
// Usage: node bench/gen-hyperi.mjs OUT [N] [--text]
// Deterministic: the same N gives the same bytes. One entry in five has reason "timeout".
// --text: payloads are one-line JSON text instead of random bytes (for line-based tools like kcat -P).
import {openSync, writeSync, closeSync} from 'node:fs'

const out = process.argv[2]
const n = Number(process.argv[3] ?? 1_000_000)
const text = process.argv.includes('--text')
if (!out) {
  console.error('usage: node bench/gen-hyperi.mjs OUT [N]')
  process.exit(2)
}
const reasons = ['parse_error', 'timeout', 'schema_mismatch', 'downstream_unavailable', 'parse_error']
const topics = ['orders', 'payments', 'shipments', 'clicks']
const T0 = Date.UTC(2026, 10, 1)
let seed = 42
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
const body = Buffer.alloc(440)

const fd = openSync(out, 'w')
let chunk = []
let size = 0
for (let i = 0; i < n; i++) {
  let payload
  if (text) payload = Buffer.from(JSON.stringify({event: 'order.created', id: i, note: 'x'.repeat(300 + (i % 100))}))
  else {
    for (let j = 0; j < body.length; j++) body[j] = (rnd() * 256) | 0
    payload = body
  }
  const line = JSON.stringify({
    timestamp: T0 + i * 1000,
    service: 'ingest',
    reason: reasons[i % 5],
    attempts: i % 4,
    payload: payload.toString('base64'),
    destination: `${topics[i % 4]}.events`,
    source: {topic: topics[i % 4], partition: i % 6, offset: 100_000 + i},
  })
  chunk.push(line)
  size += line.length + 1
  if (size > 8 << 20) {
    writeSync(fd, chunk.join('\n') + '\n')
    chunk = []
    size = 0
  }
}
if (chunk.length) writeSync(fd, chunk.join('\n') + '\n')
closeSync(fd)
