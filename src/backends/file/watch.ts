import {watch, type FSWatcher} from 'node:fs'

/**
 * Wakes a follow's wait as soon as a watched directory changes (inotify on Linux: an append,
 * a rename, a new file), so a follow prints within milliseconds instead of at its next poll.
 * The poll stays: some filesystems (NFS, some containers' mounts) report nothing, and an event
 * only says "look again", never what changed.
 */
export class DirWatch {
  private readonly watchers: FSWatcher[] = []
  private changed = false
  private wake: (() => void) | null = null

  add(dir: string): void {
    try {
      const w = watch(dir, {persistent: false}, () => {
        this.changed = true
        this.wake?.()
      })
      // A watched directory that goes away (or a watch limit reached) leaves the poll to do the work.
      w.on('error', () => w.close())
      this.watchers.push(w)
    } catch {
      // No watch here: the poll alone it is.
    }
  }

  /** Waits up to `ms`, less when a watched directory changed meanwhile (or since the last wait) or `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (this.changed || signal.aborted) {
        this.changed = false
        return resolve()
      }
      const done = () => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        this.wake = null
        this.changed = false
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done, {once: true})
      this.wake = done
    })
  }

  close(): void {
    for (const w of this.watchers) w.close()
  }
}
