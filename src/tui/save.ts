import {writeFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {resolve} from 'node:path'
import type {DlqReader} from '../core/reader.js'
import {formatSize} from './format.js'

export interface Saved {
  path: string
  bytes: number
  /** The DLQ itself stores only a preview of this payload (hyperi cuts large ones). */
  previewOnly: boolean
}

/**
 * Writes one message's whole payload, byte for byte as the DLQ holds it (read again with
 * `get`: the list keeps only previews), to `path`. An existing file is never overwritten.
 */
export async function savePayload(reader: DlqReader, position: string, path: string): Promise<Saved> {
  const trimmed = path.trim()
  if (trimmed === '') throw new Error('give a file name')
  const abs = resolve(trimmed.startsWith('~/') ? homedir() + trimmed.slice(1) : trimmed)
  const rec = (await reader.get([position])).get(position)
  if (!rec) throw new Error(`position ${position} is not there any more`)
  if (rec.payload === null) throw new Error('this message has no payload (null)')
  try {
    await writeFile(abs, rec.payload, {flag: 'wx'})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new Error(`${abs} exists; type another name`)
    throw new Error(`cannot write ${abs}: ${(error as Error).message}`)
  }
  return {path: abs, bytes: rec.payload.length, previewOnly: rec.payloadTruncated}
}

export const savedText = (s: Saved): string =>
  `saved ${formatSize(s.bytes)} (${s.bytes.toLocaleString('en')} bytes) to ${s.path}${s.previewOnly ? ' — the DLQ stores only this preview of the payload' : ''}`
