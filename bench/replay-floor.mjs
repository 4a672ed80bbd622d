// The floor of any replay from an NDJSON DLQ, in node: read the file, JSON.parse each line and
// base64-decode its payload — nothing else (no identity, ledger, plan, store or output).
// `node bench/replay-floor.mjs FILE` prints how many entries it read.
//
// `--safe LEDGER` adds the least a replay that can be interrupted and repeated must also do for
// each entry: a SHA-256 that names the message (here of the decoded payload alone; dlq's identity
// also covers key, headers and metadata, and a second one names the source message), and that
// name appended to a ledger file, 500 at a time, each group fsync'd before it would be sent
// (still no plan, store, acknowledgement, completion or output). As in dlq, a group's fsync runs
// off the main thread while the next group is read; a group is written once the one before it is durable.
import {closeSync, fsync, openSync, readSync, writeSync} from 'node:fs'
import {hash} from 'node:crypto'

const fd = openSync(process.argv[2], 'r')
const safe = process.argv[3] === '--safe' ? openSync(process.argv[4], 'w') : null
const GROUP = 500
let names = []
let durable = Promise.resolve()
const claim = async () => {
  await durable
  writeSync(safe, names.join(''))
  durable = new Promise((resolve, reject) => fsync(safe, (error) => (error ? reject(error) : resolve())))
  names = []
}
const buf = Buffer.allocUnsafe(4 << 20)
let carry = Buffer.alloc(0)
let n = 0
let bytes = 0
for (;;) {
  const got = readSync(fd, buf, 0, buf.length, null)
  if (got === 0) break
  const chunk = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, got)]) : buf.subarray(0, got)
  let at = 0
  for (let nl = chunk.indexOf(10, at); nl >= 0; nl = chunk.indexOf(10, at)) {
    const o = JSON.parse(chunk.toString('utf8', at, nl))
    const payload = Buffer.from(o.payload, 'base64')
    bytes += payload.length
    if (safe !== null) {
      names.push(`${hash('sha256', payload, 'hex').slice(0, 32)}\n`)
      if (names.length === GROUP) await claim()
    }
    n++
    at = nl + 1
  }
  carry = Buffer.from(chunk.subarray(at))
}
closeSync(fd)
if (safe !== null) {
  if (names.length > 0) await claim()
  await durable
  closeSync(safe)
}
console.log(JSON.stringify({entries: n, payloadBytes: bytes}))
