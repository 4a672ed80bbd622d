import type {ConventionName, RawRecord, SourceRef} from '../record.js'
import type {HeaderView} from './header-view.js'

/** What a convention reads out of a record's headers. Fields it cannot know stay null. */
export interface ConventionFields {
  source: SourceRef
  reason: string | null
  retries: number | null
  deadLetteredAt: number | null
  /** Replaces the record key when the convention moved the original key elsewhere. */
  key?: Buffer | null
  /** Notes about what was decoded (e.g. a known producer bug), added to metadata. */
  notes?: Record<string, string>
}

/**
 * A header-based convention (conventions.md §2–§8). One module each; index.ts tries them
 * in the documented detection order. `reserved` lists the header names and prefixes that
 * are system metadata: shown under `metadata`, never replayed.
 */
export interface HeaderConvention {
  name: ConventionName
  reserved: {prefixes?: string[]; names?: string[]}
  /** Headers whose values are numbers (decimal text or big-endian binary). */
  numeric: string[]
  detect(h: HeaderView): boolean
  decode(h: HeaderView, raw: RawRecord): ConventionFields
}
