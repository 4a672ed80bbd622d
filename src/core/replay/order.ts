/**
 * DLQ order of positions in every store's notation: file `n`, Kafka `p:o`, Redis `ms-seq`.
 * Numbers compare as numbers, part by part. Replay sends in this order, which keeps the order
 * of each source partition (its messages sit in DLQ order within one DLQ partition).
 */
export function comparePositions(a: string, b: string): number {
  const pa = a.split(/[:-]/)
  const pb = b.split(/[:-]/)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? ''
    const y = pb[i] ?? ''
    if (x === y) continue
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) {
      // Compare digit strings without losing precision beyond 2^53.
      if (x.length !== y.length) return x.length - y.length
      return x < y ? -1 : 1
    }
    return x < y ? -1 : 1
  }
  return 0
}
