import type {Int, RawHeader} from '../record.js'
import {decodeNumber, isDecimalText, utf8OrNull} from '../bytes.js'

/** Read-only lookup over a record's headers, keeping every occurrence of a repeated name in order. */
export class HeaderView {
  private readonly byName = new Map<string, Array<Buffer | null>>()
  /** What did not look as the convention says it should (a 2-byte partition, …): shown as `dlq.warning`. */
  readonly warnings: string[] = []

  constructor(readonly headers: RawHeader[]) {
    for (const h of headers) {
      const list = this.byName.get(h.key)
      if (list) list.push(h.value)
      else this.byName.set(h.key, [h.value])
    }
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  hasPrefix(prefix: string): boolean {
    for (const name of this.byName.keys()) if (name.startsWith(prefix)) return true
    return false
  }

  /** The first occurrence (Spring: the root source when a record was dead-lettered twice). */
  first(name: string): Buffer | null {
    return this.byName.get(name)?.[0] ?? null
  }

  last(name: string): Buffer | null {
    const list = this.byName.get(name)
    return list ? list[list.length - 1] : null
  }

  all(name: string): Array<Buffer | null> {
    return this.byName.get(name) ?? []
  }

  text(name: string): string | null {
    const v = this.first(name)
    return v === null ? null : utf8OrNull(v)
  }

  lastText(name: string): string | null {
    const v = this.last(name)
    return v === null ? null : utf8OrNull(v)
  }

  /**
   * An exact integer (offsets: i64). `width` is the byte size the convention writes binary numbers
   * in (Spring: 4 for a partition, 8 for an offset); another size is decoded but warned about.
   */
  int(name: string, width?: number | number[], which: 'first' | 'last' = 'first'): Int | null {
    const v = which === 'first' ? this.first(name) : this.last(name)
    if (v !== null && width !== undefined && v.length > 0 && !isDecimalText(v)) {
      const ok = Array.isArray(width) ? width : [width]
      if (!ok.includes(v.length)) this.warnings.push(`header ${name} is ${v.length} bytes, expected ${ok.join(' or ')}: decoded as a ${v.length}-byte big-endian number`)
    }
    return decodeNumber(v)
  }

  /** A small integer (partition, retries, epoch ms): null when it does not fit a JS number exactly. */
  number(name: string, width?: number | number[], which: 'first' | 'last' = 'first'): number | null {
    const v = this.int(name, width, which)
    if (typeof v === 'bigint') {
      this.warnings.push(`header ${name} is ${v}, too large for this field: ignored`)
      return null
    }
    return v
  }

  /** The first of several alternative header names that is present, as text. */
  textOf(...names: string[]): string | null {
    for (const n of names) if (this.has(n)) return this.text(n)
    return null
  }

  numberOf(...names: string[]): number | null {
    for (const n of names) if (this.has(n)) return this.number(n)
    return null
  }

  intOf(...names: string[]): Int | null {
    for (const n of names) if (this.has(n)) return this.int(n)
    return null
  }
}
