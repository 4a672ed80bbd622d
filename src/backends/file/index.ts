import type {DlqReader} from '../../core/reader.js'
import {resolveFileSource} from './layout.js'
import {FileReader} from './reader.js'
import {ServicesReader} from './services.js'

export async function openFileReader(path: string): Promise<DlqReader> {
  const source = await resolveFileSource(path)
  if (source.kind === 'services') return ServicesReader.open(path, source.services, source.warnings)
  return new FileReader({kind: source.kind, display: path}, source.segments, source.warnings, source.kind === 'directory' ? path : null)
}
