import {spawnSync} from 'node:child_process'
import {afterAll, describe, expect, it} from 'vitest'
import {BIN, ROOT} from '../helpers/cli.js'
import {STORE_KINDS, dropStore, freshStore} from './helpers.js'

/**
 * What a CI pipeline does: set the target, read the version with jq, and change it only if
 * nobody else did meanwhile — retrying once on a conflict with the version the error reports.
 */
const SCRIPT = String.raw`
set -euo pipefail
dlq() { node "$DLQ_BIN" "$@"; }

dlq global-target set orders-dlq --group dlq-workers > /dev/null
v=$(dlq global-target get --json | jq -r .version)
topic=$(dlq global-target get --json | jq -r .target.topic)
echo "read version=$v topic=$topic"

# Someone else changes it between our read and our write.
dlq global-target set sneaky-dlq > /dev/null

if out=$(dlq global-target set orders-dlq-v2 --expected-version "$v" --json); then
  echo "unexpected success"; exit 1
else
  code=$?
  [ "$code" -eq 3 ] || { echo "expected exit 3, got $code"; exit 1; }
  current=$(echo "$out" | jq -r .error.details.version)
  echo "conflict: now at $current ($(echo "$out" | jq -r .error.details.target.topic))"
fi

dlq global-target set orders-dlq-v2 --expected-version "$current" --json | jq -r '"final version=\(.version) topic=\(.target.topic)"'
`

const stores = new Map(await Promise.all(STORE_KINDS.map(async (kind) => [kind, await freshStore(kind)] as const)))
afterAll(() => Promise.all(STORE_KINDS.map((kind) => dropStore(kind, stores.get(kind)!))))

describe.each(STORE_KINDS)('a CI shell script against a %s store', (kind) => {
  const store = stores.get(kind)!
  ;(store.available ? it : it.skip)('set, get --json | jq, conditional update with one retry on conflict', () => {
    // The store comes from DLQ_STORE, as in a pipeline: no --store flag anywhere in the script.
    const r = spawnSync('bash', ['-c', SCRIPT], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {...process.env, DLQ_BIN: BIN, DLQ_STORE: store.uri, DLQ_CONFIG: '/nonexistent/dlq-config.json', DLQ_ACTOR: 'pipeline@ci'},
    })
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n')).toEqual(['read version=1 topic=orders-dlq', 'conflict: now at 2 (sneaky-dlq)', 'final version=3 topic=orders-dlq-v2'])
  })
})
