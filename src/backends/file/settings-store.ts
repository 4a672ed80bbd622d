import {randomBytes} from 'node:crypto'
import {constants as fsc} from 'node:fs'
import {open, rename, stat, unlink} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'
import {jsonErrorPlace} from '../../core/config.js'
import {DlqError, UnavailableError} from '../../core/errors.js'
import {holderText, LockFile, lockWaitMs} from './lock-file.js'
import {NEVER_SET, type SettingChange, type SettingKey, type SettingsStore, type StoredSetting, type WriteOutcome, type WriteRequest} from '../../core/settings/types.js'

/**
 * Settings in one JSON file, history included. Readers need no lock: a writer never changes
 * the file in place but writes a temporary file beside it and renames it over (atomic on one
 * file system), so a reader sees the old or the new document, never half of one. Writers take
 * an exclusive lock file (`<file>.lock`, created with O_EXCL) around read-check-write.
 */
const FORMAT = 'dlq-settings'
/** A lock older than this is left over from a crashed writer (a write holds it for milliseconds). */
export const STALE_LOCK_MS = 30_000
/** How long a writer waits for the lock before giving up (20 writers at once queue well inside it); DLQ_LOCK_WAIT_MS overrides. */
export const LOCK_WAIT_MS = 20_000

interface FileDocument {
  format: typeof FORMAT
  settings: Record<SettingKey, StoredSetting>
  history: Array<SettingChange & {key: SettingKey}>
}

const emptyDocument = (): FileDocument => ({format: FORMAT, settings: {}, history: []})
const errno = (e: unknown) => (e as NodeJS.ErrnoException)?.code

export class FileSettingsStore implements SettingsStore {
  readonly display: string
  private readonly lock: LockFile

  constructor(private readonly path: string) {
    this.display = path
    const lockPath = path + '.lock'
    this.lock = new LockFile(lockPath, {
      staleMs: STALE_LOCK_MS,
      waitMs: lockWaitMs(LOCK_WAIT_MS),
      fail: (error) => this.fail(error, `the lock file ${lockPath}`),
      busy: (holder) => new UnavailableError(`settings file ${path} is locked ${holderText(holder, 'by another writer')}; if no dlq is running there, remove ${lockPath}`),
    })
  }

  async read(key: SettingKey): Promise<StoredSetting> {
    return (await this.load()).settings[key] ?? NEVER_SET
  }

  async history(key: SettingKey): Promise<SettingChange[]> {
    return (await this.load()).history.filter((h) => h.key === key).map(({key: _k, ...change}) => change)
  }

  async list(prefix: string): Promise<Array<{key: SettingKey; setting: StoredSetting}>> {
    const doc = await this.load()
    return Object.entries(doc.settings)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, setting]) => ({key, setting}))
  }

  async write(w: WriteRequest): Promise<WriteOutcome> {
    await this.checkDirectory()
    return this.lock.with(async () => {
      const doc = await this.load()
      const current = doc.settings[w.key] ?? NEVER_SET
      if (w.expectedVersion !== null && w.expectedVersion !== current.version) return {ok: false, current}
      const setting: StoredSetting = {version: current.version + 1, value: w.value, updatedAt: w.at, updatedBy: w.by}
      doc.settings[w.key] = setting
      doc.history.push({key: w.key, version: setting.version, fromVersion: current.version, value: w.value, at: w.at, by: w.by})
      await this.replace(doc)
      return {ok: true, setting} as WriteOutcome
    })
  }

  async close(): Promise<void> {}

  private async checkDirectory(): Promise<void> {
    const dir = dirname(resolve(this.path))
    try {
      if (!(await stat(dir)).isDirectory()) throw new UnavailableError(`settings file ${this.path}: ${dir} is not a directory`)
    } catch (error) {
      if (error instanceof DlqError) throw error
      throw this.fail(error, `directory ${dir}`)
    }
  }

  private fail(error: unknown, what: string): DlqError {
    const code = errno(error)
    if (code === 'ENOENT') return new UnavailableError(`settings file ${this.path}: ${what} does not exist (create the directory first)`)
    if (code === 'EACCES' || code === 'EPERM') return new UnavailableError(`settings file ${this.path}: no permission to use ${what}`)
    if (code === 'EROFS') return new UnavailableError(`settings file ${this.path}: ${what} is on a read-only file system`)
    return new UnavailableError(`settings file ${this.path}: ${(error as Error).message}`)
  }

  private async load(): Promise<FileDocument> {
    let text: string
    try {
      text = await readRegularFile(this.path, MAX_SETTINGS_BYTES, 'settings file')
    } catch (error) {
      if (error instanceof DlqError) throw error
      if (errno(error) === 'ENOENT') {
        await this.checkDirectory()
        return emptyDocument()
      }
      throw this.fail(error, 'the file')
    }
    // Exit 4 like a Kafka topic or Redis key that is something else: the store named is not there.
    // dlq never leaves half a file (rename after fsync), so text that is not its JSON is another file.
    let doc: FileDocument
    try {
      doc = JSON.parse(text)
    } catch {
      throw new UnavailableError(`settings file ${this.path} is not valid JSON (${jsonErrorPlace(text)}); it was not written by dlq, or was edited by hand. Check --store / DLQ_STORE`)
    }
    if (doc?.format !== FORMAT || typeof doc.settings !== 'object' || doc.settings === null || !Array.isArray(doc.history)) {
      throw new UnavailableError(`settings file ${this.path} is not a dlq settings file (no "format": "${FORMAT}"); dlq neither reads settings from it nor writes over it. Check --store / DLQ_STORE`)
    }
    return doc
  }

  private async replace(doc: FileDocument): Promise<void> {
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644)
      try {
        await fh.writeFile(JSON.stringify(doc, null, 2) + '\n', 'utf8')
        // Without the sync a crash right after the rename can leave an empty file behind it.
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, this.path)
    } catch (error) {
      await unlink(tmp).catch(() => {})
      throw this.fail(error, 'the directory')
    }
  }
}

/** A settings file is a few KiB per change: far more than this is not one (e.g. /dev/zero). */
const MAX_SETTINGS_BYTES = 64 * 1024 * 1024

/**
 * Reads a file that must be a regular one. Opened non-blocking, so a FIFO does not hang the
 * open, and checked before reading, so a device is never read until memory runs out.
 */
async function readRegularFile(path: string, maxBytes: number, what: string): Promise<string> {
  const fh = await open(path, fsc.O_RDONLY | fsc.O_NONBLOCK)
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new UnavailableError(`${what} ${path} is not a regular file (${st.isFIFO() ? 'a named pipe' : st.isDirectory() ? 'a directory' : 'a device or socket'})`)
    if (st.size > maxBytes) throw new UnavailableError(`${what} ${path} is ${st.size} bytes, more than the ${maxBytes} a dlq ${what} can be`)
    return await fh.readFile('utf8')
  } finally {
    await fh.close()
  }
}

export async function openFileSettingsStore(path: string): Promise<SettingsStore> {
  return new FileSettingsStore(path)
}
