import {topicHint} from '../../core/conventions/topic-hint.js'
import type {RecordFilter} from '../../core/filter.js'
import type {EntryFields} from './layouts.js'

const DATA = Buffer.from('data')
const ESCAPE = Buffer.from('\\u')

/**
 * Skips entries that cannot match a filter's `=` needles without decoding them, for the
 * common case of a hyperi-rustlib stream (one `data` field per entry). Such an entry decodes
 * either as hyperi — whose filterable text (reason, source topic, service, destination) is
 * stored literally in the JSON unless a `\u` escape hides it — or, when it is not hyperi
 * JSON, as a bare payload whose only filterable text is the topic hint taken from the stream
 * name. So the prefilter stays off when a needle occurs in that hint, and when the stream
 * has consumer groups (their names become metadata). Every other layout is always decoded:
 * raw binary values (a Spring i32 partition) or msgpack do not hold numbers as text.
 */
export class EntryPrefilter {
  private readonly needles: Buffer[]

  constructor(filter: RecordFilter, stream: string, hasGroups: boolean) {
    const hint = topicHint(stream) ?? ''
    const usable = !hasGroups && filter.needles.every((n) => !hint.includes(n.toString('latin1')))
    this.needles = usable ? filter.needles : []
  }

  /** False only when the entry certainly does not match. */
  candidate(fields: EntryFields): boolean {
    if (this.needles.length === 0 || fields.length !== 2 || !fields[0].equals(DATA)) return true
    const v = fields[1]
    if (v.indexOf(ESCAPE) >= 0) return true
    for (const n of this.needles) if (v.indexOf(n) < 0) return false
    return true
  }
}
