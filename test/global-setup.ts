import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** CLI tests run the built CLI, so build once before any test file (skip with DLQ_SKIP_BUILD=1). */
export default function setup(): void {
  if (process.env.DLQ_SKIP_BUILD === '1') return
  const root = join(fileURLToPath(import.meta.url), '..', '..')
  execFileSync('npm', ['run', '--silent', 'build'], {cwd: root, stdio: ['ignore', 'ignore', 'inherit']})
}
