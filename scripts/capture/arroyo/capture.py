#!/usr/bin/env python3
"""Sentry Arroyo capture: a real StreamProcessor on a real KafkaConsumer whose strategy raises
InvalidMessage for chosen records, dead-lettered by Arroyo's own DlqPolicy(KafkaDlqProducer, DlqLimit).

  capture.py BROKERS OUT_DIR DUMP_PY

1. deletes and recreates arroyo-orders (3 partitions) and arroyo-orders-dlq (2 partitions);
2. produces the source records with confluent-kafka to explicit partitions (so offsets are known:
   binary/empty/null keys, repeated and null headers, a record without headers, tombstones, an empty
   value, non-UTF-8 values, and failures where offset == partition as well as where they differ);
3. runs the StreamProcessor until the strategy has seen every source record, then shuts it down
   (which commits and flushes the DLQ producer's futures);
4. dumps arroyo-orders-dlq with lib/dump.py and joins each DLQ record to what the strategy saw
   (on the unique `case` header, else on original_partition/original_offset), writing truth.ndjson.

The truth is what the strategy knew when it raised: the Message (partition, offset, key, value,
headers, timestamp) and the InvalidMessage it raised, reason included — Arroyo drops the reason
(DlqPolicyWrapper.produce passes it to KafkaDlqProducer.produce, which ignores it).
"""
import base64
import json
import logging
import platform
import subprocess
import sys
import time
from datetime import timezone
from importlib.metadata import version

from confluent_kafka import Producer as CProducer
from confluent_kafka.admin import AdminClient, NewTopic

from arroyo.backends.kafka import KafkaConsumer, KafkaPayload, KafkaProducer
from arroyo.backends.kafka.configuration import (
    build_kafka_consumer_configuration,
    build_kafka_producer_configuration,
)
from arroyo.commit import ONCE_PER_SECOND
from arroyo.dlq import DlqLimit, DlqPolicy, InvalidMessage, KafkaDlqProducer
from arroyo.processing.processor import StreamProcessor
from arroyo.processing.strategies import CommitOffsets, ProcessingStrategyFactory, RunTask
from arroyo.types import Message, Topic

SOURCE = "arroyo-orders"
DLQ = "arroyo-orders-dlq"
GROUP = "arroyo-capture"
BASE_TS = 1764498000000  # source record times, fixed so they are told apart from the DLQ record time

# (partition, case, key, value, extra headers, fail reason or None). Records are produced in this
# order to explicit partitions, so the offset of each is its index within its partition.
# Every record carries a unique `case` header (except "no-headers"), used to join the DLQ back.
RECORDS = [
    # partition 0: offsets 0..3
    (0, "p0-o0-binary-key", b"\x00\xff\xfe\x01", b'{"order":1,"qty":-1}', [], "quantity must be positive (got -1)"),
    (0, "p0-o1-ok", b"k-ok-1", b'{"order":2,"qty":1}', [], None),
    (0, "p0-o2-tombstone", b"order-3", None, [("trace", b"t-3")], "tombstone for order-3: nothing to process"),
    (0, "p0-o3-ok", b"k-ok-2", b'{"order":4,"qty":2}', [], None),
    # partition 1: offsets 0..3 — offset 1 == partition 1 (the ambiguity case)
    (1, "p1-o0-ok", b"k-ok-3", b'{"order":5,"qty":3}', [], None),
    (1, "p1-o1-repeated-headers", b"order-6", b'{"order":6,"qty":"many"}',
     [("tag", b"first"), ("tag", b"second"), ("null-header", None), ("empty-header", b"")],
     "qty is not a number: 'many'"),
    (1, "p1-o2-empty-key", b"", b'{"order":7,"qty":0}', [], "quantity must be positive (got 0)"),
    (1, "p1-o3-ok", b"k-ok-4", b'{"order":8,"qty":4}', [], None),
    # partition 2: offsets 0..4 — offset 2 == partition 2 fails too; offset 3 has no headers at all
    (2, "p2-o0-null-key", None, b"\x89PNG\r\n\x1a\n\x00\x00binary-order-9", [], "not JSON: binary payload"),
    (2, "p2-o1-ok", b"k-ok-5", b'{"order":10,"qty":5}', [], None),
    (2, "p2-o2-empty-value", b"order-11", b"", [("content-type", b"application/json")], "empty payload"),
    (2, "p2-o3-no-headers", b"order-12", "caf\u00e9 \u2603 order 12 \x1b[31m".encode("utf-8"), None, "unexpected control character in payload"),
    (2, "p2-o4-tombstone-null-key", None, None, [("null-only", None)], "tombstone without key"),
]


def b64(v):
    return None if v is None else base64.b64encode(v).decode("ascii")


def recreate_topics(brokers):
    admin = AdminClient({"bootstrap.servers": brokers})
    existing = admin.list_topics(timeout=10).topics
    doomed = [t for t in (SOURCE, DLQ) if t in existing]
    if doomed:
        for f in admin.delete_topics(doomed, operation_timeout=30).values():
            f.result()
        for _ in range(100):  # deletion is asynchronous on the broker
            if not any(t in admin.list_topics(timeout=10).topics for t in doomed):
                break
            time.sleep(0.2)
    for _ in range(50):
        futures = admin.create_topics([NewTopic(SOURCE, 3, 1), NewTopic(DLQ, 2, 1)], operation_timeout=30)
        try:
            for f in futures.values():
                f.result()
            return
        except Exception as e:  # TOPIC_ALREADY_EXISTS while the deletion settles
            if "already exists" not in str(e).lower() and "marked for deletion" not in str(e).lower():
                raise
            time.sleep(0.3)
    raise SystemExit("could not recreate topics")


def produce_source(brokers):
    p = CProducer({"bootstrap.servers": brokers, "enable.idempotence": True})
    errors = []
    for i, (part, case, key, value, headers, _) in enumerate(RECORDS):
        hs = None if headers is None else [("case", case.encode())] + headers
        p.produce(SOURCE, value=value, key=key, partition=part, headers=hs, timestamp=BASE_TS + i * 1000,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
        p.flush(10)  # one at a time so offsets follow RECORDS order exactly
    if errors:
        raise SystemExit(f"produce failed: {errors}")


class Seen:
    """What the strategy saw and raised, per (partition, offset)."""

    def __init__(self):
        self.by_pos = {}
        self.total = 0


def make_factory(seen, reasons, cases):
    def process(message: Message[KafkaPayload]):
        bv = message.value
        payload = message.payload
        hs = list(payload.headers)
        case = next((v.decode() for k, v in hs if k == "case" and v is not None), None)
        seen.total += 1
        reason = reasons.get((bv.partition.index, bv.offset))
        entry = {
            "partition": bv.partition.index, "offset": bv.offset, "topic": bv.partition.topic.name,
            "key": payload.key, "value": payload.value, "headers": [(k, v) for k, v in hs],
            "timestamp": int(round(bv.timestamp.replace(tzinfo=timezone.utc).timestamp() * 1000)),
            # the record without headers is known by its position in RECORDS
            "case": case or cases.get((bv.partition.index, bv.offset)), "reason": reason, "attempts": seen.by_pos.get((bv.partition.index, bv.offset), {}).get("attempts", 0) + 1,
        }
        if reason is not None:
            entry["failedAt"] = int(time.time() * 1000)
            seen.by_pos[(bv.partition.index, bv.offset)] = entry
            raise InvalidMessage(bv.partition, bv.offset, reason=reason, log_exception=False)
        return payload

    class Factory(ProcessingStrategyFactory[KafkaPayload]):
        def create_with_partitions(self, commit, partitions):
            return RunTask(process, CommitOffsets(commit))

    return Factory()


def main():
    brokers, out_dir, dump_py = sys.argv[1], sys.argv[2], sys.argv[3]
    logging.basicConfig(level=logging.WARNING, format="arroyo-capture: %(levelname)s %(name)s %(message)s")
    recreate_topics(brokers)
    produce_source(brokers)

    # Source (partition, offset) of each record = its index within its partition.
    counters, reasons, source_pos = {}, {}, {}
    for part, case, key, value, headers, reason in RECORDS:
        off = counters.get(part, 0)
        counters[part] = off + 1
        source_pos[case] = (part, off)
        if reason is not None:
            reasons[(part, off)] = reason
    assert source_pos["p1-o1-repeated-headers"] == (1, 1) and source_pos["p2-o2-empty-value"] == (2, 2)

    seen = Seen()
    consumer = KafkaConsumer(build_kafka_consumer_configuration(
        {}, group_id=GROUP, auto_offset_reset="earliest", bootstrap_servers=[brokers]))
    dlq_producer = KafkaProducer(build_kafka_producer_configuration({}, bootstrap_servers=[brokers]))
    processor = StreamProcessor(
        consumer=consumer,
        topic=Topic(SOURCE),
        processor_factory=make_factory(seen, reasons, {v: k for k, v in source_pos.items()}),
        commit_policy=ONCE_PER_SECOND,
        dlq_policy=DlqPolicy(KafkaDlqProducer(dlq_producer, Topic(DLQ)), DlqLimit(max_invalid_ratio=None, max_consecutive_count=5)),
    )
    deadline = time.time() + 120
    started = time.time()
    while seen.total < len(RECORDS):
        if time.time() > deadline:
            raise SystemExit(f"processor saw {seen.total}/{len(RECORDS)} records in 120 s")
        processor._run_once()  # the loop StreamProcessor.run() runs, stepped so we can stop when done
    processor._run_once()  # lets the last InvalidMessage's filtered offset reach CommitOffsets
    processor.signal_shutdown()
    processor.run()  # _shutdown: closes the strategy (commit, flush the DLQ futures) and the consumer
    dlq_producer.close().result(timeout=30)
    print(f"arroyo-capture: processed {seen.total} records in {time.time() - started:.1f} s, "
          f"{len(seen.by_pos)} raised InvalidMessage", file=sys.stderr)

    kafka_out = f"{out_dir}/kafka.ndjson"
    subprocess.run([sys.executable, dump_py, "kafka", brokers, kafka_out, DLQ], check=True)
    dumped = [json.loads(l) for l in open(kafka_out, encoding="utf-8")]

    truth = []
    for rec in dumped:
        hdrs = rec["headers"]
        case = next((base64.b64decode(h["value"]).decode() for h in hdrs if h["key"] == "case" and h["value"] is not None), None)
        if case is not None:
            entry = next((e for e in seen.by_pos.values() if e["case"] == case), None)
        else:  # the record without headers: only Arroyo's own headers tell where it came from
            hv = {h["key"]: base64.b64decode(h["value"]).decode() for h in hdrs}
            entry = seen.by_pos.get((int(hv["original_partition"]), int(hv["original_offset"])))
        if entry is None:
            raise SystemExit(f"DLQ record {rec['partition']}@{rec['offset']} matches nothing the strategy rejected")
        entry["matched"] = True
        truth.append({
            "dlq": {"topic": rec["topic"], "partition": rec["partition"], "offset": rec["offset"]},
            "source": {
                "topic": entry["topic"], "partition": entry["partition"], "offset": str(entry["offset"]),
                "key": b64(entry["key"]),
                # what the strategy saw: Arroyo's KafkaConsumer turns a null value into b"" before the
                # strategy sees it, so the value the strategy saw for a tombstone is empty
                "value": b64(entry["value"]),
                "headers": [{"key": k, "value": b64(v)} for k, v in entry["headers"]],
                "timestamp": entry["timestamp"],
            },
            "error": {"class": "arroyo.dlq.InvalidMessage", "message": entry["reason"], "cause": None},
            "reason": None,  # Arroyo records none: InvalidMessage.reason is dropped by KafkaDlqProducer
            "attempts": entry["attempts"],
            "failedAt": entry["failedAt"],
            "extra": {
                "case": entry["case"],
                "group": GROUP,
                "invalidMessageReason": entry["reason"],
                "sourceValueWasNull": next(r[3] is None for r in RECORDS if r[1] == entry["case"]),
                "sourceHadNoHeaders": next(r[4] is None for r in RECORDS if r[1] == entry["case"]),
                "partitionEqualsOffset": entry["partition"] == entry["offset"],
            },
        })
    missing = [e["case"] for e in seen.by_pos.values() if not e.get("matched")]
    if missing:
        raise SystemExit(f"rejected but not in the DLQ: {missing}")
    with open(f"{out_dir}/truth.ndjson", "w", encoding="utf-8") as f:
        for t in truth:
            f.write(json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n")

    import confluent_kafka
    capture = {
        "writer": "arroyo",
        "library": {"name": "sentry-arroyo", "version": version("sentry-arroyo"), "source": "https://pypi.org/project/sentry-arroyo/"},
        "runtime": f"Python {platform.python_version()}, confluent-kafka {version('confluent-kafka')}, librdkafka {confluent_kafka.libversion()[0]}",
        "store": "kafka",
        "dlq": [DLQ],
        "capturedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "notes": [
            f"source topic {SOURCE} (3 partitions) produced with confluent-kafka to explicit partitions; "
            f"source record times are fixed ({BASE_TS} + index*1000 ms, CreateTime)",
            f"StreamProcessor(KafkaConsumer group {GROUP}) -> RunTask raising InvalidMessage(partition, offset, reason=...) -> CommitOffsets; "
            f"DlqPolicy(KafkaDlqProducer(KafkaProducer, Topic('{DLQ}')), DlqLimit(max_consecutive_count=5))",
            "KafkaDlqProducer appends original_partition and original_offset (ASCII decimal) after the source headers, "
            "keeps key and headers (repeats and null values kept), and produces with no timestamp: the DLQ record time "
            "is the DLQ producer's CreateTime (the dead-letter time), not the source time",
            "Arroyo's KafkaConsumer turns a null value into b'' (KafkaPayload.value is bytes): a tombstone is dead-lettered as an empty value",
            "InvalidMessage.reason is passed to DlqProducer.produce and dropped by KafkaDlqProducer: no reason, topic, group or retry count is recorded",
            "DLQ partition is chosen by librdkafka's default partitioner (consistent_random: CRC32 of the key, random for a null key)",
            "every source record has a unique `case` header (except the one without headers) used to join the DLQ back to the truth",
        ],
    }
    with open(f"{out_dir}/capture.json", "w", encoding="utf-8") as f:
        json.dump(capture, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"arroyo-capture: {len(truth)} truth lines -> {out_dir}/truth.ndjson", file=sys.stderr)


if __name__ == "__main__":
    main()
