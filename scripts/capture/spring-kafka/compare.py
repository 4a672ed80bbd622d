#!/usr/bin/env python3
"""Lists every field where `dlq inspect --json` disagrees with a capture's truth (input for FINDINGS.md).

  compare.py fixtures/captured/WRITER [BROKERS]

Reads the DLQ topics named in capture.json from BROKERS (default 127.0.0.1:19092), which must hold the
capture byte for byte (a capture run leaves them so; otherwise load kafka.ndjson first), with the built
CLI (./bin/run.js, run `npm run build` first), and prints one block per DLQ record.
"""
import base64
import json
import subprocess
import sys
from datetime import datetime, timezone

cap_dir = sys.argv[1]
brokers = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1:19092"
capture = json.load(open(f"{cap_dir}/capture.json"))
truth = {(t["dlq"]["topic"], t["dlq"]["partition"], t["dlq"]["offset"]): t for t in map(json.loads, open(f"{cap_dir}/truth.ndjson"))}
dump = {(r["topic"], r["partition"], r["offset"]): r for r in map(json.loads, open(f"{cap_dir}/kafka.ndjson"))}


def raw(b64):
    return None if b64 is None else base64.b64decode(b64)


def shown_bytes(v):
    """dlq shows text as a string and other bytes as {base64}."""
    if v is None:
        return None
    if isinstance(v, dict) and "base64" in v:
        return base64.b64decode(v["base64"])
    if isinstance(v, dict) and "text" in v:
        return v["text"].encode()
    return v.encode() if isinstance(v, str) else json.dumps(v).encode()


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def err_text(e):
    if e is None:
        return None
    parts = [f"{e['class']}: {e['message']}"]
    c = e.get("cause")
    while c:
        parts.append(f"caused by {c['class']}: {c['message']}")
        c = c.get("cause")
    return " / ".join(parts)


for topic in capture["dlq"]:
    out = subprocess.run(["./bin/run.js", "inspect", f"kafka://{brokers}/{topic}", "--json", "--payload-limit", "1048576", "-n", "5000"],
                         capture_output=True, text=True, check=True).stdout
    page = json.loads(out)
    for m in page["items"]:
        p, o = (int(x) for x in m["position"].split(":"))
        t = truth.get((topic, p, o))
        d = dump[(topic, p, o)]
        diffs = []
        if t is None:
            print(f"== {topic} {p}:{o}: no truth line")
            continue
        src = t["source"]
        s = m.get("source") or {}
        for f, want in (("topic", src["topic"]), ("partition", src["partition"]), ("offset", src["offset"])):
            got = s.get(f)
            if str(got) != str(want):
                diffs.append(f"source.{f}: dlq {got!r}, truth {want!r}")
        if shown_bytes(m.get("key")) != raw(src["key"]):
            diffs.append(f"key: dlq {m.get('key')!r}, truth {raw(src['key'])!r}")
        pay = m.get("payload") or {}
        pb = shown_bytes(pay) if pay else None
        if pb != raw(src["value"]):
            diffs.append(f"payload: dlq {pb!r}, truth source value {raw(src['value'])!r}"
                         + (" (the DLT record's own value equals what dlq shows)" if pb == raw(d["value"]) else ""))
        want_h = {}
        for h in src["headers"] or []:
            want_h.setdefault(h["key"], []).append(raw(h["value"]))
        got_h = {}
        for k, v in (m.get("headers") or {}).items():
            vs = v if isinstance(v, list) else [v]
            got_h[k] = [shown_bytes(x) for x in vs]
        for k in sorted(set(want_h) | set(got_h)):
            if want_h.get(k) != got_h.get(k):
                gv = got_h.get(k)
                gv_s = None if gv is None else [x if x is None or len(x) < 80 else x[:80] + b"..." for x in gv]
                diffs.append(f"header {k!r}: dlq {gv_s!r}, truth {want_h.get(k)!r}")
        want_reason = err_text(t["error"])
        diffs.append(f"reason: dlq {m.get('reason')!r} | truth error {want_reason!r} | root cause {t['extra'].get('rootCause')}")
        if m.get("retries") != t["attempts"]:
            diffs.append(f"retries: dlq {m.get('retries')!r}, truth attempts {t['attempts']!r}")
        if m.get("deadLetteredAt") != (iso(t["failedAt"]) if t["failedAt"] else None):
            diffs.append(f"deadLetteredAt: dlq {m.get('deadLetteredAt')!r}, truth failedAt {iso(t['failedAt']) if t['failedAt'] else None}"
                         f" (record timestamp {iso(d['timestamp'])}, source timestamp {iso(src['timestamp'])})")
        if m.get("timestamp") != iso(d["timestamp"]):
            diffs.append(f"timestamp: dlq {m.get('timestamp')!r}, record {iso(d['timestamp'])}")
        diffs.append(f"convention: {m.get('convention')!r}")
        print(f"== {topic} {p}:{o} ({t['extra'].get('case')})")
        for x in diffs:
            print("   " + x)
    if page.get("unreadable"):
        print(f"== {topic}: unreadable {page['unreadable']}")
