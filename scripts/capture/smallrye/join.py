#!/usr/bin/env python3
"""Joins what the SmallRye capture app recorded (events.ndjson: produced sources with their acks and what
the channel's deserializers throw for their bytes, every handler invocation) to the dumped DLQ records
(OUT/kafka.ndjson) and writes OUT/truth.ndjson and OUT/capture.json.

  join.py EVENTS OUT JAVA_VERSION DEPENDENCIES_TXT

A dumped record is matched to its source by payload (values are unique per source; a value the DLQ producer
re-serialised is matched on its JSON "id"; a record whose value is not any source's is matched on its key),
never by reading SmallRye's headers, so the truth does not depend on what SmallRye wrote about itself.
"""
import base64
import json
import re
import sys
import time

events_path, out, java_version, deps_path = sys.argv[1:5]
events = [json.loads(l) for l in open(events_path, encoding="utf-8") if l.strip()]
dump = [json.loads(l) for l in open(f"{out}/kafka.ndjson", encoding="utf-8") if l.strip()]
deps = open(deps_path, encoding="utf-8").read()

produced = {e["id"]: e for e in events if e["kind"] == "produced"}
attempts = [e for e in events if e["kind"] == "attempt"]


def raw(b64):
    return None if b64 is None else base64.b64decode(b64)


def json_id(b):
    try:
        v = json.loads(b)
        return v.get("id") if isinstance(v, dict) else None
    except Exception:
        return None


def source_of(rec):
    """The produced record this dumped record dead-letters."""
    v = raw(rec["value"])
    hits = [p for p in produced.values() if raw(p["value"]) == v]
    if not hits and v is not None and json_id(v) is not None:
        hits = [p for p in produced.values() if p["value"] is not None and json_id(raw(p["value"])) == json_id(v)]
    if not hits:
        hits = [p for p in produced.values() if p["key"] is not None and raw(p["key"]) == raw(rec["key"])]
    if len(hits) != 1:
        raise SystemExit(f"join: {rec['topic']}/{rec['partition']}/{rec['offset']} matches {len(hits)} sources")
    return hits[0]


def one_level(err):
    """{class, message, cause: {class, message} | null}: the exception and its direct cause."""
    if err is None:
        return None
    c = err.get("cause")
    return {"class": err["class"], "message": err["message"], "cause": None if c is None else {"class": c["class"], "message": c["message"]}}


def chain(err):
    out = []
    while err:
        out.append({"class": err["class"], "message": err["message"]})
        err = err.get("cause")
    return out


RETRY_HOPS = {"smallrye-retries_retry_500": 0, "smallrye-retries_retry_1000": 1, "smallrye-retries-dlq": 2}

truth = []
hops = {}  # delayed-retry-topic: source id -> its dumped hop records
for rec in dump:
    src = produced[source_of(rec)["id"]]
    if rec["topic"] in RETRY_HOPS:
        hops.setdefault(src["id"], []).append(rec)
        continue
    coords = (src["topic"], src["partition"], src["offset"])
    tried = [a for a in attempts if (a["topic"], a["partition"], a["offset"]) == coords]
    extra = {"case": src["id"]}
    if tried:
        if len(tried) != 1 or tried[0]["outcome"] == "ok":
            raise SystemExit(f"join: {src['id']}: unexpected handler invocations {tried}")
        a = tried[0]
        err = a["error"]
        extra.update({"failure": "nack" if a["outcome"] == "nacked" else "handler-threw", "handler": a["handler"], "group": a["group"]})
        failed_at = a["at"]
    else:
        # The connector routed it to the DLQ before the handler: a deserializer failed (fail-on-deserialization-failure=false).
        k, v = src.get("keyDeserialization"), src.get("valueDeserialization")
        if k is None or v is None or (k["error"] is None) == (v["error"] is None):
            raise SystemExit(f"join: {src['id']}: dead-lettered without a handler call or a single deserializer failure")
        part = "key" if k["error"] is not None else "value"
        d = k if part == "key" else v
        err = d["error"]
        group = {"smallrye-events": "smallrye-events-group"}[src["topic"]]
        extra.update({"failure": f"{part}-deserialization", "deserializer": d["deserializer"], "group": group})
        failed_at = None
    extra["errorChain"] = chain(err)
    extra["dlqKeyEqualsSource"] = raw(rec["key"]) == raw(src["key"])
    extra["dlqValueEqualsSource"] = raw(rec["value"]) == raw(src["value"])
    truth.append({
        "dlq": {"topic": rec["topic"], "partition": rec["partition"], "offset": rec["offset"]},
        "source": {k: src[k] for k in ("topic", "partition", "offset", "key", "value", "headers", "timestamp")},
        "error": one_level(err),
        "reason": None,
        "attempts": 1,
        "failedAt": failed_at,
        "extra": extra,
    })

# delayed-retry-topic: each failed attempt of a record makes one hop record (retry topic, then the DLQ); the
# handler's failures of that payload, in time order, are the hops in order.
for sid, recs in hops.items():
    src = produced[sid]
    recs.sort(key=lambda r: (RETRY_HOPS[r["topic"]], r["offset"]))
    # the record each attempt processed: the source, then the retry-topic records made from it
    processed = {(src["topic"], src["partition"], src["offset"])} | {(r["topic"], r["partition"], str(r["offset"])) for r in recs}
    mine = sorted((a for a in attempts if a["handler"] == "retries" and (a["topic"], a["partition"], a["offset"]) in processed), key=lambda a: a["at"])
    fails = [a for a in mine if a["outcome"] == "threw"]
    if len(fails) != len(recs):
        raise SystemExit(f"join: {sid}: {len(fails)} failed attempts but {len(recs)} retry/DLQ records")
    for n, (rec, f) in enumerate(zip(recs, fails), start=1):
        truth.append({
            "dlq": {"topic": rec["topic"], "partition": rec["partition"], "offset": rec["offset"]},
            "source": {k: src[k] for k in ("topic", "partition", "offset", "key", "value", "headers", "timestamp")},
            "error": one_level(f["error"]),
            "reason": None,
            "attempts": n,
            "failedAt": f["at"],
            "extra": {
                "case": sid,
                "failure": "delayed-retry",
                "hop": "dlq" if rec["topic"] == "smallrye-retries-dlq" else "retry",
                "failedRecord": {"topic": f["topic"], "partition": f["partition"], "offset": f["offset"]},
                "handler": f["handler"],
                "group": f["group"],
                "errorChain": chain(f["error"]),
                "dlqKeyEqualsSource": raw(rec["key"]) == raw(src["key"]),
                "dlqValueEqualsSource": raw(rec["value"]) == raw(src["value"]),
                "succeededLater": any(a["outcome"] == "ok" for a in mine),
            },
        })

truth.sort(key=lambda t: (t["dlq"]["topic"], t["dlq"]["partition"], t["dlq"]["offset"]))
with open(f"{out}/truth.ndjson", "w", encoding="utf-8") as f:
    for t in truth:
        f.write(json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n")


def version(ga):
    m = re.search(rf"^{re.escape(ga)}::jar:(\S+)$", deps, re.M)
    return m.group(1) if m else None


libs = {
    "smallrye-reactive-messaging-kafka": version("io.smallrye.reactive:smallrye-reactive-messaging-kafka"),
    "quarkus-messaging-kafka": version("io.quarkus:quarkus-messaging-kafka"),
    "kafka-clients": version("org.apache.kafka:kafka-clients"),
    "vertx-core": version("io.vertx:vertx-core"),
}
capture = {
    "writer": "smallrye",
    "library": {"name": "smallrye-reactive-messaging-kafka", "version": libs["smallrye-reactive-messaging-kafka"],
                "source": "Maven Central io.quarkus:quarkus-messaging-kafka under io.quarkus:quarkus-bom 3.33.2"},
    "libraries": libs,
    "runtime": f"java {java_version}, Quarkus {libs['quarkus-messaging-kafka']} (java -jar target/quarkus-app/quarkus-run.jar)",
    "store": "kafka",
    "dlq": ["dead-letter-topic-smallrye-orders", "smallrye-payments-dlq", "dead-letter-topic-smallrye-events",
            "smallrye-retries_retry_500", "smallrye-retries_retry_1000", "smallrye-retries-dlq"],
    "sources": ["smallrye-orders", "smallrye-payments", "smallrye-events", "smallrye-retries"],
    "capturedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "notes": [
        "Channels orders, payments, events: connector smallrye-kafka, failure-strategy=dead-letter-queue, auto.offset.reset=earliest, no retries. "
        "DLQ topics were created beforehand with 2 partitions; the DLQ producer picks the partition (key hash).",
        "smallrye-orders (3 partitions, StringDeserializer key and value) -> dead-letter-topic-smallrye-orders (the default name): "
        "@Incoming void orders(ConsumerRecord<String,String>) throws; one source has a non-UTF-8 key, one a null value.",
        "smallrye-payments (2 partitions, String) -> smallrye-payments-dlq (dead-letter-queue.topic): "
        "@Incoming CompletionStage<Void> payments(Message<String>) calls message.nack(new PaymentRejected(...)).",
        "smallrye-events (2 partitions, UUIDDeserializer key, Quarkus JsonObjectDeserializer value, fail-on-deserialization-failure=false) "
        "-> dead-letter-topic-smallrye-events: one bad JSON value, one key that is not a UUID (both routed by the connector, the "
        "handler never runs), one valid record with whitespace that the handler rejects (the DLQ producer re-serialises the JsonObject).",
        "smallrye-retries (2 partitions, String) with failure-strategy=delayed-retry-topic: delayed-retry-topic.topics="
        "smallrye-retries_retry_500,smallrye-retries_retry_1000 (max-retries = 2, the number of topics), dead-letter-queue.topic="
        "smallrye-retries-dlq; retry topics and DLQ created beforehand with 2 partitions (SmallRye keeps the failed record's partition). "
        "ret-2 fails every attempt (source -> retry_500 -> retry_1000 -> DLQ), ret-3 fails once and succeeds from retry_500. "
        "Their truth.source is the ROOT record on smallrye-retries, extra.failedRecord the record the handler failed on, "
        "truth.attempts the attempts made up to that hop; extra.group is the channel's group (retry topics are read by SmallRye's "
        "own retry consumer).",
        "truth.error: what the handler threw or nacked with; for deserialization failures, what the channel's deserializer class throws "
        "for the source bytes (the program runs the same deserializer on them). truth.attempts is 1 on the dead-letter-queue channels (no retries; "
        "deserialization failures: deserialized once, the handler never ran).",
        "truth.failedAt: the moment the handler threw or nacked; null for deserialization failures (the app never sees them).",
    ],
}
with open(f"{out}/capture.json", "w", encoding="utf-8") as f:
    json.dump(capture, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(f"join: {len(truth)} truth lines -> {out}/truth.ndjson", file=sys.stderr)
