#!/usr/bin/env bash
# Can the real Watermill subscriber read what `dlq replay` writes to a Redis stream today?
# Loads the captured poison stream as watermill-redis-orders-poison-chk, replays it with the CURRENT
# ./bin/run.js into a fresh stream watermill-redis-replaychk (group created first, as dlq needs a
# reader; --force because the ledger outlives the reloaded stream), appends one well-formed Watermill message after the replayed entries, then reads the
# stream with watermill-redisstream's subscriber (consumer group) and prints what it delivered,
# what it logged and how many entries stay pending. Control: the poison stream itself, read the same way.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$here/../../.."
redis="${DLQ_CAPTURE_REDIS:-redis://127.0.0.1:16379}"
py="$(bash "$here/../lib/venv.sh")"
(cd "$here" && go build -mod=readonly -o .work/watermill-capture .)
bin="$here/.work/watermill-capture"
"$py" "$here/../arroyo/load.py" redis "$redis" "$repo/fixtures/captured/watermill/redis.ndjson" -chk >/dev/null
"$py" -c 'import redis,sys; r=redis.Redis.from_url(sys.argv[1]); r.delete("watermill-redis-replaychk")' "$redis"
export DLQ_CAPTURE_REDIS="$redis"
"$bin" mkgroup watermill-redis-replaychk watermill-capture
(cd "$repo" && ./bin/run.js replay "$redis/watermill-redis-orders-poison-chk" --all --yes --force --to watermill-redis-replaychk --json) \
  | "$py" -c 'import json,sys; d=json.load(sys.stdin); print("dlq replay:", json.dumps(d.get("summary", d)))'
echo "--- the real subscriber on the stream dlq replayed into (+1 well-formed entry appended after):"
"$bin" probe watermill-redis-replaychk watermill-capture --append-valid
echo "--- control: the same subscriber on the poison stream Watermill wrote:"
"$bin" probe watermill-redis-orders-poison-chk "probe-$(date +%s)" | "$py" -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"received": len(d["received"]), "loggedErrors": d["loggedErrors"], "pending": d["pending"]}))'
"$py" -c 'import redis,sys; r=redis.Redis.from_url(sys.argv[1]); r.delete("watermill-redis-replaychk", "watermill-redis-orders-poison-chk", "watermill-redis-orders-poison-chk:dlq-replay-ledger")' "$redis"
