import type {Admin} from '@platformatic/kafka'
import type {KafkaClient} from './client.js'
import {clientOptions} from './connection.js'

/**
 * Runs `work` with an Admin client of the cluster `client` is connected to (its brokers, TLS
 * and SASL), and closes it after. A failure of `work` is told as one about `topic`
 * (KafkaClient.fail; a DlqError it throws goes through as it is); a failed close is ignored,
 * since the work is done or its own error is the one to tell.
 */
export async function withAdmin<T>(client: KafkaClient, topic: string, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new client.lib.Admin(clientOptions(client.target, client.settings))
  try {
    return await work(admin)
  } catch (error) {
    throw client.fail(error, topic)
  } finally {
    await admin.close().catch(() => undefined)
  }
}
