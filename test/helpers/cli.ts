import {spawnSync, type SpawnSyncReturns} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {dirname, join} from 'node:path'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'run.js')
export const FIXTURES = join(ROOT, 'fixtures')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the built CLI (npm run build first; scripts/test.sh does). */
export function dlq(args: string[], opts: {env?: Record<string, string>; input?: string; cwd?: string; timeout?: number} = {}): CliResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? ROOT,
    input: opts.input,
    env: {...process.env, COLUMNS: '200', ...opts.env},
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeout,
  })
  return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
}

export function dlqJson<T = any>(args: string[], opts?: Parameters<typeof dlq>[1]): {code: number; json: T; stderr: string} {
  const r = dlq([...args, '--json'], opts)
  let json: T
  try {
    json = JSON.parse(r.stdout)
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  }
  return {code: r.code, json, stderr: r.stderr}
}
