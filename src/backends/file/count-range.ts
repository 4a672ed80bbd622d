import {buildFilter} from '../../core/filter.js'
import {StatsAccumulator} from '../../core/stats.js'
import type {RangeJob, RangeResult} from './parallel-stats.js'
import {FileReader} from './reader.js'

/** Counts the records of one byte range of a plain file: one share of a parallel `dlq stats`. */
export async function countRange(job: RangeJob, signal?: AbortSignal): Promise<RangeResult> {
  const reader = new FileReader({kind: 'file', display: job.path}, [{path: job.path, gzip: false, start: job.start, end: job.end}])
  const filter = buildFilter(job.spec, job.now)
  const acc = new StatsAccumulator()
  const lines = await reader.scanCounting({filter, signal}, (rec) => acc.add(rec))
  return {state: acc.state(), lines}
}
