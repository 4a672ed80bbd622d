/**
 * One thread of a parallel `dlq stats` over a large file: counts the records of one byte
 * range (see parallel-stats.ts) and posts the counts back. Bundled as its own entry point.
 */
import {parentPort, workerData} from 'node:worker_threads'
import {buildFilter} from '../../core/filter.js'
import {StatsAccumulator} from '../../core/stats.js'
import type {RangeJob, RangeResult} from './parallel-stats.js'
import {FileReader} from './reader.js'

const job = workerData as RangeJob
const reader = new FileReader({kind: 'file', display: job.path}, [{path: job.path, gzip: false, start: job.start, end: job.end}])
const filter = buildFilter(job.spec, job.now)
const acc = new StatsAccumulator()
const lines = await reader.scanCounting({filter}, (rec) => acc.add(rec))
const result: RangeResult = {state: acc.state(), lines}
parentPort!.postMessage(result)
