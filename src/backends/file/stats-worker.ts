/**
 * One thread of a parallel `dlq stats` over a large file: counts the records of one byte
 * range (see parallel-stats.ts) and posts the counts back. Bundled as its own entry point.
 */
import {parentPort, workerData} from 'node:worker_threads'
import {countRange} from './count-range.js'
import type {RangeJob} from './parallel-stats.js'

parentPort!.postMessage(await countRange(workerData as RangeJob))
