import type {DlqReader} from '../../core/reader.js'
import {resolveFileSource} from './layout.js'
import {FileReader} from './reader.js'

export async function openFileReader(path: string): Promise<DlqReader> {
  const {kind, segments, warnings} = await resolveFileSource(path)
  return new FileReader({kind, display: path}, segments, warnings)
}
