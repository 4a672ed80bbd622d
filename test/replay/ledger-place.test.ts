import {cpSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {defaultFileLedgerPath} from '../../src/backends/file/ledger.js'
import {FIXTURES} from '../helpers/cli.js'

const EVENT = '{"op":"release","ids":{"p":"","i":[]},"runId":"x","at":"2026-01-01T00:00:00.000Z"}\n'

describe('where a file DLQ keeps its replay ledger', () => {
  it('a service directory and its live and rotated files share one; a file that is no part of the layout keeps its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-ledger-place-'))
    cpSync(join(FIXTURES, 'rotated', 'ingest'), dir, {recursive: true})
    writeFileSync(join(dir, 'other.ndjson'), '')
    const shared = join(dir, 'dlq-replay-ledger.ndjson')
    expect(await defaultFileLedgerPath(dir, 'directory')).toBe(shared)
    expect(await defaultFileLedgerPath(join(dir, 'dlq.ndjson'), 'file')).toBe(shared)
    expect(await defaultFileLedgerPath(join(dir, 'dlq.ndjson.20261122T100000'), 'file')).toBe(shared)
    expect(await defaultFileLedgerPath(join(dir, 'other.ndjson'), 'file')).toBe(join(dir, 'other.ndjson.replay-ledger.ndjson'))
    // Another file's ledger in the same directory is not this DLQ's business.
    writeFileSync(join(dir, 'other.ndjson.replay-ledger.ndjson'), EVENT)
    expect(await defaultFileLedgerPath(dir, 'directory')).toBe(shared)
    // One an earlier dlq kept beside the live file is: refused, with the merge.
    writeFileSync(join(dir, 'dlq.ndjson.replay-ledger.ndjson'), EVENT)
    await expect(defaultFileLedgerPath(dir, 'directory')).rejects.toThrow(/ledgers for parts of it: .*dlq\.ndjson\.replay-ledger\.ndjson\. Append them to it .*cat '.*dlq\.ndjson\.replay-ledger\.ndjson' >> '.*dlq-replay-ledger\.ndjson' && rm/)
  })

  it("a services root's ledger serves its services once it exists; a directory is not taken for a root because it holds DLQ directories", async () => {
    const root = mkdtempSync(join(tmpdir(), 'dlq-ledger-root-'))
    for (const s of ['alpha', 'zulu']) {
      mkdirSync(join(root, s))
      writeFileSync(join(root, s, 'dlq.ndjson'), '')
    }
    const own = join(root, 'alpha', 'dlq-replay-ledger.ndjson')
    // No root ledger yet: like /tmp holding test directories, the parent is not the DLQ.
    expect(await defaultFileLedgerPath(join(root, 'alpha'), 'directory')).toBe(own)
    writeFileSync(join(root, 'dlq-replay-ledger.ndjson'), EVENT)
    expect(await defaultFileLedgerPath(join(root, 'alpha'), 'directory')).toBe(join(root, 'alpha', '..', 'dlq-replay-ledger.ndjson'))
    expect(await defaultFileLedgerPath(join(root, 'zulu', 'dlq.ndjson'), 'file')).toBe(join(root, 'zulu', '..', 'dlq-replay-ledger.ndjson'))
    expect(await defaultFileLedgerPath(root, 'services')).toBe(join(root, 'dlq-replay-ledger.ndjson'))
    // A service's own ledger, kept before the root had one, is refused from every name until merged.
    writeFileSync(own, EVENT)
    for (const [p, kind] of [[root, 'services'], [join(root, 'alpha'), 'directory'], [join(root, 'zulu', 'dlq.ndjson'), 'file']] as const) {
      await expect(defaultFileLedgerPath(p, kind)).rejects.toThrow(/alpha\/dlq-replay-ledger\.ndjson\. Append them/)
    }
  })

  it('is found from the real path: a symlink to a file, to a DLQ file, or to a service directory finds what its target finds', async () => {
    // Real, so the paths expected are what the links resolve to (a temp dir may itself be a link).
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'dlq-ledger-link-')))
    writeFileSync(join(dir, 'sym.ndjson'), '')
    symlinkSync('sym.ndjson', join(dir, 'sym-link.ndjson'))
    expect(await defaultFileLedgerPath(join(dir, 'sym-link.ndjson'), 'file')).toBe(join(dir, 'sym.ndjson.replay-ledger.ndjson'))

    const root = join(dir, 'spool')
    mkdirSync(join(root, 'alpha'), {recursive: true})
    writeFileSync(join(root, 'alpha', 'dlq.ndjson'), '')
    writeFileSync(join(root, 'dlq-replay-ledger.ndjson'), EVENT)
    // A link to the live file, under another name: the service's ledger is the root's.
    symlinkSync(join(root, 'alpha', 'dlq.ndjson'), join(dir, 'alpha-live.ndjson'))
    expect(await defaultFileLedgerPath(join(dir, 'alpha-live.ndjson'), 'file')).toBe(join(root, 'dlq-replay-ledger.ndjson'))
    // A link to the service directory from outside the root: its '..' is the link's parent, not the root.
    symlinkSync(join(root, 'alpha'), join(dir, 'alpha-dir'))
    expect(await defaultFileLedgerPath(join(dir, 'alpha-dir'), 'directory')).toBe(join(root, 'dlq-replay-ledger.ndjson'))
  })

  it('a ledger an earlier dlq kept beside a link is refused with the merge, not passed over (its messages would all be sent again)', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'dlq-ledger-oldlink-')))
    mkdirSync(join(dir, 'real'))
    mkdirSync(join(dir, 'lnk'))
    writeFileSync(join(dir, 'real', 'orders-dlq.ndjson'), '')
    symlinkSync(join(dir, 'real', 'orders-dlq.ndjson'), join(dir, 'lnk', 'orders.ndjson'))
    const old = join(dir, 'lnk', 'orders.ndjson.replay-ledger.ndjson')
    const real = join(dir, 'real', 'orders-dlq.ndjson.replay-ledger.ndjson')
    writeFileSync(old, EVENT)
    await expect(defaultFileLedgerPath(join(dir, 'lnk', 'orders.ndjson'), 'file')).rejects.toThrow(`cat '${old}' >> '${real}' && rm '${old}'`)
    // Named by its real path, the DLQ is not refused; an empty leftover is no ledger to keep.
    expect(await defaultFileLedgerPath(join(dir, 'real', 'orders-dlq.ndjson'), 'file')).toBe(real)
    writeFileSync(old, '')
    expect(await defaultFileLedgerPath(join(dir, 'lnk', 'orders.ndjson'), 'file')).toBe(real)
  })
})
