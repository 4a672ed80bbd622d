#!/usr/bin/env python3
"""Joins what ConnectCapture recorded to the dumped DLQ and writes OUT/truth.ndjson and OUT/capture.json.

  join.py WORK OUT JAVA_VERSION CLASSPATH

WORK/events.ndjson: each source record as produced (bytes + the broker's ack) and the failure Connect's own
JsonConverter / ExtractField raise for exactly those bytes (stage, executing class, exception chain).
WORK/connect.log: the worker's log; with errors.log.enable each failed record is reported by LogReporter
with its stage, class and {topic, partition, offset, timestamp}: that is Connect's own word on which
record failed, and it must agree with the computed failure (the join stops if it does not).
A dumped DLQ record is matched to its source by its value bytes (unique per source), not by the
__connect.errors.* headers, so the truth does not depend on what Connect wrote about itself.
"""
import base64
import json
import re
import sys
import time

work, out, java_version, classpath = sys.argv[1:5]
events = [json.loads(l) for l in open(f"{work}/events.ndjson", encoding="utf-8") if l.strip()]
dump = [json.loads(l) for l in open(f"{out}/kafka.ndjson", encoding="utf-8") if l.strip()]

REPORT = re.compile(
    r"^(\d+) ERROR \[[^\]]*\] org\.apache\.kafka\.connect\.runtime\.errors\.LogReporter: Error encountered in task (\S+)\. "
    r"Executing stage '(\w+)' with class '([^']+)', where consumed record is \{topic='([^']+)', partition=(\d+), offset=(\d+), "
    r"timestamp=(-?\d+), timestampType=(\w+)\}\.$")
reports = {}
lines = open(f"{work}/connect.log", encoding="utf-8", errors="replace", newline="").read().split("\n")
for i, line in enumerate(lines):
    m = REPORT.match(line)
    if not m:
        continue
    at, task, stage, cls, topic, part, off, ts, tstype = m.groups()
    # the exception follows: "<class>: <message, possibly several lines>" up to the first "\tat " frame
    exc = []
    for l in lines[i + 1:]:
        if l.startswith("\tat "):
            break
        exc.append(l)
    head = "\n".join(exc)
    eclass, _, emsg = head.partition(": ")
    # only this report's own causes: stop at the next report
    nxt = next((j for j in range(i + 1, len(lines)) if REPORT.match(lines[j])), len(lines))
    causes = [l[len("Caused by: "):] for l in lines[i + 1:nxt] if l.startswith("Caused by: ")]
    reports[(topic, int(part), off)] = {
        "at": int(at), "task": task, "stage": stage, "class": cls, "timestamp": int(ts), "timestampType": tstype,
        "exception": {"class": eclass, "message": emsg if head.find(": ") >= 0 else None}, "causedBy": causes,
    }

produced = [e for e in events if e["kind"] == "produced"]


def raw(b64):
    return None if b64 is None else base64.b64decode(b64)


def chain(err):
    out = []
    while err:
        out.append({"class": err["class"], "message": err["message"]})
        err = err.get("cause")
    return out


truth = []
for rec in dump:
    hits = [p for p in produced if raw(p["value"]) == raw(rec["value"])]
    if len(hits) != 1:
        raise SystemExit(f"join: DLQ offset {rec['offset']} matches {len(hits)} sources")
    src = hits[0]
    exp = src["expected"]
    if exp is None:
        raise SystemExit(f"join: {src['id']} reached the DLQ but its bytes convert and transform without error here")
    rep = reports.get((src["topic"], src["partition"], src["offset"]))
    if rep is None:
        raise SystemExit(f"join: Connect's log does not report {src['id']} ({src['topic']}/{src['partition']}/{src['offset']})")
    if (rep["stage"], rep["class"], rep["exception"]["class"]) != (exp["stage"], exp["class"], exp["error"]["class"]):
        raise SystemExit(f"join: {src['id']}: Connect reports {rep['stage']}/{rep['class']}/{rep['exception']['class']}, computed {exp}")
    # log4j2 prints a null message as "null"
    logged = None if rep["exception"]["message"] == "null" and exp["error"]["message"] is None else rep["exception"]["message"]
    if logged != exp["error"]["message"]:
        raise SystemExit(f"join: {src['id']}: Connect logged message {rep['exception']['message']!r}, computed {exp['error']['message']!r}")
    full = chain(exp["error"])
    truth.append({
        "dlq": {"topic": rec["topic"], "partition": rec["partition"], "offset": rec["offset"]},
        "source": {k: src[k] for k in ("topic", "partition", "offset", "key", "value", "headers", "timestamp")},
        "error": exp["error"],
        "reason": None,
        "attempts": 1,
        "failedAt": rep["at"],
        "extra": {
            "case": src["id"],
            "connector": "connect-orders-sink",
            "task": 0,
            "group": "connect-connect-orders-sink",
            "stage": exp["stage"],
            "stageClass": exp["class"],
            "rootCause": full[-1],
            "logReport": {"task": rep["task"], "at": rep["at"], "causedBy": rep["causedBy"]},
            "failedAtIs": "the worker's log time of LogReporter's report (ms); the DLQ record itself keeps the source timestamp",
        },
    })

missing = [p["id"] for p in produced if p["expected"] is not None and p["id"] not in {t["extra"]["case"] for t in truth}]
if missing:
    raise SystemExit(f"join: expected in the DLQ but not found: {missing}")
truth.sort(key=lambda t: (t["dlq"]["topic"], t["dlq"]["partition"], t["dlq"]["offset"]))
with open(f"{out}/truth.ndjson", "w", encoding="utf-8") as f:
    for t in truth:
        f.write(json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n")


def version(artifact):
    m = re.search(rf"/{re.escape(artifact)}-([0-9][^/]*?)\.jar", classpath)
    return m.group(1) if m else None


good = [p["id"] for p in produced if p["expected"] is None]
capture = {
    "writer": "kafka-connect",
    "library": {"name": "connect-runtime", "version": version("connect-runtime"), "source": "Maven Central org.apache.kafka:connect-runtime"},
    "libraries": {a: version(a) for a in ("connect-runtime", "connect-json", "connect-file", "connect-transforms", "kafka-clients", "jackson-databind")},
    "runtime": f"java {java_version}",
    "store": "kafka",
    "dlq": ["connect-orders-dlq"],
    "sources": ["connect-orders"],
    "capturedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "notes": [
        "ConnectStandalone (child JVM) with FileStreamSinkConnector 'connect-orders-sink', tasks.max=1, topics=connect-orders (2 partitions); "
        "key.converter JsonConverter schemas.enable=false, value.converter JsonConverter schemas.enable=true, "
        "transforms: dlq.capture.RejectFlagged (a user SMT in the capture jar: throws for records with a `reject` header, "
        "one exception with a null message, one with CR LF and a tab in it), then ExtractField$Value(field=id); errors.tolerance=all, errors.log.enable=true, "
        "errors.deadletterqueue.topic.name=connect-orders-dlq (1 partition), context.headers.enable=true, replication.factor=1.",
        f"sources that the sink wrote (not dead-lettered): {', '.join(good)}.",
        "truth.error is what JsonConverter / ExtractField$Value throw for the source bytes in the capture JVM; the join checks it "
        "against Connect's LogReporter line (stage, class, coordinates, exception class and message) for the same record.",
        "truth.attempts is 1: errors.retry.timeout is 0 (Connect's default), so a failing stage runs once.",
        "truth.failedAt is the log time of LogReporter's report; the DLQ record's timestamp is the source record's (Connect copies it).",
        "the JsonConverter's DataException for unparseable bytes says only 'Converting byte[] to Kafka Connect data failed due to "
        "serialization error: '; what failed is in the cause chain (extra.rootCause) and only the stack trace header carries it.",
    ],
}
with open(f"{out}/capture.json", "w", encoding="utf-8") as f:
    json.dump(capture, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(f"join: {len(truth)} truth lines -> {out}/truth.ndjson", file=sys.stderr)
