#!/usr/bin/env python3
"""Joins what StreamsCapture recorded to the dumped DLQ and writes OUT/truth.ndjson and OUT/capture.json.

  join.py EVENTS OUT JAVA_VERSION CLASSPATH

EVENTS: each source record as produced (bytes + the broker's ack), each exception the application's
deserializers threw (for which bytes) and each exception its "price" processor threw (for which source
topic/partition/offset, with the record as that processor saw it). Every source the program expected to
fail must have failed exactly once, and no good one may have.
A dumped DLQ record is matched to its source by the unique `trace-id` user header every source carries
(Kafka Streams copies the failed record's headers), not by the __streams.errors.* headers, so the truth
does not depend on what Streams wrote about itself; where the DLQ record keeps the key or value bytes they
must be the source's.
"""
import base64
import json
import re
import sys
import time

events_path, out, java_version, classpath = sys.argv[1:5]
events = [json.loads(l) for l in open(events_path, encoding="utf-8") if l.strip()]
dump = [json.loads(l) for l in open(f"{out}/kafka.ndjson", encoding="utf-8") if l.strip()]
run = next(e for e in events if e["kind"] == "run")
produced = [e for e in events if e["kind"] == "produced"]
deser = [e for e in events if e["kind"] == "deserializer-threw"]
procs = [e for e in events if e["kind"] == "processor-threw"]
failing_runs = [e for e in events if e["kind"] == "failing-run"]

DESER_HANDLER = "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler"
PROC_HANDLER = "org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler"
# the payments application sets no handler: Streams' defaults
FAIL_HANDLER = "org.apache.kafka.streams.errors.LogAndFailExceptionHandler"
PAYMENTS = "kafka-streams-payments"


def header(hs, name):
    vals = [h["value"] for h in hs if h["key"] == name]
    return base64.b64decode(vals[0]).decode("utf-8") if len(vals) == 1 and vals[0] is not None else None


def chain(err):
    out = []
    while err:
        out.append({"class": err["class"], "message": err["message"]})
        err = err.get("cause")
    return out


# What failed, from the program's own record: one failure per expected source (one per run of the payments
# application, which the failure stops), none for the good ones.
failure = {}
for src in produced:
    hits = [("deserialize-" + d["side"], d) for d in deser if d["bytes"] == src[d["side"]] and d["topic"] == src["topic"]]
    hits += [("process", p) for p in procs if (p["topic"], p["partition"], p["offset"]) == (src["topic"], src["partition"], src["offset"])]
    want = 0 if src["expect"] != "dlq" else len(failing_runs) if src["topic"] == PAYMENTS else 1
    if len(hits) != want:
        raise SystemExit(f"join: {src['id']} failed {len(hits)} times, expected {want}")
    if hits:
        failure[src["id"]] = sorted(hits, key=lambda h: h[1]["at"])

truth = []
for rec in dump:
    trace = header(rec["headers"], "trace-id")
    hits = [p for p in produced if header(p["headers"], "trace-id") == trace]
    if trace is None or len(hits) != 1:
        raise SystemExit(f"join: DLQ {rec['partition']}:{rec['offset']} has trace-id {trace!r}, matching {len(hits)} sources")
    src = hits[0]
    if src["id"] not in failure:
        raise SystemExit(f"join: {src['id']} reached the DLQ but did not fail")
    # the n-th DLQ record of a source (offset order) is its n-th failure (time order)
    nth = sum(1 for r in dump if r["topic"] == rec["topic"] and r["offset"] < rec["offset"] and header(r["headers"], "trace-id") == trace)
    if nth >= len(failure[src["id"]]):
        raise SystemExit(f"join: {src['id']} has more DLQ records than failures")
    for f in ("key", "value"):
        if rec[f] is not None and rec[f] != src[f]:
            raise SystemExit(f"join: DLQ {rec['partition']}:{rec['offset']} {f} is not the source's ({src['id']})")
    stage, ev = failure[src["id"]][nth]
    err = ev["error"]
    full = chain(err)
    payments = src["topic"] == PAYMENTS
    app = failing_runs[0]["applicationId"] if payments else run["applicationId"]
    extra = {
        "case": src["id"],
        "applicationId": app,
        "group": app,
        "stage": stage,
        "handler": FAIL_HANDLER if payments else PROC_HANDLER if stage == "process" else DESER_HANDLER,
        "rootCause": full[-1],
    }
    if payments:
        # the application run that failed on it; the failure stopped that run (state ERROR)
        extra["run"] = ev["run"]
        extra["runEndState"] = next(r["endState"] for r in failing_runs if r["run"] == ev["run"])
    if stage == "process":
        extra["processor"] = ev["processor"]
        extra["taskId"] = ev["taskId"]
        # the record as the failing processor saw it: an upstream processor may have changed headers and time
        extra["recordAtFailure"] = {"timestamp": ev["recordTimestamp"], "headers": ev["recordHeaders"]}
    else:
        extra["deserializer"] = ev["deserializer"]
        extra["recordAtFailure"] = {"timestamp": src["timestamp"], "headers": ev["headers"]}
    extra["forwardedBeforeThrow"] = src["id"] == "emit-then-fail"
    extra["dlqPartitionForKey"] = src["dlqPartitionForKey"]
    extra["failedAtIs"] = "the moment the deserializer / processor threw (ms); the DLQ record's timestamp is the failing record's own"
    truth.append({
        "dlq": {"topic": rec["topic"], "partition": rec["partition"], "offset": rec["offset"]},
        "source": {k: src[k] for k in ("topic", "partition", "offset", "key", "value", "headers", "timestamp")},
        "error": {"class": err["class"], "message": err["message"],
                  "cause": None if err["cause"] is None else {"class": err["cause"]["class"], "message": err["cause"]["message"]}},
        "reason": None,
        # Streams never retries a record; only a restart after LogAndFail processes it again
        "attempts": nth + 1,
        "failedAt": ev["at"],
        "extra": extra,
    })

missing = [p["id"] for p in produced if p["expect"] == "dlq" and sum(t["extra"]["case"] == p["id"] for t in truth) != len(failure[p["id"]])]
if missing:
    raise SystemExit(f"join: not every failure of these is in the DLQ: {missing}")
truth.sort(key=lambda t: (t["dlq"]["topic"], t["dlq"]["partition"], t["dlq"]["offset"]))
with open(f"{out}/truth.ndjson", "w", encoding="utf-8") as f:
    for t in truth:
        f.write(json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n")


def version(artifact):
    m = re.search(rf"/{re.escape(artifact)}-([0-9][^/]*?)\.jar", classpath)
    return m.group(1) if m else None


good = [p["id"] for p in produced if p["expect"] != "dlq"]
capture = {
    "writer": "kafka-streams",
    "library": {"name": "kafka-streams", "version": version("kafka-streams"), "source": "Maven Central org.apache.kafka:kafka-streams"},
    "libraries": {a: version(a) for a in ("kafka-streams", "kafka-clients", "connect-json", "jackson-databind")},
    "runtime": f"java {java_version}",
    "store": "kafka",
    "dlq": ["kafka-streams-orders-dlq", "kafka-streams-payments-dlq"],
    "sources": ["kafka-streams-orders", PAYMENTS],
    "capturedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "notes": [
        f"KafkaStreams application.id {run['applicationId']} (= the consumer group), 1 thread, at_least_once; Topology: source "
        "'orders-source' on kafka-streams-orders (3 partitions; key LongDeserializer, value connect-json JsonDeserializer, each "
        "wrapped to record what it throws) -> processor 'enrich' (adds header enriched-by and moves the record time +1000 ms for "
        "orders with \"enrich\":true) -> processor 'price' (throws for bad orders) -> sink kafka-streams-orders-out.",
        "errors.dead.letter.queue.topic.name=kafka-streams-orders-dlq (created by the capture with 2 partitions: Streams does not create it), "
        f"deserialization.exception.handler={DESER_HANDLER}, processing.exception.handler={PROC_HANDLER} (the built-in handlers "
        "build the DLQ record when the DLQ topic is set; the LogAndFail ones do too, then stop the application).",
        f"sources that reached the sink (not dead-lettered): {', '.join(good)}; emit-then-fail was forwarded to the sink before its processor threw.",
        "DLQ records are matched to their sources by the unique trace-id user header; truth.error is what the deserializer or "
        "processor threw (extra.rootCause the innermost cause), truth.failedAt when it threw.",
        f"A second application, {failing_runs[0]['applicationId']}, on {PAYMENTS} (1 partition) with errors.dead.letter.queue.topic.name="
        "kafka-streams-payments-dlq and NO handler configured (the defaults: LogAndFailExceptionHandler, LogAndFailProcessingExceptionHandler), "
        f"run {len(failing_runs)} times: each run dead-letters the bad value pay-bad and stops (state ERROR); its offset is not committed, "
        "so the next run reads and dead-letters it again.",
        "truth.attempts: Kafka Streams calls the handler on the first failure and never retries a record (1); pay-bad's second DLQ record "
        "is its second failure, after a restart (2).",
        "extra.recordAtFailure is the record as the failing node saw it (time and headers); extra.dlqPartitionForKey is "
        "murmur2(source key) % 2, where the Streams producer's default partitioner puts a record with that key.",
    ],
}
with open(f"{out}/capture.json", "w", encoding="utf-8") as f:
    json.dump(capture, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(f"join: {len(truth)} truth lines -> {out}/truth.ndjson", file=sys.stderr)
