import {spawn, spawnSync, type SpawnSyncReturns} from 'node:child_process'
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

/**
 * The built CLI as a child process that does not block this one: a server or proxy in this
 * process must answer meanwhile, or two runs race. `env` is added to this process's.
 */
export function dlqAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.once('error', reject)
    child.once('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
  })
}

/** dlqAsync with --json: its document (null when it printed nothing). */
export async function dlqJsonAsync<T = any>(args: string[], env: Record<string, string> = {}): Promise<{code: number; json: T | null; stderr: string}> {
  const r = await dlqAsync([...args, '--json'], env)
  return {code: r.code, json: r.stdout ? JSON.parse(r.stdout) : null, stderr: r.stderr}
}
