#!/usr/bin/env python3
"""Dumps DLQ topics / streams exactly as the store holds them, for fixtures/captured/WRITER/.

  dump.py kafka BROKERS OUT.ndjson TOPIC [TOPIC...]   every record of every partition, in offset order
  dump.py redis URL OUT.ndjson STREAM [STREAM...]     every entry, in id order

Bytes are standard base64 (null stays null); the format is described in scripts/capture/README.md.
Uses confluent-kafka (librdkafka) and redis-py, never dlq's own code, so a dlq bug cannot shape the truth.
The Kafka read assigns partitions directly (no consumer group, nothing committed) with
isolation.level=read_committed, as dlq reads.
"""
import base64
import json
import sys


def b64(v):
    return None if v is None else base64.b64encode(v).decode("ascii")


def dump_kafka(brokers, out, topics):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({
        "bootstrap.servers": brokers,
        "group.id": "dlq-capture-dump-unused",  # required by librdkafka; never joined (assign, no commit)
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
    })
    rows = []
    md = c.list_topics(timeout=10)
    for topic in topics:
        if topic not in md.topics or md.topics[topic].error is not None:
            raise SystemExit(f"dump: topic {topic} not found")
        for p in sorted(md.topics[topic].partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if hi <= lo:
                continue
            c.assign([TopicPartition(topic, p, lo)])
            done = False
            while not done:
                m = c.poll(10)
                if m is None:
                    raise SystemExit(f"dump: timed out reading {topic}/{p}")
                if m.error():
                    if m.error().code() == -191:  # _PARTITION_EOF
                        break
                    raise SystemExit(f"dump: {m.error()}")
                ts_type, ts = m.timestamp()
                rows.append({
                    "topic": topic,
                    "partition": m.partition(),
                    "offset": m.offset(),
                    "timestamp": ts,
                    "timestampType": {1: "CreateTime", 2: "LogAppendTime"}.get(ts_type, "NotAvailable"),
                    "key": b64(m.key()),
                    "value": b64(m.value()),
                    "headers": [{"key": k, "value": b64(v)} for k, v in (m.headers() or [])],
                })
                if m.offset() + 1 >= hi:
                    done = True
            c.unassign()
    c.close()
    write(out, rows)
    print(f"dump: {len(rows)} records from {', '.join(topics)} -> {out}", file=sys.stderr)


def dump_redis(url, out, streams):
    import redis

    r = redis.Redis.from_url(url, decode_responses=False)
    # The raw XRANGE reply, not redis-py's parsed one: it folds fields into a dict, losing order and repeats.
    r.set_response_callback("XRANGE", lambda resp, **_: resp)
    rows = []
    for s in streams:
        if not r.exists(s):
            raise SystemExit(f"dump: stream {s} not found")
        raw = r.execute_command("XRANGE", s, "-", "+")
        for eid, flat in raw:
            pairs = [{"name": b64(flat[i]), "value": b64(flat[i + 1])} for i in range(0, len(flat), 2)]
            rows.append({"stream": s, "id": eid.decode("ascii"), "fields": pairs})
    write(out, rows)
    print(f"dump: {len(rows)} entries from {', '.join(streams)} -> {out}", file=sys.stderr)


def write(out, rows):
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[1] not in ("kafka", "redis"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    kind, addr, out, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    (dump_kafka if kind == "kafka" else dump_redis)(addr, out, names)
