// The floor of any replay from an NDJSON DLQ, in node: read the file, JSON.parse each line and
// base64-decode its payload — nothing else (no identity, ledger, plan, store or output).
// `node bench/replay-floor.mjs FILE` prints how many entries it read.
import {closeSync, openSync, readSync} from 'node:fs'

const fd = openSync(process.argv[2], 'r')
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
    bytes += Buffer.from(o.payload, 'base64').length
    n++
    at = nl + 1
  }
  carry = Buffer.from(chunk.subarray(at))
}
closeSync(fd)
console.log(JSON.stringify({entries: n, payloadBytes: bytes}))
