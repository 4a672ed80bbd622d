// The plain Node loop people write first: readline + JSON.parse per line. A reference point.
import {createReadStream} from 'node:fs'
import {createInterface} from 'node:readline'

let count = 0
for await (const line of createInterface({input: createReadStream(process.argv[2]), crlfDelay: Infinity})) {
  if (JSON.parse(line).reason === 'timeout') count++
}
console.log(count)
