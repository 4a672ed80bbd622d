import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {expectSchema} from '../helpers/schema.js'
import {needService, uniqueName} from '../helpers/services.js'
import {shellLine, Tmux} from '../helpers/tmux.js'
import {closeRedisSpace, openRedisSpace} from '../helpers/redis-space.js'

const kafka = await needService('kafka')
const redis = await needService('redis')

/** Puts a claim that was never completed into the DLQ's ledger: a message in doubt. */
async function claimInDoubt(source: string, position: string): Promise<void> {
  const {openReader} = await import('../../src/core/source.js')
  const {openLedger} = await import('../../src/core/replay/open.js')
  const {ledgerKey} = await import('../../src/core/replay/identity.js')
  const reader = await openReader(source)
  const ledger = await openLedger(reader, source)
  try {
    const r = (await reader.get([position])).get(position)!
    const held = await ledger.claim([{position: ledgerKey(r, reader.info.kind), target: {topic: 'somewhere', partition: null}, mark: null}], 'test-host/1/crashed-run', false)
    expect(held.size).toBe(1)
  } finally {
    await ledger.close()
    await reader.close()
  }
}

const replay = (src: string, positions: string[], extra: string[]) => {
  const r = dlqJson(['replay', src, ...positions.flatMap((p) => ['--offset', p]), '--yes', ...extra])
  expect(r.code, JSON.stringify(r.json)).toBe(0)
  expect(r.json.replayed).toBe(positions.length)
}

describe('purge refuses what is not its to delete', () => {
  it('refuses a file DLQ, exit 2, and leaves it alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-purge-'))
    const file = join(dir, 'dlq.ndjson')
    writeFileSync(file, '{"timestamp":1,"service":"s","reason":"r","attempts":0,"payload":"eA=="}\n')
    const r = dlq(['purge', file, '--replayed', '--yes'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/file DLQ; its files belong to the service that writes them/)
    const j = dlqJson(['purge', join(FIXTURES, 'rotated'), '--replayed', '--yes'])
    expect(j.code).toBe(2)
    expect(j.json.error.code).toBe('usage')
  })

  it('requires --replayed', () => {
    expect(dlq(['purge', 'redis://127.0.0.1:16379/x']).code).toBe(2)
  })
})

describe.runIf(kafka.available)('purge --replayed on Kafka: DeleteRecords up to the first message not replayed', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  afterAll(() => fx.close())
  let src: string
  let target: string

  beforeAll(async () => {
    const topic = await fx.topic('purge-dlq', 2)
    target = await fx.topic('purge-target', 1)
    src = `${KAFKA_URI}/${topic}`
    await fx.produceBulk(topic, [
      ...Array.from({length: 6}, (_, i) => ({partition: 0, key: `a${i}`, value: `{"n":${i}}`, headers: [['stroma.dlq.source_topic', target]] as Array<[string, string]>})),
      ...Array.from({length: 4}, (_, i) => ({partition: 1, key: `b${i}`, value: `{"n":${10 + i}}`, headers: [['stroma.dlq.source_topic', target]] as Array<[string, string]>})),
    ])
  })

  it('never removes a message not replayed or in doubt, nor anything after it; a second purge is a no-op', async () => {
    // Partition 0: 0,1,2 and 4 replayed, 3 not. Partition 1: 0,1,3 replayed, 2 in doubt.
    replay(src, ['0:0', '0:1', '0:2', '0:4', '1:0', '1:1', '1:3'], [])
    await claimInDoubt(src, '1:2')

    // A consumer group of the DLQ topic that has read only 0:0: the plan says it has not read two of the records cut.
    const group = uniqueName('dlq-reader')
    await fx.admin.alterConsumerGroupOffsets({groupId: group, topics: [{name: src.split('/').pop()!, partitionOffsets: [{partition: 0, offset: 1n}]}]})

    // No terminal and no --yes: the plan, and nothing deleted.
    const dry = dlqJson(['purge', src, '--replayed'])
    expect(dry.code).toBe(0)
    expect(dry.json.dryRun).toBe(true)
    expectSchema('purge', dry.json)
    expect(dry.json.partitions).toEqual([
      {partition: 0, delete: 3, before: 3, stays: 3, stoppedAt: {position: '0:3', why: 'not_replayed'}, groups: [{name: group, committed: 1, unread: 2}]},
      {partition: 1, delete: 2, before: 2, stays: 2, stoppedAt: {position: '1:2', why: 'in_doubt'}},
    ])
    expect(dlqJson(['inspect', src, '--limit', '100']).json.items).toHaveLength(10)

    const table = dlq(['purge', src, '--replayed', '--dry-run'])
    expect(table.stdout).toMatch(/partition 0: delete 3 records below offset 3; 3 records stay from 0:3 on \(not replayed\)/)
    expect(table.stdout).toMatch(/partition 1: delete 2 records below offset 2; 2 records stay from 1:2 on \(in doubt/)
    expect(table.stdout).toMatch(/Dry run: nothing was deleted/)
    expect(table.stdout).toContain(`group ${group} committed 0:1: it has not read 2 of them`)

    const done = dlqJson(['purge', src, '--replayed', '--yes'])
    expect(done.code).toBe(0)
    expectSchema('purge', done.json)
    expect(done.json.result).toEqual({deleted: 5, logStart: [{partition: 0, offset: 3}, {partition: 1, offset: 2}]})
    const left = dlqJson(['inspect', src, '--limit', '100']).json.items.map((m: any) => m.position)
    expect(left).toEqual(['0:3', '0:4', '0:5', '1:2', '1:3'])

    const again = dlqJson(['purge', src, '--replayed', '--yes'])
    expect(again.json.delete).toBe(0)
    expect(again.json.result).toEqual({deleted: 0})
    expect(dlqJson(['inspect', src, '--limit', '100']).json.items).toHaveLength(5)

    // Once 0:3 is replayed, the cut moves up to the next message not replayed (0:5).
    replay(src, ['0:3'], [])
    const next = dlqJson(['purge', src, '--replayed', '--yes'])
    expect(next.json.partitions[0]).toEqual({partition: 0, delete: 2, before: 5, stays: 1, stoppedAt: {position: '0:5', why: 'not_replayed'}, groups: [{name: group, committed: 1, unread: 2}]})
    expect(dlqJson(['inspect', src, '--limit', '100']).json.items.map((m: any) => m.position)).toEqual(['0:5', '1:2', '1:3'])

    // Asked for again, a purged message that was replayed is already replayed (exit 0: the
    // ledger knows it by topic id and offset), not missing; one never in the DLQ is not found.
    const rerun = dlqJson(['replay', src, '--offset', '0:1', '--offset', '1:0', '--yes'])
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0:1', 'skipped', 'already_replayed'],
      ['1:0', 'skipped', 'already_replayed'],
    ])
    expect(rerun.json.items[0].error).toMatch(/no longer in the DLQ \(purged\)/)
    const never = dlqJson(['replay', src, '--offset', '0:99', '--yes'])
    expect(never.code).toBe(4)
    expect(never.json.items[0].reason).toBe('not_found')
  })

  it('a copy of a message dead-lettered twice is replayed with its first copy: purge goes past it, and a replay after the purge sends nothing again', async () => {
    const dlqTopic = await fx.topic('purge-copies', 1)
    const t = await fx.topic('purge-copies-target', 1)
    const csrc = `${KAFKA_URI}/${dlqTopic}`
    // Karafka's headers record the source topic, partition and offset: the copy at 0:2 is the source message 0:5 again.
    const at = (offset: number, value: string) => ({key: `k${offset}`, value, headers: [['original_topic', t], ['original_partition', '0'], ['original_offset', String(offset)]] as Array<[string, string]>})
    await fx.produce(dlqTopic, [at(5, '{"n":5}'), at(6, '{"n":6}'), at(5, '{"n":5}'), at(7, '{"n":7}')])
    const first = dlqJson(['replay', csrc, '--all', '--yes'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.json.items.map((i: any) => [i.position, i.outcome, i.reason])).toEqual([
      ['0:0', 'replayed', null],
      ['0:1', 'replayed', null],
      ['0:2', 'skipped', 'already_replayed'],
      ['0:3', 'replayed', null],
    ])
    expect(first.json.items[2].error).toMatch(/^the same source message as position 0:0/)

    // Every message of the DLQ is replayed (the copy with its first): the whole partition goes.
    const plan = dlqJson(['purge', csrc, '--replayed'])
    expect(plan.json.partitions).toEqual([{partition: 0, delete: 4, before: 4, stays: 0, stoppedAt: null}])
    const done = dlqJson(['purge', csrc, '--replayed', '--yes'])
    expect(done.json.result).toEqual({deleted: 4, logStart: [{partition: 0, offset: 4}]})

    // A copy that stayed while its first was purged would be sent again by the next run.
    const rerun = dlqJson(['replay', csrc, '--all', '--yes'])
    expect([rerun.code, rerun.json.requested]).toEqual([0, 0])
    expect(dlqJson(['inspect', `${KAFKA_URI}/${t}`, '--limit', '10']).json.items.map((m: any) => m.payload.text)).toEqual(['{"n":5}', '{"n":6}', '{"n":7}'])

    // Another message at the same source coordinates (a source topic recreated) is not a copy: it stays.
    const other = await fx.topic('purge-copies-other', 1)
    const osrc = `${KAFKA_URI}/${other}`
    await fx.produce(other, [at(5, '{"n":5}'), at(5, '{"n":5}'), at(5, '{"n":"recreated"}')])
    replay(osrc, ['0:0'], [])
    expect(dlqJson(['purge', osrc, '--replayed']).json.partitions).toEqual([{partition: 0, delete: 2, before: 2, stays: 1, stoppedAt: {position: '0:2', why: 'not_replayed'}}])
  })

  it('a compacted topic refuses DeleteRecords: said plainly, exit 1, nothing deleted', async () => {
    const compacted = await fx.topic('purge-compact', 1, {'cleanup.policy': 'compact'})
    const t = await fx.topic('purge-compact-target', 1)
    await fx.produce(compacted, [{key: 'k', value: '{"n":1}', headers: [['stroma.dlq.source_topic', t]]}])
    const csrc = `${KAFKA_URI}/${compacted}`
    replay(csrc, ['0:0'], [])
    const r = dlqJson(['purge', csrc, '--replayed', '--yes'])
    expect(r.code).toBe(1)
    expect(r.json.error.message).toMatch(/does not allow deleting records \(a compacted topic/)
    expect(dlqJson(['inspect', csrc]).json.items).toHaveLength(1)
  })

  it('DeleteRecords refused on one partition while another is cut: says which was cut, not "nothing was deleted"', async () => {
    const {KafkaTopicPurger} = await import('../../src/backends/kafka/purge.js')
    const topic = await fx.topic('purge-partial', 2)
    await fx.produce(topic, [{partition: 0, value: 'a'}, {partition: 0, value: 'b'}, {partition: 1, value: 'c'}])
    const purger = await KafkaTopicPurger.open(`${KAFKA_URI}/${topic}`)
    try {
      // A cut past partition 1's end stands for any refusal of one partition (its leader moved).
      await expect(purger.deleteBefore(new Map([[0, 2], [1, 99]]))).rejects.toThrow(
        /^Kafka refused DeleteRecords on "[^"]+" for partition 1 \(OFFSET_OUT_OF_RANGE\); nothing was deleted there; partition 0 was cut \(its log starts at 2 now\)/,
      )
      await expect(purger.deleteBefore(new Map([[1, 99]]))).rejects.toThrow(/^Kafka refused DeleteRecords on "[^"]+" \(OFFSET_OUT_OF_RANGE\); nothing was deleted$/)
    } finally {
      await purger.close()
    }
    expect(dlqJson(['inspect', `${KAFKA_URI}/${topic}`]).json.items.map((m: any) => m.position)).toEqual(['1:0'])
  })

  it('never purges dlq’s own ledger topic', () => {
    const r = dlqJson(['purge', `${src}.dlq-replay-ledger`, '--replayed', '--yes'])
    expect(r.code).toBe(2)
    expect(r.json.error.message).toMatch(/replay ledger/)
  })
})

describe.runIf(redis.available)('purge --replayed on Redis: XACK in every group, then XDEL, of replayed entries only', () => {
  let client: import('ioredis').Redis
  let prefix: string
  let sink: string
  let src: string
  let ids: string[]
  beforeAll(async () => {
    ;({client, prefix, sink} = await openRedisSpace(redis.address, 'purge'))
    src = `${redis.address}/0/${encodeURIComponent(`${prefix}dlq`)}`
    await client.xgroup('CREATE', `${prefix}orders`, 'consumers', '$', 'MKSTREAM')
    ids = []
    for (let i = 1; i <= 6; i++) {
      const payload = Buffer.from(`{"n":${i}}`).toString('base64')
      ids.push((await client.xadd(`${prefix}dlq`, '*', 'data', JSON.stringify({timestamp: 1795341600000 + i, service: 's', reason: 'timeout', attempts: 0, payload, source: {topic: 'orders'}})))!)
    }
    // A group reading the DLQ itself has the first three pending.
    await client.xgroup('CREATE', `${prefix}dlq`, 'watchers', '0')
    await client.xreadgroup('GROUP', 'watchers', 'w1', 'COUNT', 3, 'STREAMS', `${prefix}dlq`, '>')
  })
  afterAll(() => closeRedisSpace(client, prefix))

  it('deletes exactly the replayed entries, leaves no dangling pending entry, and a second purge is a no-op', async () => {
    replay(src, [ids[0], ids[1], ids[3], ids[5]], ['--sink', sink])
    await claimInDoubt(src, ids[4])

    const plan = dlqJson(['purge', src, '--replayed'])
    expect(plan.json.dryRun).toBe(true)
    expectSchema('purge', plan.json)
    expect(plan.json.stream).toMatchObject({delete: 4, stays: 2, staysBy: {not_replayed: 1, in_doubt: 1}, firstKept: {position: ids[2], why: 'not_replayed'}})
    expect(plan.json.stream.groups).toEqual([{name: 'watchers', pending: 2, unread: 2}])
    expect(await client.xlen(`${prefix}dlq`)).toBe(6)

    const done = dlqJson(['purge', src, '--replayed', '--yes'])
    expect(done.code).toBe(0)
    expectSchema('purge', done.json)
    expect(done.json.result).toEqual({deleted: 4})
    const left = (await client.xrange(`${prefix}dlq`, '-', '+')).map(([id]) => id)
    expect(left).toEqual([ids[2], ids[4]])
    // The two replayed entries that were pending in the group were acknowledged: only ids[2] is still pending.
    const pending = (await client.xpending(`${prefix}dlq`, 'watchers', '-', '+', 10)) as Array<[string]>
    expect(pending.map(([id]) => id)).toEqual([ids[2]])
    // The replayed messages themselves are in the target, once.
    expect(await client.xlen(`${prefix}orders`)).toBe(4)

    const again = dlqJson(['purge', src, '--replayed', '--yes'])
    expect(again.json.result).toEqual({deleted: 0})
    expect(await client.xlen(`${prefix}dlq`)).toBe(2)
  })

  it('deletes a copy of a message dead-lettered twice with its replayed first copy', async () => {
    const stream = `${prefix}copies`
    const csrc = `${redis.address}/0/${encodeURIComponent(stream)}`
    await client.xgroup('CREATE', `${prefix}copies-target`, 'consumers', '$', 'MKSTREAM')
    const add = async (n: number, offset: number) => {
      const payload = Buffer.from(`{"n":${n}}`).toString('base64')
      return (await client.xadd(stream, '*', 'data', JSON.stringify({timestamp: 1795341600000, service: 's', reason: 'timeout', attempts: 0, payload, source: {topic: 'copies-target', partition: 0, offset}})))!
    }
    for (const [n, offset] of [[1, 10], [2, 11], [1, 10]]) await add(n, offset)
    const r = dlqJson(['replay', csrc, '--all', '--sink', sink, '--yes'])
    expect(r.json.items.map((i: any) => i.reason)).toEqual([null, null, 'already_replayed'])
    const plan = dlqJson(['purge', csrc, '--replayed'])
    expect(plan.json.stream).toMatchObject({delete: 3, stays: 0, firstKept: null})
    expect(dlqJson(['purge', csrc, '--replayed', '--yes']).json.result).toEqual({deleted: 3})
    expect(await client.xlen(stream)).toBe(0)
    expect(await client.xlen(`${prefix}copies-target`)).toBe(2)
  })

  it('never purges the configured settings store', async () => {
    await client.xadd(`${prefix}settings:global`, '*', 'data', '{}')
    const r = dlqJson(['purge', `${redis.address}/0/${encodeURIComponent(`${prefix}settings:global`)}`, '--replayed', '--yes'], {env: {DLQ_STORE: `${redis.address}/0/${prefix}settings`}})
    expect(r.code).toBe(2)
    expect(r.json.error.message).toMatch(/settings store/)
    expect(await client.xlen(`${prefix}settings:global`)).toBe(1)
  })

  it('with --ledger, reads the file the replay wrote: one that does not exist, or is not a ledger, is a usage error', async () => {
    const stream = `${prefix}byfile`
    const fsrc = `${redis.address}/0/${encodeURIComponent(stream)}`
    const payload = Buffer.from('{"n":1}').toString('base64')
    const id = (await client.xadd(stream, '*', 'data', JSON.stringify({timestamp: 1795341600000, service: 's', reason: 'timeout', attempts: 0, payload, source: {topic: 'orders'}})))!
    const dir = mkdtempSync(join(tmpdir(), 'dlq-purge-ledger-'))
    const ledger = join(dir, 'ledger.ndjson')
    replay(fsrc, [id], ['--sink', sink, '--ledger', ledger])

    // A typo'd path would read as "nothing replayed": said, not taken for an empty ledger.
    const typo = dlqJson(['purge', fsrc, '--replayed', '--yes', '--ledger', join(dir, 'ledgr.ndjson')])
    expect(typo.code).toBe(2)
    expect(typo.json.error.message).toMatch(/--ledger .*ledgr\.ndjson does not exist/)
    const notes = join(dir, 'notes.txt')
    writeFileSync(notes, 'not a ledger\n')
    const other = dlqJson(['purge', fsrc, '--replayed', '--yes', '--ledger', notes])
    expect(other.code).toBe(2)
    expect(other.json.error.message).toMatch(/notes\.txt already exists and is not a replay ledger/)
    expect(await client.xlen(stream)).toBe(1)

    const done = dlqJson(['purge', fsrc, '--replayed', '--yes', '--ledger', ledger])
    expect(done.code).toBe(0)
    expect(done.json.result).toEqual({deleted: 1})
    expect(await client.xlen(stream)).toBe(0)
  })

  it('on a terminal, asks first: n deletes nothing (exit 130), y deletes', async () => {
    const stream = `${prefix}tty`
    const tsrc = `${redis.address}/0/${encodeURIComponent(stream)}`
    await client.xgroup('CREATE', `${prefix}tty-target`, 'consumers', '$', 'MKSTREAM')
    const payload = Buffer.from('{"n":1}').toString('base64')
    const id = (await client.xadd(stream, '*', 'data', JSON.stringify({timestamp: 1795341600000, service: 's', reason: 'timeout', attempts: 0, payload, source: {topic: 'tty-target'}})))!
    replay(tsrc, [id], ['--sink', sink])

    const tmux = new Tmux('dlq-purge-tty')
    try {
      const cmd = `${shellLine([process.execPath, BIN, 'purge', tsrc, '--replayed'])}; echo "EXITED $?"; sleep 60`
      const no = tmux.start('no', [200, 30], cmd)
      await no.waitText('Delete 1 replayed message? [y/N]')
      no.keys('n', 'Enter')
      expect(await no.waitText('EXITED 130')).toContain('cancelled: nothing was deleted')
      expect(await client.xlen(stream)).toBe(1)
      // A second session beside the first (killing the last session of a tmux server races its exit).
      const yes = tmux.start('yes', [200, 30], cmd)
      await yes.waitText('Delete 1 replayed message? [y/N]')
      yes.keys('y', 'Enter')
      expect(await yes.waitText('EXITED 0')).toContain('Deleted 1.')
      expect(await client.xlen(stream)).toBe(0)
    } finally {
      tmux.close()
    }
  })
})
