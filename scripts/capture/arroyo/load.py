#!/usr/bin/env python3
"""Loads a capture back into a store byte for byte, to check what dlq shows against truth.ndjson.

  load.py kafka BROKERS kafka.ndjson SUFFIX   each topic T is recreated as T+SUFFIX with as many partitions
                                               as the dump shows; records go to their own partition with
                                               their own timestamp, key, value and headers (order, repeats
                                               and nulls kept). Offsets match when the dump starts at 0.
  load.py redis URL redis.ndjson SUFFIX        each stream S is recreated as S+SUFFIX with XADD of the exact
                                               ids and fields (order kept)

Prints the new names. Used by hand for FINDINGS.md (also by the watermill capture); the tests use
test/helpers/captured.ts.
"""
import base64
import json
import sys
import time


def unb64(v):
    return None if v is None else base64.b64decode(v)


def load_kafka(brokers, path, suffix):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    parts = {}
    for r in rows:
        parts[r["topic"]] = max(parts.get(r["topic"], 0), r["partition"] + 1)
    admin = AdminClient({"bootstrap.servers": brokers})
    names = {t: t + suffix for t in parts}
    existing = admin.list_topics(timeout=10).topics
    doomed = [n for n in names.values() if n in existing]
    if doomed:
        for f in admin.delete_topics(doomed, operation_timeout=30).values():
            f.result()
        while any(n in admin.list_topics(timeout=10).topics for n in doomed):
            time.sleep(0.2)
    for _ in range(50):
        try:
            for f in admin.create_topics([NewTopic(names[t], p, 1) for t, p in parts.items()], operation_timeout=30).values():
                f.result()
            break
        except Exception as e:
            if "already exists" not in str(e).lower():
                raise
            time.sleep(0.3)
    p = Producer({"bootstrap.servers": brokers, "enable.idempotence": True})
    for r in rows:
        hs = [(h["key"], unb64(h["value"])) for h in r["headers"]]
        p.produce(names[r["topic"]], partition=r["partition"], key=unb64(r["key"]), value=unb64(r["value"]),
                  headers=hs, timestamp=r["timestamp"])
        p.flush(10)
    for n in names.values():
        print(n)


def load_redis(url, path, suffix):
    import redis

    r = redis.Redis.from_url(url, decode_responses=False)
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    names = {s: s + suffix for s in {row["stream"] for row in rows}}
    for n in names.values():
        r.delete(n)
    for row in rows:
        flat = []
        for f in row["fields"]:
            flat += [unb64(f["name"]), unb64(f["value"])]
        r.execute_command("XADD", names[row["stream"]], row["id"], *flat)
    for n in names.values():
        print(n)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("kafka", "redis"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    (load_kafka if sys.argv[1] == "kafka" else load_redis)(sys.argv[2], sys.argv[3], sys.argv[4])
