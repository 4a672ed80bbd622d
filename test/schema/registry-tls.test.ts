import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseExact} from '../helpers/captured.js'
import {dlqAsync} from '../helpers/cli.js'
import {register, registryFront, type RegistryFront} from '../helpers/schema-registry.js'
import {needService, SCHEMA_REGISTRY_URL, uniqueName} from '../helpers/services.js'
import {throwAwayCertificates} from '../helpers/tls.js'

/**
 * The registry over TLS, as the stores do TLS: the profile's schemaRegistry.tls.ca (and
 * insecure) decide whether the certificate is trusted. A throw-away CA (openssl) signs the
 * certificate of an HTTPS front in this process that passes requests to the real registry.
 */
const registry = await needService('registry')
const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl']).status === 0
if (!hasOpenssl && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error('CI=true and openssl is not installed (bash scripts/services.sh tools installs it)')

/** dlq in a child process that does not block this one (the HTTPS front must answer meanwhile), with no registry of the environment's. */
const run = (args: string[], env: Record<string, string>) => dlqAsync(args, {DLQ_SCHEMA_REGISTRY: '', ...env})

describe.runIf(registry.available && hasOpenssl)('schema registry over TLS', () => {
  let dir: string
  let front: RegistryFront | undefined
  let url: string
  let file: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dlq-sr-tls-'))
    throwAwayCertificates(dir)
    front = await registryFront(SCHEMA_REGISTRY_URL, {tls: {key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt'))}})
    url = front.url
    // One JSON Schema payload in a file DLQ (dlq's own export layout): the wire format is the store's bytes.
    const schema = JSON.stringify({type: 'object', properties: {n: {type: 'integer'}}, required: ['n']})
    const {id} = await register(SCHEMA_REGISTRY_URL, uniqueName('dlq-tls-test'), 'JSON', schema)
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), Buffer.from('{"n":42}')])
    bytes.writeUInt32BE(id, 1)
    const message = {position: '0', timestamp: null, key: null, headers: {}, payload: {size: bytes.length, base64: bytes.toString('base64'), truncated: false}, source: {topic: null, partition: null, offset: null, group: null}, reason: null, error: null, retries: null, deadLetteredAt: null, originalTimestamp: null, convention: 'unknown', metadata: {}}
    file = join(dir, 'dlq.ndjson')
    writeFileSync(file, JSON.stringify(message) + '\n')
  }, 60_000)
  afterAll(async () => {
    await front?.close()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  const profile = (tls: Record<string, unknown>) => {
    const config = join(dir, `config-${Math.random().toString(36).slice(2)}.json`)
    writeFileSync(config, JSON.stringify({profiles: {default: {schemaRegistry: {url, tls}}}}))
    return {DLQ_CONFIG: config, DLQ_CACHE_DIR: mkdtempSync(join(dir, 'cache-'))}
  }

  it('decodes through https when the profile trusts the CA', async () => {
    const r = await run(['inspect', file, '--json'], profile({ca: join(dir, 'ca.crt')}))
    expect(r.code, r.stderr).toBe(0)
    expect(parseExact(r.stdout).items[0].decoded.payload).toMatchObject({format: 'json', value: {n: 42}})
  })

  it('does not trust an unknown CA: the payload is shown raw, and --decode required exits 4', async () => {
    const r = await run(['inspect', file, '--json'], profile({}))
    expect(r.code, r.stderr).toBe(0)
    expect(parseExact(r.stdout).items[0].decoded.payload.decodeError).toMatch(/registry unreachable.*(CERT|certificate|SELF_SIGNED|UNABLE)/i)
    const req = await run(['inspect', file, '--decode', 'required'], profile({}))
    expect(req.code).toBe(4)
  })

  it('insecure skips the check (testing only)', async () => {
    const r = await run(['inspect', file, '--json'], profile({insecure: true}))
    expect(r.code, r.stderr).toBe(0)
    expect(parseExact(r.stdout).items[0].decoded.payload.value).toEqual({n: 42})
  })
})
