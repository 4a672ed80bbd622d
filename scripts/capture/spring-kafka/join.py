#!/usr/bin/env python3
"""Joins what SpringCapture recorded (events.ndjson: produced sources with their acks, every listener
attempt, every recoverer call) to the dumped DLT / retry-topic records (OUT/kafka.ndjson) and writes
OUT/truth.ndjson and OUT/capture.json.

  join.py EVENTS OUT JAVA_VERSION CLASSPATH

A dumped record is matched to its source by payload (values are unique per source; a value the DLT hop
re-serialised is matched on its JSON "id"), never by reading Spring's headers, so the truth does not
depend on what Spring wrote about itself.
"""
import base64
import json
import re
import sys
import time
from collections import defaultdict

events_path, out, java_version, classpath = sys.argv[1:5]
events = [json.loads(l) for l in open(events_path, encoding="utf-8") if l.strip()]
dump = [json.loads(l) for l in open(f"{out}/kafka.ndjson", encoding="utf-8") if l.strip()]

produced = {e["id"]: e for e in events if e["kind"] == "produced"}
by_coords = {(e["topic"], e["partition"], e["offset"]): e for e in produced.values()}
attempts = [e for e in events if e["kind"] == "attempt"]
recovered = {(e["topic"], e["partition"], e["offset"]): e for e in events if e["kind"] == "recovered"}


def raw(b64):
    return None if b64 is None else base64.b64decode(b64)


def json_id(b):
    try:
        v = json.loads(b)
        return v.get("id") if isinstance(v, dict) else None
    except Exception:
        return None


def source_of(rec):
    """The produced record whose payload this dumped record carries."""
    v = raw(rec["value"])
    hits = [p for p in produced.values() if raw(p["value"]) == v]
    if not hits and v is not None and json_id(v) is not None:
        hits = [p for p in produced.values() if p["value"] is not None and json_id(raw(p["value"])) == json_id(v)]
    if len(hits) != 1:
        raise SystemExit(f"join: {rec['topic']}/{rec['partition']}/{rec['offset']} matches {len(hits)} sources")
    return hits[0]


def chain(err):
    out = []
    while err:
        out.append({"class": err["class"], "message": err["message"]})
        err = err.get("cause")
    return out


def source_json(p):
    return {k: p[k] for k in ("topic", "partition", "offset", "key", "value", "headers", "timestamp")}


truth = []
hops = defaultdict(list)  # (b) source id -> dumped hop records, retry topic first, in offset order
for rec in dump:
    src = source_of(rec)
    if rec["topic"] in ("spring-orders-dlt", "spring-orders-dlt-dlt"):
        if rec["topic"] == "spring-orders-dlt":
            coords = (src["topic"], src["partition"], src["offset"])
        else:
            # dead-lettered again by the listener on spring-orders-dlt: the record it failed on is the DLT
            # record with the same payload
            first = [r for r in dump if r["topic"] == "spring-orders-dlt" and raw(r["value"]) == raw(rec["value"])]
            if len(first) != 1:
                raise SystemExit(f"join: {rec['topic']}/{rec['partition']}/{rec['offset']} matches {len(first)} DLT records")
            coords = (first[0]["topic"], first[0]["partition"], str(first[0]["offset"]))
        rc = recovered[coords]
        tried = sorted((a for a in attempts if (a["topic"], a["partition"], a["offset"]) == coords), key=lambda a: a["attempt"])
        full = chain(rc["exception"])
        if tried:
            # the listener ran: the error is what it threw on its last attempt
            err = tried[-1]["error"]
            kind = "listener"
        else:
            # ErrorHandlingDeserializer: the listener never ran; the recoverer got
            # ListenerExecutionFailedException("Listener failed") around the DeserializationException
            err = rc["exception"]["cause"]
            kind = "key-deserialization" if src["id"] == "a-badkey" else "value-deserialization"
        extra = {
            "case": src["id"],
            "failure": kind,
            "group": rc["group"],
            "listenerInvocations": len(tried),
            "rootCause": full[-1],
            "recovererException": full,
            "dltValueEqualsSource": raw(rec["value"]) == raw(src["value"]),
            "dltKeyEqualsSource": raw(rec["key"]) == raw(src["key"]),
        }
        if rec["topic"] == "spring-orders-dlt-dlt":
            extra["hop"] = "dlt-of-dlt"
            extra["failedRecord"] = {"topic": coords[0], "partition": coords[1], "offset": coords[2]}
        truth.append({
            "dlq": {"topic": rec["topic"], "partition": rec["partition"], "offset": rec["offset"]},
            "source": source_json(src),
            "error": err,
            "reason": None,
            "attempts": max(1, len(tried)),
            "failedAt": rc["at"],
            "extra": extra,
        })
    else:
        hops[src["id"]].append(rec)

topic_rank = {"spring-payments-retry": 0, "spring-payments-dlt": 1}
for sid, recs in hops.items():
    src = produced[sid]
    recs.sort(key=lambda r: (topic_rank[r["topic"]], r["offset"]))
    seen = raw(src["value"]).decode()
    fails = sorted((a for a in attempts if a["listener"] == "payments" and a["valueSeen"] == seen and a["outcome"] == "threw"),
                   key=lambda a: a["attempt"])
    if len(fails) != len(recs):
        raise SystemExit(f"join: {sid}: {len(fails)} failed attempts but {len(recs)} retry/DLT records")
    for rec, f in zip(recs, fails):
        truth.append({
            "dlq": {"topic": rec["topic"], "partition": rec["partition"], "offset": rec["offset"]},
            "source": source_json(src),
            "error": f["error"],
            "reason": None,
            "attempts": f["attempt"],
            "failedAt": f["at"],
            "extra": {
                "case": sid,
                "hop": "retry" if rec["topic"].endswith("-retry") else "dlt",
                "failedRecord": {"topic": f["topic"], "partition": f["partition"], "offset": f["offset"]},
                "group": f["group"],
                "rootCause": chain(f["error"])[-1],
                "succeededLater": any(a["outcome"] == "ok" and a["valueSeen"] == seen for a in attempts),
            },
        })

truth.sort(key=lambda t: (t["dlq"]["topic"], t["dlq"]["partition"], t["dlq"]["offset"]))
with open(f"{out}/truth.ndjson", "w", encoding="utf-8") as f:
    for t in truth:
        f.write(json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n")


def version(artifact):
    m = re.search(rf"/{re.escape(artifact)}-([0-9][^/]*?)\.jar", classpath)
    return m.group(1) if m else None


capture = {
    "writer": "spring-kafka",
    "library": {"name": "spring-kafka", "version": version("spring-kafka"), "source": "Maven Central org.springframework.kafka:spring-kafka"},
    "libraries": {a: version(a) for a in ("spring-kafka", "kafka-clients", "spring-core", "jackson-databind")},
    "runtime": f"java {java_version}",
    "store": "kafka",
    "dlq": ["spring-orders-dlt", "spring-orders-dlt-dlt", "spring-payments-retry", "spring-payments-dlt"],
    "sources": ["spring-orders", "spring-payments"],
    "capturedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "notes": [
        "(a) spring-orders -> spring-orders-dlt: DefaultErrorHandler + DeadLetterPublishingRecoverer, FixedBackOff(200 ms, 2) = 3 attempts; "
        "key ErrorHandlingDeserializer(UUIDDeserializer), value ErrorHandlingDeserializer(JacksonJsonDeserializer<Order>); "
        "the DLT template serialises byte[] raw, String as UTF-8 and objects with JacksonJsonSerializer (adds __TypeId__). "
        "A listener on spring-orders-dlt (same container factory, group spring-orders-dlt-group) reprocesses the DLT; "
        "the 3 deserialisation failures and o-8 fail again and land in spring-orders-dlt-dlt (dead-lettered twice).",
        "(b) spring-payments -> spring-payments-retry -> spring-payments-dlt: RetryTopicConfigurationBuilder maxAttempts(3), fixedBackOff(500), "
        "single retry topic; ClassCastException is not retryable by default (pay-4 goes straight to the DLT); pay-2 succeeds on attempt 2.",
        "truth.source is the ROOT record as produced (key/value/header bytes and the broker's ack); for retry/DLT hops and "
        "spring-orders-dlt-dlt extra.failedRecord is the record the listener was processing when it threw.",
        "truth.attempts counts listener invocations up to the failure (deserialisation failures: 1, the listener never ran).",
        "truth.failedAt: (a) the moment the recoverer was called; (b) the moment the listener threw on that attempt.",
        "jackson-databind in libraries is Jackson 3 (tools.jackson); the annotations jar is Jackson 2's, as Jackson 3 uses it.",
    ],
}
with open(f"{out}/capture.json", "w", encoding="utf-8") as f:
    json.dump(capture, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(f"join: {len(truth)} truth lines -> {out}/truth.ndjson", file=sys.stderr)
