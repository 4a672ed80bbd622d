import type {RawHeader} from '../record.js'
import {decodeNumber, utf8OrNull} from '../bytes.js'

/** Read-only lookup over a record's headers, keeping every occurrence of a repeated name in order. */
export class HeaderView {
  private readonly byName = new Map<string, Array<Buffer | null>>()

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

  number(name: string): number | null {
    return decodeNumber(this.first(name))
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
}
