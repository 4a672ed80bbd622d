import type {RecordFilter} from '../core/filter.js'
import type {DlqReader, LogBounds} from '../core/reader.js'
import type {DecodedRecord} from '../core/record.js'
import {stepBack} from '../backends/file/backward.js'
import {slimRecord} from './format.js'
import type {Action, LoadRequest} from './state.js'

/**
 * Turns the reducer's LoadRequests into reader calls. Kept apart from the component so the
 * paging logic is plain async code: the container only decides when to call it.
 */

/**
 * File and directory positions are record numbers: the TUI steps back one bounded stretch per
 * request (backends/file/backward.ts), showing what it found before widening the next step.
 */
export const canStepBack = (reader: DlqReader): boolean => reader.info.kind === 'file' || reader.info.kind === 'directory'

/** Kafka and Redis page backward with pageBefore (one call reads as far as a full page needs). */
export const canPageBefore = (reader: DlqReader): boolean => !canStepBack(reader) && typeof reader.pageBefore === 'function'

export async function runLoad(reader: DlqReader, req: LoadRequest, filter: RecordFilter, payloadLimit: number, signal: AbortSignal): Promise<Action> {
  const slim = (rs: DecodedRecord[]) => rs.map((r) => slimRecord(r, payloadLimit))
  if (req.kind === 'before') {
    const page = await reader.pageBefore!({before: req.before, limit: req.limit, filter, signal})
    if (signal.aborted) throw signal.reason ?? new Error('aborted')
    return {
      type: 'pageLoaded',
      generation: req.generation,
      direction: 'backward',
      page: {from: page.from, records: slim(page.records), next: req.before, atEnd: false},
      reachedStart: page.atStart,
    }
  }
  if (req.kind !== 'step-back') {
    const page = await reader.page({from: req.from, limit: req.limit, filter, signal})
    return {
      type: 'pageLoaded',
      generation: req.generation,
      direction: req.kind,
      page: {from: req.from, records: slim(page.records), next: page.next, atEnd: page.atEnd},
    }
  }
  // Reads [before - span, before) and keeps its last `limit` matches, one bounded step per
  // request, so the reducer can widen the span while a sparse filter finds nothing.
  const step = await stepBack(reader, {before: Number(req.before), span: req.span, limit: req.limit, filter, signal, keep: (r) => slimRecord(r, payloadLimit)})
  if (signal.aborted) throw signal.reason ?? new Error('aborted')
  return {
    type: 'pageLoaded',
    generation: req.generation,
    direction: 'backward',
    page: {from: step.from, records: step.records, next: req.before, atEnd: false},
    stepped: true,
    reachedStart: step.reachedStart,
  }
}

/** Where G starts reading: a page before the end for files, the last entry elsewhere. */
export function lastOrigin(reader: DlqReader, bounds: LogBounds, pageSize: number): string | null {
  if (bounds.last === null) return null
  if (canStepBack(reader)) return String(Math.max(0, Number(bounds.last) + 1 - pageSize))
  return bounds.last
}
