import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlq, dlqJson, FIXTURES} from '../helpers/cli.js'
import {needService} from '../helpers/services.js'

const kafka = await needService('kafka')

describe('--partition', () => {
  it('is refused for stores without partitions', () => {
    const r = dlq(['inspect', `${FIXTURES}/hyperi.ndjson`, '--partition', '1'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Kafka sources .* only/)
  })
})

describe.runIf(kafka.available)('--partition on a Kafka DLQ', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('../kafka-fixtures.js')
  const fx = new KafkaFixture()
  let topic: string
  beforeAll(async () => {
    topic = await fx.topic('partition-flag', 3)
    await fx.produceBulk(topic, Array.from({length: 9}, (_, i) => ({partition: i % 3, value: `v${i}`})))
  })
  afterAll(() => fx.close())

  it('reads only the partitions named', () => {
    const one = dlqJson(['inspect', `${KAFKA_URI}/${topic}`, '--partition', '1']).json.items
    expect(one.map((m: any) => m.position)).toEqual(['1:0', '1:1', '1:2'])
    expect(dlqJson(['stats', `${KAFKA_URI}/${topic}`, '--partition', '0', '--partition', '2']).json.total).toBe(6)
    expect(dlq(['inspect', `${KAFKA_URI}/${topic}?partition=0`, '--partition', '1']).code).toBe(2)
  })

  it('stats counts per partition of the DLQ topic (issue 14 item 9)', () => {
    const all = dlqJson(['stats', `${KAFKA_URI}/${topic}`])
    expect(all.code, all.stderr).toBe(0)
    expect(all.json.byPartition).toEqual([
      {partition: 0, count: 3},
      {partition: 1, count: 3},
      {partition: 2, count: 3},
    ])
    const some = dlqJson(['stats', `${KAFKA_URI}/${topic}`, '--partition', '2']).json
    expect(some.byPartition).toEqual([{partition: 2, count: 3}])
    expect(dlq(['stats', `${KAFKA_URI}/${topic}`]).stdout).toMatch(/PARTITION\s+COUNT\s+SHARE\n\s*0\s+3\s+33\.3%/)
  })
})
