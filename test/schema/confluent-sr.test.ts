import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Admin} from '@platformatic/kafka'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dropKafka, loadKafka, parseExact, type Capture} from '../helpers/captured.js'
import {dlq, dlqAsync} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {capturedFor, capturedSchemas, register, registerCaptured, registryFront} from '../helpers/schema-registry.js'
import {KAFKA_BROKERS, needService, SCHEMA_REGISTRY_URL, uniqueName} from '../helpers/services.js'

/**
 * Issue 16: payloads written by the real Confluent serializers (fixtures/captured/confluent-sr),
 * loaded into a real Kafka topic, decoded by dlq with schemas from a real registry (Apicurio's
 * Confluent API). The expected values are what the producer serialized (truth.ndjson), not
 * what dlq printed once.
 */
const kafka = await needService('kafka')
const registry = await needService('registry')
const up = kafka.available && registry.available

const topic = uniqueName('confluent-sr-dlq')
const SRC = `kafka://${KAFKA_BROKERS}/${topic}`
let cap: Capture
let ids: Map<number, number>
let cache: string

/** Every record of the topic, decoded; each run gets its own schema cache unless told otherwise. */
function inspect(extra: string[] = [], env: Record<string, string> = {}): {code: number; items: any[]; stderr: string; doc: any} {
  const r = dlq(['inspect', SRC, '--json', '--limit', '100', '--schema-registry', SCHEMA_REGISTRY_URL, ...extra], {env: {DLQ_CACHE_DIR: cache, ...env}})
  const doc = r.stdout.trim() === '' ? null : parseExact(r.stdout)
  return {code: r.code, items: doc?.items ?? [], stderr: r.stderr, doc}
}

const byCase = (items: any[]) => new Map(items.map((i) => [i.headers.case as string, i]))
const truthFor = (c: string) => cap.truth.find((t) => t.extra?.case === c)!.extra as {format: string | null; decoded: unknown; decodedKey: unknown; note: string | null}
/** Exact integers (bigint) as the capture's truth writes them: as decimal text. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)))
const bytesOf = (v: any): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.base64, 'base64'))
const raw = (item: any): Buffer => (item.payload.base64 !== undefined ? Buffer.from(item.payload.base64, 'base64') : Buffer.from(item.payload.text, 'utf8'))

describe.runIf(up)('Confluent wire format through a real schema registry (issue 16)', () => {
  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), 'dlq-sr-cache-'))
    ids = await registerCaptured(SCHEMA_REGISTRY_URL)
    cap = capturedFor(topic, ids)
    await loadKafka(cap)
  }, 120_000)
  afterAll(async () => {
    if (cap) await dropKafka(cap)
    rmSync(cache, {recursive: true, force: true})
  })

  it('decodes Avro, Protobuf and JSON Schema payloads (and an Avro key) to what the producer serialized, beside the raw bytes', () => {
    const r = inspect()
    expect(r.code, r.stderr).toBe(0)
    expectSchema('inspect', r.doc)
    const items = byCase(r.items)
    expect(items.size).toBe(cap.kafka.length)
    const decodedCases = cap.truth.filter((t) => t.extra?.format && t.extra.note === null).map((t) => t.extra!.case as string)
    expect(decodedCases).toEqual(['avro-payment', 'avro-payment-nulls-avro-key', 'protobuf-order', 'protobuf-nested-line', 'protobuf-refund', 'json-shipment'])
    for (const c of decodedCases) {
      const item = items.get(c)
      const want = truthFor(c)
      expect(item.decoded?.payload?.decodeError, c).toBeUndefined()
      expect(item.decoded.payload.format, c).toBe(want.format)
      expect(plain(item.decoded.payload.value), c).toEqual(want.decoded)
      // never instead of the bytes: the payload is the stored bytes, wire prefix and all
      const stored = Buffer.from(cap.kafka.find((k) => k.headers.some((h) => Buffer.from(h.value ?? '', 'base64').toString() === c))!.value!, 'base64')
      expect(raw(item), c).toEqual(stored)
      expect(item.decoded.payload.schemaId, c).toBe(stored.readUInt32BE(1))
    }
    // the id of the Avro value is the one this registry gave the captured schema
    const payment = capturedSchemas().schemas.find((s) => s.subject === 'dlq.capture.Payment')!
    expect(items.get('avro-payment').decoded.payload.schemaId).toBe(ids.get(payment.id))
    // a long beyond 2^53 stays exact
    expect(items.get('avro-payment-nulls-avro-key').decoded.payload.value.attrs.big).toBe(9007199254740993n)
    // the Avro key is decoded too; the key field keeps the raw bytes
    const keyed = items.get('avro-payment-nulls-avro-key')
    expect(keyed.decoded.key.format).toBe('avro')
    expect(keyed.decoded.key.value).toEqual(truthFor('avro-payment-nulls-avro-key').decodedKey)
    expect(bytesOf(keyed.key)[0]).toBe(0)
    expect(bytesOf(keyed.key).readUInt32BE(1)).toBe(keyed.decoded.key.schemaId)
    // Protobuf message indexes pick the message: Order [0], Order.Line [0,0], Refund [1]
    expect(items.get('protobuf-order').decoded.payload.messageIndexes).toEqual([0])
    expect(items.get('protobuf-nested-line').decoded.payload.messageIndexes).toEqual([0, 0])
    expect(items.get('protobuf-refund').decoded.payload.messageIndexes).toEqual([1])
    // what is not in the wire format has no `decoded` at all
    for (const c of ['coincidence-short', 'plain-json', 'avro-tombstone']) expect(items.get(c).decoded, c).toBeUndefined()
  })

  it('shows each bad case raw with a note, and the read does not fail', () => {
    const r = inspect()
    expect(r.code, r.stderr).toBe(0)
    const items = byCase(r.items)
    const unknown = items.get('bad-unknown-schema-id')
    expect(unknown.decoded.payload).toMatchObject({schemaId: capturedSchemas().unknownSchemaId, format: null})
    expect(unknown.decoded.payload.decodeError).toMatch(/has no schema 2147483392/)
    expect(unknown.decoded.payload.value).toBeUndefined()
    // a 0x00 first byte by coincidence (UTF-16BE text): its "schema id" is unknown, the text is shown
    const utf16 = items.get('coincidence-utf16be')
    expect(utf16.decoded.payload.decodeError).toMatch(/has no schema/)
    expect(raw(utf16).toString('utf16le').length).toBeGreaterThan(0)
    expect(raw(utf16)).toEqual(Buffer.from('hello, world', 'utf16le').swap16())
    for (const [c, format, why] of [
      ['bad-avro-truncated', 'avro', /does not match schema \d+ \(avro\)/],
      ['bad-json-not-json', 'json', /not JSON/],
      ['bad-json-breaks-schema', 'json', /weight must be >= 0/],
      ['bad-protobuf-garbage', 'protobuf', /does not match schema \d+ \(protobuf\)/],
    ] as const) {
      const item = items.get(c)
      expect(item.decoded.payload.format, c).toBe(format)
      expect(item.decoded.payload.decodeError, c).toMatch(why)
      expect(raw(item)[0], c).toBe(0)
    }
    // JSON that parses but breaks its schema keeps its parsed value beside the note
    expect(items.get('bad-json-breaks-schema').decoded.payload.value).toEqual({id: 's-2', weight: -5})
    expect(r.stderr).toMatch(/payload not decoded, shown raw: the registry has no schema 2147483392/)
    // the table says it too, before the raw bytes
    const table = dlq(['inspect', SRC, '--schema-registry', SCHEMA_REGISTRY_URL, '--output', 'wide'], {env: {DLQ_CACHE_DIR: cache}})
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/\[no schema 2147483392\] hex:007fffff00/)
    expect(table.stdout).toMatch(/\[does not match schema \d+\] \\0\\0\\0\\0.*not json\{/)
    expect(table.stdout).toMatch(/protobuf \d+ \[0,0\]\s+\{"sku":"sku-9","qty":7\}/)
  })

  it('filters with payload.JSON.PATH and --grep on decoded values', () => {
    const cases = (extra: string[]) => {
      const r = inspect(extra)
      expect(r.code, r.stderr).toBe(0)
      return r.items.map((i) => i.headers.case).sort()
    }
    expect(cases(['--filter', 'payload.currency=EUR'])).toEqual(['avro-payment-nulls-avro-key'])
    expect(cases(['--filter', 'payload.total.currency=EUR'])).toEqual(['protobuf-order'])
    expect(cases(['--filter', 'payload.to.city=Zürich'])).toEqual(['json-shipment'])
    expect(cases(['--filter', 'payload.attrs.big=9007199254740993'])).toEqual(['avro-payment-nulls-avro-key'])
    expect(cases(['--filter', 'payload.weight<0'])).toEqual(['bad-json-breaks-schema'])
    expect(cases(['--grep', '"sku":"sku-9"'])).toEqual(['protobuf-nested-line'])
    // the filter runs in the store's read loop: a page limited to 1 still finds the match after misses
    for (const fresh of [mkdtempSync(join(tmpdir(), 'dlq-sr-cache-')), cache]) {
      const one = dlq(['inspect', SRC, '--json', '--limit', '1', '--filter', 'payload.reason=damaged', '--schema-registry', SCHEMA_REGISTRY_URL], {env: {DLQ_CACHE_DIR: fresh}})
      expect(one.code, one.stderr).toBe(0)
      expect(parseExact(one.stdout).items.map((i: any) => i.headers.case)).toEqual(['protobuf-refund'])
    }
    // without decoding, the same filter finds nothing (the bytes are not JSON)
    expect(inspect(['--filter', 'payload.currency=EUR', '--decode', 'off']).items).toEqual([])
  })

  it('tail and check see decoded values too: tail shows them, a payload filter gates on them', () => {
    const env = {env: {DLQ_CACHE_DIR: cache}}
    const t = dlq(['tail', SRC, '-n', '100', '--json', '--filter', 'payload.currency=EUR', '--schema-registry', SCHEMA_REGISTRY_URL], env)
    expect(t.code, t.stderr).toBe(0)
    const items = parseExact(t.stdout).items
    expect(items.map((i: any) => i.headers.case)).toEqual(['avro-payment-nulls-avro-key'])
    expect(plain(items[0].decoded.payload.value)).toEqual(plain(truthFor('avro-payment-nulls-avro-key').decoded))
    const over = dlq(['check', SRC, '--max', '0', '--filter', 'payload.total.currency=EUR', '--schema-registry', SCHEMA_REGISTRY_URL], env)
    expect(over.code, over.stderr).toBe(5)
    expect(over.stdout).toMatch(/^OVER: 1 message/)
    const off = dlq(['check', SRC, '--max', '0', '--filter', 'payload.total.currency=EUR', '--decode', 'off'], env)
    expect(off.code, off.stderr).toBe(0)
  })

  it('stats decodes only the fields its filters read, and counts what inspect shows', () => {
    // stats decodes just the named top-level field of an Avro record; inspect decodes all of it.
    for (const filter of [['payload.currency=EUR'], ['payload.attrs.big=9007199254740993'], ['payload.currency=EUR', 'payload.attrs.big>1'], ['payload.weight<0']]) {
      const args = filter.flatMap((f) => ['--filter', f])
      const shown = inspect(args).items.length
      const r = dlq(['stats', SRC, '--json', ...args, '--schema-registry', SCHEMA_REGISTRY_URL], {env: {DLQ_CACHE_DIR: cache}})
      expect(r.code, r.stderr).toBe(0)
      expect(parseExact(r.stdout).total, filter.join(' ')).toBe(shown)
      expect(shown, filter.join(' ')).toBe(1)
    }
  })

  it('fetches each schema id once per command and then from the disk cache', async () => {
    const {url, count, close} = await registryFront(SCHEMA_REGISTRY_URL)
    try {
      const fresh = mkdtempSync(join(tmpdir(), 'dlq-sr-cache-'))
      // not spawnSync: the proxy runs in this process and must answer while dlq runs
      const first = await dlqAsync(['inspect', SRC, '--json', '--limit', '100', '--schema-registry', url], {DLQ_CACHE_DIR: fresh})
      expect(first.code, first.stderr).toBe(0)
      const byId = count()
      // Payment, PaymentKey, Order (+ its reference common/money.proto), Shipment, the unknown id, the UTF-16 "id"
      const idPaths = [...byId.keys()].filter((p) => p.includes('/schemas/ids/'))
      expect(idPaths).toHaveLength(6)
      for (const [path, n] of byId) expect(n, path).toBe(1)
      const refs = [...byId.keys()].filter((p) => p.includes('/subjects/'))
      expect(refs).toEqual([`${new URL(SCHEMA_REGISTRY_URL).pathname}/subjects/${encodeURIComponent('common/money.proto')}/versions/${refVersion()}`])
      const again = await dlqAsync(['inspect', SRC, '--json', '--limit', '100', '--schema-registry', url], {DLQ_CACHE_DIR: fresh})
      expect(again.code).toBe(0)
      // From the disk cache: the PaymentKey schema, which every key it met fits, is not asked again.
      // The registry is asked again for the ids it does not have, and for the schemas that met a
      // payload they do not fit (the cache might hold a reset registry's schema under that id).
      const second = new Map([...count()].map(([p, n]) => [p.replace(/^.*\/(schemas\/ids|subjects)\//, '$1/'), n - (byId.get(p) ?? 0)]))
      const id = (case_: string) => capturedFor(topic, ids).kafka.find((k) => k.headers.some((h) => Buffer.from(h.value ?? '', 'base64').toString() === case_))!
      const keyId = Buffer.from(id('avro-payment-nulls-avro-key').key!, 'base64').readUInt32BE(1)
      expect(second.get(`schemas/ids/${keyId}`)).toBe(0)
      expect(second.get(`schemas/ids/${capturedSchemas().unknownSchemaId}`)).toBe(1)
      for (const n of second.values()) expect(n).toBeLessThanOrEqual(1)
      expect(parseExact(again.stdout).items).toEqual(parseExact(first.stdout).items)
      rmSync(fresh, {recursive: true, force: true})
    } finally {
      await close()
    }
  })

  it('asks the registry again when a cached schema does not fit (a dev registry reset reuses ids)', () => {
    const fresh = mkdtempSync(join(tmpdir(), 'dlq-sr-cache-'))
    const first = inspect([], {DLQ_CACHE_DIR: fresh})
    const paymentId = byCase(first.items).get('avro-payment').decoded.payload.schemaId
    const dir = join(fresh, 'schemas', readdirSync(join(fresh, 'schemas'))[0])
    const wrong = {id: paymentId, format: 'avro', schema: JSON.stringify({type: 'record', name: 'Other', fields: [{name: 'x', type: 'int'}]}), references: []}
    writeFileSync(join(dir, `${paymentId}.json`), JSON.stringify(wrong))
    const second = inspect([], {DLQ_CACHE_DIR: fresh})
    expect(plain(byCase(second.items).get('avro-payment').decoded.payload.value)).toEqual(truthFor('avro-payment').decoded)
    rmSync(fresh, {recursive: true, force: true})
  })

  it('reads on when the registry is unreachable; --decode required exits 4', () => {
    const down = 'http://127.0.0.1:1/apis/ccompat/v7'
    const r = dlq(['inspect', SRC, '--json', '--limit', '100', '--schema-registry', down], {env: {DLQ_CACHE_DIR: mkdtempSync(join(tmpdir(), 'dlq-sr-'))}})
    expect(r.code, r.stderr).toBe(0)
    const items = parseExact(r.stdout).items
    const avro = byCase(items).get('avro-payment')
    expect(avro.decoded.payload.decodeError).toMatch(/registry unreachable/)
    expect(avro.decoded.payload.value).toBeUndefined()
    expect(raw(avro)[0]).toBe(0)
    // one warning line for all the payloads (and one for the key), not one per record
    const lines = r.stderr.split('\n').filter((l) => /registry unreachable/.test(l))
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^warning: records 0:0, 0:1, 0:2, 0:3, 0:4 and \d+ more: payload not decoded, shown raw: registry unreachable/)
    const req = dlq(['inspect', SRC, '--schema-registry', down, '--decode', 'required'])
    expect(req.code).toBe(4)
    expect(req.stderr).toMatch(/schema registry http:\/\/127\.0\.0\.1:1\/apis\/ccompat\/v7 is unreachable/)
    const none = dlq(['inspect', SRC, '--decode', 'required'], {env: {DLQ_SCHEMA_REGISTRY: ''}})
    expect(none.code).toBe(2)
  })

  it('takes the registry from the profile and sends its credentials as basic auth', async () => {
    const {url, count, auth, close} = await registryFront(SCHEMA_REGISTRY_URL)
    const dir = mkdtempSync(join(tmpdir(), 'dlq-sr-profile-'))
    try {
      const config = join(dir, 'config.json')
      writeFileSync(config, JSON.stringify({profiles: {default: {schemaRegistry: {url, username: 'bob', password: 'pr0file-pw'}}}}))
      const r = await dlqAsync(['inspect', SRC, '--json', '--limit', '100'], {DLQ_CONFIG: config, DLQ_CACHE_DIR: join(dir, 'cache'), DLQ_SCHEMA_REGISTRY: ''})
      expect(r.code, r.stderr).toBe(0)
      expect(byCase(parseExact(r.stdout).items).get('json-shipment').decoded.payload.value.id).toBe('s-1')
      expect(count().size).toBeGreaterThan(0)
      expect(auth()).toEqual([`Basic ${Buffer.from('bob:pr0file-pw').toString('base64')}`])
      expect(r.stdout + r.stderr).not.toContain('pr0file-pw')
      // --decode off: the profile's registry is not asked
      const before = [...count().values()].reduce((a, b) => a + b, 0)
      const off = await dlqAsync(['inspect', SRC, '--json', '--decode', 'off'], {DLQ_CONFIG: config, DLQ_CACHE_DIR: join(dir, 'cache2')})
      expect(parseExact(off.stdout).items.every((i: any) => i.decoded === undefined)).toBe(true)
      expect([...count().values()].reduce((a, b) => a + b, 0)).toBe(before)
    } finally {
      await close()
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('export writes the decoded values too, and its file reads back (and decodes) as a source', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-sr-export-'))
    try {
      const file = join(dir, 'out.ndjson')
      const r = dlq(['export', SRC, '--file', file, '--schema-registry', SCHEMA_REGISTRY_URL], {env: {DLQ_CACHE_DIR: cache}})
      expect(r.code, r.stderr).toBe(0)
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => parseExact(l))
      expect(lines).toHaveLength(cap.kafka.length)
      for (const l of lines) expectSchema('message', l)
      expect(plain(byCase(lines).get('protobuf-order').decoded.payload.value)).toEqual(truthFor('protobuf-order').decoded)
      const back = dlq(['inspect', file, '--json', '--limit', '100', '--schema-registry', SCHEMA_REGISTRY_URL], {env: {DLQ_CACHE_DIR: cache}})
      expect(back.code, back.stderr).toBe(0)
      const again = byCase(parseExact(back.stdout).items)
      expect(plain(again.get('avro-payment').decoded.payload.value)).toEqual(truthFor('avro-payment').decoded)
      expect(raw(again.get('avro-payment'))).toEqual(raw(byCase(lines).get('avro-payment')))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('never prints the registry credentials', () => {
    const withUser = SCHEMA_REGISTRY_URL.replace('http://', 'http://alice:s3cret-pw@')
    const r = dlq(['inspect', 'kafka://127.0.0.1:1/none', '--schema-registry', 'http://alice:s3cret-pw@127.0.0.1:1/x', '--decode', 'required'])
    expect(r.code).toBe(4)
    expect(r.stdout + r.stderr).not.toContain('s3cret-pw')
    expect(r.stderr).toContain('set DLQ_SCHEMA_REGISTRY_USERNAME / DLQ_SCHEMA_REGISTRY_PASSWORD')
    const ok = dlq(['inspect', SRC, '--json', '--schema-registry', withUser], {env: {DLQ_CACHE_DIR: cache}})
    expect(ok.code).toBe(0)
    expect(ok.stdout + ok.stderr).not.toContain('s3cret-pw')
  })

  it('replay sends the original bytes, wire prefix and schema id included', async () => {
    const target = uniqueName('confluent-sr-target')
    const admin = new Admin({clientId: 'dlq-test', bootstrapBrokers: KAFKA_BROKERS.split(',')})
    try {
      await admin.createTopics({topics: [target], partitions: 1, replicas: 1})
      const items = byCase(inspect().items)
      const want = items.get('avro-payment-nulls-avro-key')
      const r = dlq(['replay', SRC, '--offset', want.position, '--to', target, '--yes', '--json', '--schema-registry', SCHEMA_REGISTRY_URL, '--ledger', join(cache, 'ledger.ndjson')], {env: {DLQ_CACHE_DIR: cache}})
      expect(r.code, r.stderr + r.stdout).toBe(0)
      const got = spawnSync('kcat', ['-C', '-b', KAFKA_BROKERS, '-t', target, '-p', '0', '-o', 'beginning', '-c', '1', '-e', '-q', '-f', '%s'], {encoding: 'buffer', timeout: 30_000})
      expect(got.status, got.stderr?.toString()).toBe(0)
      expect(got.stdout).toEqual(raw(want))
      const key = spawnSync('kcat', ['-C', '-b', KAFKA_BROKERS, '-t', target, '-p', '0', '-o', 'beginning', '-c', '1', '-e', '-q', '-f', '%k'], {encoding: 'buffer', timeout: 30_000})
      expect(key.stdout).toEqual(bytesOf(want.key))
    } finally {
      await admin.deleteTopics({topics: [target]}).catch(() => {})
      await admin.close().catch(() => {})
    }
  })

  it('reads a Protobuf schema registered as .proto text with a reference, as the Java serializer registers it', async () => {
    const money = `syntax = "proto3";\npackage dlq.capture.common;\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n  int32 nanos = 3;\n}\n`
    const order = readFileSync(join(ROOT_PROTO, 'order.proto'), 'utf8')
    const subject = uniqueName('dlq-test-money')
    const ref = await register(SCHEMA_REGISTRY_URL, subject, 'PROTOBUF', money)
    const text = await register(SCHEMA_REGISTRY_URL, uniqueName('dlq-test-order'), 'PROTOBUF', order, [{name: 'common/money.proto', subject, version: ref.version}])
    // the captured Order body (message indexes and all) under the text schema's id
    const row = cap.kafka.find((k) => k.headers.some((h) => Buffer.from(h.value ?? '', 'base64').toString() === 'protobuf-order'))!
    const body = Buffer.from(row.value!, 'base64')
    body.writeUInt32BE(text.id, 1)
    const dir = mkdtempSync(join(tmpdir(), 'dlq-sr-file-'))
    const file = join(dir, 'one.ndjson')
    const message = {position: '0', timestamp: null, key: null, headers: {}, payload: {size: body.length, base64: body.toString('base64'), truncated: false}, source: {topic: null, partition: null, offset: null, group: null}, reason: null, error: null, retries: null, deadLetteredAt: null, originalTimestamp: null, convention: 'unknown', metadata: {}}
    mkdirSync(dir, {recursive: true})
    writeFileSync(file, JSON.stringify(message) + '\n')
    const r = dlq(['inspect', file, '--json', '--schema-registry', SCHEMA_REGISTRY_URL], {env: {DLQ_CACHE_DIR: cache}})
    expect(r.code, r.stderr).toBe(0)
    const item = parseExact(r.stdout).items[0]
    expect(item.decoded.payload.decodeError).toBeUndefined()
    expect(plain(item.decoded.payload.value)).toEqual(truthFor('protobuf-order').decoded)
    rmSync(dir, {recursive: true, force: true})
  })
})

/** The version common/money.proto got in this registry (1 unless registered differently before). */
const refVersion = () => capturedSchemas().schemas.find((s) => s.subject === 'common/money.proto')!.version

const ROOT_PROTO = join(import.meta.dirname, '..', '..', 'scripts', 'capture', 'confluent-sr', 'proto')

