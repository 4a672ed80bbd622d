import {UsageError} from '../core/errors.js'
import {storeFilePath} from '../core/settings/store-uri.js'
import type {SettingsStore} from '../core/settings/types.js'

/**
 * Opens a settings store from its URI. Each kind sits behind a dynamic import so a command
 * loads only the client library of the store it uses.
 *
 *   redis[s]://[user[:password]@]host[:port][/db][/prefix]
 *   kafka://host:port[,host:port…][/topic]
 *   PATH, file:PATH or file:///PATH   (a JSON file)
 */
export async function openSettingsStore(uri: string): Promise<SettingsStore> {
  const t = uri.trim()
  const scheme = t.match(/^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//)?.[1]?.toLowerCase()
  if (scheme === 'redis' || scheme === 'rediss') {
    const {openRedisSettingsStore} = await import('./redis/settings-store.js')
    return openRedisSettingsStore(t)
  }
  if (scheme === 'kafka') {
    const {openKafkaSettingsStore} = await import('./kafka/settings-store.js')
    return openKafkaSettingsStore(t)
  }
  const path = storeFilePath(t)!
  if (path === '') throw new UsageError('settings store: the file path is empty')
  const {openFileSettingsStore} = await import('./file/settings-store.js')
  return openFileSettingsStore(path)
}

/** Opens the store, runs `fn`, and closes the store whatever happens. */
export async function withSettingsStore<T>(uri: string, fn: (store: SettingsStore) => Promise<T>): Promise<T> {
  const store = await openSettingsStore(uri)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}
