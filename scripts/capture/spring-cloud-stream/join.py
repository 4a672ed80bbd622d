#!/usr/bin/env python3
"""Joins what StreamCapture recorded (events.ndjson: produced sources with their acks, every handler
invocation, every ErrorMessage the binder published) to the dumped DLQ records (OUT/kafka.ndjson) and
writes OUT/truth.ndjson and OUT/capture.json.

  join.py EVENTS OUT JAVA_VERSION CLASSPATH

A dumped record is matched to its source by payload (every source value is unique, and the binder
copies the value), never by reading the binder's x-original-* headers, so the truth does not depend on
what the binder wrote about itself.
"""
import base64
import json
import re
import sys
import time

events_path, out, java_version, classpath = sys.argv[1:5]
events = [json.loads(l) for l in open(events_path, encoding="utf-8") if l.strip()]
dump = [json.loads(l) for l in open(f"{out}/kafka.ndjson", encoding="utf-8") if l.strip()]

ORDERS_DLQ = "spring-cloud-stream-orders-dlq"
ORDERS_DLQ_DLQ = "spring-cloud-stream-orders-dlq-dlq"
PAYMENTS_DLQ = "error.spring-cloud-stream-payments.spring-cloud-stream-group"
# (d): dead-lettered by Spring Kafka's DeadLetterPublishingRecoverer in the container, not by the binder
REFUNDS_DLQ = "spring-cloud-stream-refunds-dlq"
DLQS = [ORDERS_DLQ, PAYMENTS_DLQ, ORDERS_DLQ_DLQ, REFUNDS_DLQ]

produced = {e["id"]: e for e in events if e["kind"] == "produced"}
attempts = [e for e in events if e["kind"] == "attempt"]
errors = [e for e in events if e["kind"] == "error"]
partitions = {e["topic"]: e["partitions"] for e in events if e["kind"] == "topic"}


def raw(b64):
    return None if b64 is None else base64.b64decode(b64)


def coords(e):
    return (e["topic"], e["partition"], e["offset"])


def one(items, what):
    if len(items) != 1:
        raise SystemExit(f"join: {what}: {len(items)} matches")
    return items[0]


def chain(err):
    out = []
    while err:
        out.append({"class": err["class"], "message": err["message"]})
        err = err.get("cause")
    return out


def source_json(p):
    return {k: p[k] for k in ("topic", "partition", "offset", "key", "value", "headers", "timestamp")}


def failure(at):
    """What the handler(s) did with the record at these coordinates, and the ErrorMessage the binder got
    (None on the recoverer's path (d), which publishes none)."""
    tried = sorted((a for a in attempts if coords(a) == at), key=lambda a: a["attempt"])
    if not tried or tried[-1]["outcome"] != "threw":
        raise SystemExit(f"join: {at}: dead-lettered but its last handler attempt did not throw")
    if tried[-1]["handler"] == "refunds":
        if any(coords(e) == at for e in errors):
            raise SystemExit(f"join: {at}: an ErrorMessage on the recoverer's path")
        return tried, None
    err = one([e for e in errors if coords(e) == at], f"ErrorMessage for {at}")
    return tried, err


truth = []
for rec in dump:
    src = one([p for p in produced.values() if raw(p["value"]) == raw(rec["value"])], f"source of {rec['topic']}/{rec['partition']}/{rec['offset']}")
    if rec["topic"] == ORDERS_DLQ_DLQ:
        # dead-lettered again by the redo handler on the orders DLQ: the record it failed on is the DLQ
        # record with the same payload
        first = one([r for r in dump if r["topic"] == ORDERS_DLQ and raw(r["value"]) == raw(rec["value"])], "first DLQ hop")
        at = (first["topic"], first["partition"], str(first["offset"]))
    else:
        at = (src["topic"], src["partition"], src["offset"])
    tried, err = failure(at)
    root_tried, _ = failure((src["topic"], src["partition"], src["offset"]))
    extra = {
        "case": src["id"],
        "hop": "dlq-of-dlq" if rec["topic"] == ORDERS_DLQ_DLQ else "dlq",
        "handler": tried[-1]["handler"],
        "group": tried[-1]["group"],
        "rootGroup": root_tried[-1]["group"],
        "handlerInvocations": len(tried),
        "payloadTypeSeen": tried[-1]["payloadType"],
        "deliveryAttemptHeaders": [a["deliveryAttempt"] for a in tried],
        "binderException": chain(err["exception"]) if err else None,
        "dlqValueEqualsSource": raw(rec["value"]) == raw(src["value"]),
        "dlqKeyEqualsSource": raw(rec["key"]) == raw(src["key"]),
        "sourcePartitions": partitions.get(src["topic"]),
        "dlqPartitions": partitions.get(rec["topic"]),
    }
    if rec["topic"] == ORDERS_DLQ_DLQ:
        extra["failedRecord"] = {"topic": at[0], "partition": at[1], "offset": at[2]}
    truth.append({
        "dlq": {"topic": rec["topic"], "partition": rec["partition"], "offset": rec["offset"]},
        "source": source_json(src),
        # the exception the handler threw on its last attempt
        "error": tried[-1]["error"],
        "reason": None,
        "attempts": len(tried),
        # when the binder published the ErrorMessage its DLQ handler sends from; on the recoverer's path, when the
        # handler threw for the last time
        "failedAt": err["at"] if err else tried[-1]["at"],
        "extra": extra,
    })

# every failure the binder published is in a DLQ, and nothing else is
if len([t for t in truth if t["extra"]["handler"] != "refunds"]) != len(errors):
    raise SystemExit(f"join: {len(errors)} ErrorMessages but {len(truth)} DLQ records")

truth.sort(key=lambda t: (DLQS.index(t["dlq"]["topic"]), t["dlq"]["partition"], t["dlq"]["offset"]))
with open(f"{out}/truth.ndjson", "w", encoding="utf-8") as f:
    for t in truth:
        f.write(json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n")


def version(artifact):
    m = re.search(rf"/{re.escape(artifact)}-([0-9][^/]*?)\.jar", classpath)
    return m.group(1) if m else None


capture = {
    "writer": "spring-cloud-stream",
    "library": {
        "name": "spring-cloud-stream-binder-kafka",
        "version": version("spring-cloud-stream-binder-kafka"),
        "source": "Maven Central org.springframework.cloud:spring-cloud-stream-binder-kafka (spring-cloud-dependencies 2025.1.4, Spring Boot 4.0.7)",
    },
    "libraries": {a: version(a) for a in (
        "spring-cloud-stream-binder-kafka", "spring-cloud-stream", "spring-cloud-function-context", "spring-integration-kafka",
        "spring-kafka", "kafka-clients", "spring-core", "spring-boot")},
    "runtime": f"java {java_version}",
    "store": "kafka",
    "dlq": DLQS,
    "sources": ["spring-cloud-stream-orders", "spring-cloud-stream-payments"],
    "capturedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "notes": [
        "(a) spring-cloud-stream-orders (3 partitions, CreateTime) -> functional Consumer<Message<Order>> 'orders', group "
        "spring-cloud-stream-group, content-type application/json, maxAttempts 3 (backOff 100 ms), enableDlq, "
        "dlqName spring-cloud-stream-orders-dlq, provisioned by the binder (dlqPartitions unset). o-5 fails once and "
        "succeeds on attempt 2; o-7 succeeds: neither is dead-lettered. o-4 is not JSON: the binder calls the handler "
        "with the raw byte[] and the handler's cast to Order throws.",
        "(b) spring-cloud-stream-payments (1 partition, message.timestamp.type=LogAppendTime) -> Consumer<Message<byte[]>> "
        "'payments', maxAttempts 1, enableDlq without dlqName: the binder's default DLQ name error.<topic>.<group>.",
        "(c) spring-cloud-stream-orders-dlq -> Consumer<Message<byte[]>> 'redo', group spring-cloud-stream-redo, maxAttempts 1, "
        "enableDlq, dlqName spring-cloud-stream-orders-dlq-dlq: o-1 and o-3 fail again and are dead-lettered twice.",
        "(d) spring-cloud-stream-refunds (2 partitions) -> Consumer<Message<byte[]>> 'refunds', maxAttempts 2, enableDlq, "
        "dlqName spring-cloud-stream-refunds-dlq, with a ListenerContainerWithDlqAndRetryCustomizer that hands retries and "
        "dead-lettering to the container: DefaultErrorHandler(DeadLetterPublishingRecoverer(template, the binder's DLQ "
        "destination resolver), the binder's back-off). extra.binderException is null there (no ErrorMessage).",
        "truth.source is the ROOT record as produced (key/value/header bytes and the broker's ack); for "
        "spring-cloud-stream-orders-dlq-dlq extra.failedRecord is the DLQ record the redo handler failed on.",
        "truth.error is what the handler threw on its last attempt; extra.binderException is the ErrorMessage payload "
        "the binder dead-lettered (its chain, outermost first).",
        "truth.attempts counts handler invocations for that record; truth.failedAt is when the binder published the ErrorMessage "
        "((d): when the handler threw for the last time).",
    ],
}
with open(f"{out}/capture.json", "w", encoding="utf-8") as f:
    json.dump(capture, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(f"join: {len(truth)} truth lines -> {out}/truth.ndjson", file=sys.stderr)
