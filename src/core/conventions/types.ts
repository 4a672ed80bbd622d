import type {ConventionName, ErrorInfo, RawRecord, SourceRef} from '../record.js'
import type {HeaderView} from './header-view.js'

/** What a convention reads out of a record's headers. Fields it cannot know stay null. */
export interface ConventionFields {
  source: SourceRef
  /** A reason the writer recorded as text (Fibril, Watermill); else it is made from `error`. */
  reason: string | null
  error?: ErrorInfo | null
  retries: number | null
  deadLetteredAt: number | null
  /** The failed record's own time, where the convention records it. */
  originalTimestamp?: number | null
  /** Replaces the record key when the convention moved the original key elsewhere. */
  key?: Buffer | null
  /**
   * The record does not hold the original message (a known writer bug or loss): what was lost, in
   * words. Becomes DecodedRecord.notOriginal, which replay acts on (not_original).
   */
  notOriginal?: string
}

/**
 * A header-based convention (conventions.md §2–§8). One module each; index.ts tries them
 * in the documented detection order. `reserved` lists the header names and prefixes that
 * are this convention's system metadata: shown under `metadata`, never replayed. Only the
 * detected convention's names are reserved on a record: a Watermill message may carry a user
 * header that another convention would reserve.
 */
export interface HeaderConvention {
  name: ConventionName
  reserved: {prefixes?: string[]; names?: string[]}
  /** Headers whose values are numbers (decimal text or big-endian binary). */
  numeric: string[]
  /**
   * What the DLQ record's own timestamp is: the time it was dead-lettered ('failure': the writer
   * produced a new record), or the failed record's time copied over ('original': Connect), or unknown.
   */
  recordTime: 'failure' | 'original' | 'unknown'
  detect(h: HeaderView): boolean
  decode(h: HeaderView, raw: RawRecord): ConventionFields
}
