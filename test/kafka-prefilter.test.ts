import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dlqJson} from './helpers/cli.js'
import {needService, uniqueName} from './helpers/services.js'

const kafka = await needService('kafka')

/**
 * The Kafka reader skips header-less records whose bytes cannot hold a filter's `=` value
 * without decoding them. Whatever it skips, the answer must be what decoding every record
 * and filtering gives: checked here against the unfiltered read, filter by filter.
 */
describe.runIf(kafka.available)('Kafka raw-byte prefilter', async () => {
  const {KafkaFixture, KAFKA_URI} = await import('./kafka-fixtures.js')
  const fx = new KafkaFixture()
  // A name with a source-topic hint ("orders"), so a needle can hide in the topic name too.
  const topic = `${uniqueName('pf')}-orders-dlt`.replace(/-orders-dlt$/, '') + '.orders-dlt'
  const hyperi = (reason: string, sourceTopic: string, raw = false) => {
    const json = JSON.stringify({timestamp: 1_764_000_000_000, service: 'svc', reason, attempts: 1, payload: Buffer.from('{"n":1}').toString('base64'), source: {topic: sourceTopic, partition: 0, offset: 1}})
    return raw ? json.replace('"timeout"', '"time\\u006fut"') : json
  }
  beforeAll(async () => {
    await fx.admin.createTopics({topics: [topic], partitions: 1, replicas: 1})
    for (let i = 0; i < 100; i++) {
      const md = await fx.admin.metadata({topics: [topic], forceUpdate: true}).catch(() => null)
      if (md?.topics.get(topic)?.partitions.every((p) => p.leader >= 0)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    await fx.produceBulk(topic, [
      {value: hyperi('timeout', 'orders')},
      {value: hyperi('parse_error', 'orders')},
      {value: hyperi('timeout', 'payments')},
      // The reason hides behind a JSON escape: only decoding finds it.
      {value: hyperi('timeout', 'orders', true)},
      // Metadata in headers (Fibril): always decoded, whatever the value holds.
      {value: 'not json', headers: [['stroma.dlq.reason', 'timeout'], ['stroma.dlq.source_topic', 'orders']]},
      {value: 'not json', key: 'k1'},
      {value: '{"k1": true}'},
      {value: null, key: 'timeout'},
      {value: 'plain text mentioning timeout and orders'},
    ])
  })
  afterAll(async () => {
    await fx.admin.deleteTopics({topics: [topic]}).catch(() => {})
    await fx.close()
  })

  const uri = () => `${KAFKA_URI}/${topic}`
  const field = (item: any, f: string) => (f === 'reason' ? item.reason : f === 'key' ? item.key : f === 'source.topic' ? item.source.topic : undefined)

  it('selects exactly what decoding every record selects', () => {
    const all = dlqJson(['inspect', uri(), '--limit', '100']).json.items
    expect(all).toHaveLength(9)
    for (const filters of [['reason=timeout'], ['key=k1'], ['source.topic=orders'], ['reason=timeout', 'source.topic=orders'], ['key=timeout'], ['reason=parse_error']]) {
      const expected = all.filter((item: any) => filters.every((f) => field(item, f.split('=')[0]) === f.split('=')[1])).map((i: any) => i.position)
      const args = filters.flatMap((f) => ['--filter', f])
      const page = dlqJson(['inspect', uri(), '--limit', '100', ...args]).json.items.map((i: any) => i.position)
      expect(page, filters.join(' ')).toEqual(expected)
      expect(dlqJson(['stats', uri(), ...args]).json.total, filters.join(' ')).toBe(expected.length)
    }
    // The escaped reason and the header-borne reason are both found.
    expect(dlqJson(['stats', uri(), '--filter', 'reason=timeout']).json.total).toBeGreaterThanOrEqual(4)
  })
})
