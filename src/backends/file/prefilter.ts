/**
 * Decides, from raw bytes, whether a line could match the filter's `=` expressions, so the
 * scan parses only candidate lines. A line is a candidate when it contains every needle, or
 * when it holds text the needles could hide behind: a JSON `\u` escape, or a `{"base64": …}`
 * value (binary keys and headers). Needles with quotes, backslashes, slashes, control or
 * non-ASCII characters are never made (see core/filter.ts), so JSON stores them verbatim.
 *
 * Works chunk by chunk and remembers the next occurrence of each pattern, so the whole chunk
 * is searched once per pattern however many lines it holds.
 */
const MARKERS = [Buffer.from('\\u'), Buffer.from('base64')]

export class Prefilter {
  readonly active: boolean
  private readonly needles: Buffer[]
  private readonly nextNeedle: number[]
  private readonly nextMarker: number[]
  private buf: Buffer | null = null

  constructor(needles: Buffer[]) {
    this.needles = needles
    this.active = needles.length > 0
    this.nextNeedle = needles.map(() => -1)
    this.nextMarker = MARKERS.map(() => -1)
  }

  private occurs(pat: Buffer, next: number[], k: number, start: number, end: number): boolean {
    let p = next[k]
    if (p < start) {
      p = this.buf!.indexOf(pat, start)
      next[k] = p < 0 ? Number.MAX_SAFE_INTEGER : p
    }
    return next[k] + pat.length <= end
  }

  /** buf[start, end) is one line of the chunk `buf`. */
  candidate(buf: Buffer, start: number, end: number): boolean {
    if (!this.active) return true
    if (buf !== this.buf) {
      this.buf = buf
      this.nextNeedle.fill(-1)
      this.nextMarker.fill(-1)
    }
    for (let k = 0; k < MARKERS.length; k++) if (this.occurs(MARKERS[k], this.nextMarker, k, start, end)) return true
    for (let k = 0; k < this.needles.length; k++) if (!this.occurs(this.needles[k], this.nextNeedle, k, start, end)) return false
    return true
  }
}
