import type {DlqReader} from '../../core/reader.js'
import {EmptySpoolReader} from './empty.js'
import {resolveFileSource, type ResolvedSource} from './layout.js'
import {FileReader} from './reader.js'
import {ServicesReader} from './services.js'

export async function openFileReader(path: string): Promise<DlqReader> {
  const source = await resolveFileSource(path)
  if (source.kind === 'empty') {
    // Looked at again on each read: the DLQ that appears is opened as what it is (null while none).
    const open = async () => {
      const now = await resolveFileSource(path)
      return now.kind === 'empty' ? null : openResolved(path, now)
    }
    return new EmptySpoolReader({kind: source.as, display: path}, source.warnings, open)
  }
  return openResolved(path, source)
}

function openResolved(path: string, source: Exclude<ResolvedSource, {kind: 'empty'}>): Promise<DlqReader> | DlqReader {
  if (source.kind === 'services') return ServicesReader.open(path, source.services, source.warnings)
  return new FileReader({kind: source.kind, display: path}, source.segments, source.warnings, source.kind === 'directory' ? path : null)
}
