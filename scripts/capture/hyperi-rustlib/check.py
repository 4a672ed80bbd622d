#!/usr/bin/env python3
"""Reads the committed hyperi-rustlib capture with the CURRENT dlq and lists every field that disagrees
with truth (the evidence behind fixtures/captured/hyperi-rustlib/FINDINGS.md).

  python3 scripts/capture/hyperi-rustlib/check.py [REDIS_URL]     (run from the repo root, after npm run build)

Files: copies files/ into a temp dir, runs `./bin/run.js inspect DIR --json` on the root and on each
service directory. Redis: XADDs redis.ndjson with its exact ids and field bytes into a fresh stream
(hyperi-check-<random>, deleted afterwards; needs redis-py, e.g. the capture venv) and inspects it.
Integers are compared from the raw JSON text (Python ints are exact), so precision loss shows.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timezone

CAP = "fixtures/captured/hyperi-rustlib"
RUN = ["node", "bin/run.js", "inspect"]
problems = []


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def inspect(source):
    p = subprocess.run(RUN + [source, "--json", "--limit", "5000", "--payload-limit", "1048576"],
                       capture_output=True, text=True)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip() else None, p.stderr


def reading_order(path):
    """The crate's own order: rotated files by name timestamp, then by .N (none first), then the live file."""
    name = path.split("/")[-1].removesuffix(".gz")
    if name == "dlq.ndjson":
        return (1, "", 0)
    rest = name[len("dlq.ndjson."):].split(".")
    return (0, rest[0], int(rest[1]) + 1 if len(rest) > 1 else 0)


def payload_bytes(p):
    if p is None:
        return None
    if "text" in p:
        return p["text"].encode("utf-8")
    if "base64" in p:
        return base64.b64decode(p["base64"])
    return None


def compare(where, item, t):
    def bad(field, shown, truth):
        problems.append({"where": where, "case": t["extra"]["case"], "field": field, "dlq": shown, "truth": truth})

    src = t["source"]
    if item["convention"] != "hyperi":
        bad("convention", item["convention"], "hyperi")
    if item["timestamp"] != iso(t["failedAt"]):
        bad("timestamp", item["timestamp"], iso(t["failedAt"]))
    if item["deadLetteredAt"] != iso(t["failedAt"]):
        bad("deadLetteredAt", item["deadLetteredAt"], iso(t["failedAt"]))
    for f in ("topic", "partition"):
        if item["source"][f] != src[f]:
            bad(f"source.{f}", item["source"][f], src[f])
    shown_off = item["source"]["offset"]
    if (None if shown_off is None else str(shown_off)) != src["offset"]:
        bad("source.offset", shown_off, src["offset"])
    if item["reason"] != t["reason"]:
        bad("reason", item["reason"], t["reason"])
    if item["retries"] != t["attempts"]:
        bad("retries", item["retries"], t["attempts"])
    want = base64.b64decode(src["value"])
    pl = item["payload"]
    if pl is None or pl["size"] != len(want):
        bad("payload.size", None if pl is None else pl["size"], len(want))
    got = payload_bytes(pl)
    if got is None or (pl["truncated"] and not want.startswith(got)) or (not pl["truncated"] and got != want):
        bad("payload.bytes", None if got is None else f"{len(got)} bytes, truncated={pl['truncated']}", f"{len(want)} bytes")
    elif pl["truncated"]:
        bad("payload.truncated", f"shows {len(got)} of {len(want)} bytes (--payload-limit max)", "whole payload")
    if item["key"] is not None:
        bad("key", item["key"], None)
    if item["headers"] != {}:
        bad("headers", item["headers"], {})
    md = item["metadata"]
    if md.get("service") != t["extra"]["service"]:
        bad("metadata.service", md.get("service"), t["extra"]["service"])
    if md.get("destination") != t["extra"]["destination"]:
        bad("metadata.destination", md.get("destination", "<absent>"), t["extra"]["destination"])


def main():
    truth = [json.loads(l) for l in open(f"{CAP}/truth.ndjson", encoding="utf-8")]
    tmp = tempfile.mkdtemp(prefix="hyperi-check-")
    try:
        shutil.copytree(f"{CAP}/files", tmp, dirs_exist_ok=True)
        rc, doc, err = inspect(tmp)
        print(f"root {tmp}: exit {rc}: {(doc or {}).get('error', {}).get('message') if doc and 'error' in doc else err.strip()[:200] or 'ok'}")
        for svc in sorted(os.listdir(tmp)):
            rc, doc, err = inspect(os.path.join(tmp, svc))
            if rc != 0:
                problems.append({"where": svc, "field": "(read)", "dlq": err.strip()[:300], "truth": "readable"})
                continue
            # expected order: rotated files by name timestamp then .N, then the live file; lines in order
            mine = sorted((t for t in truth if "file" in (t["dlq"] or {}) and t["dlq"]["file"].startswith(svc + "/")),
                          key=lambda t: (reading_order(t["dlq"]["file"]), t["dlq"]["line"]))
            print(f"{svc}: dlq shows {len(doc['items'])} records, {len(doc['unreadable'])} unreadable; truth has {len(mine)}")
            if len(doc["items"]) != len(mine):
                problems.append({"where": svc, "field": "(count)", "dlq": len(doc["items"]), "truth": len(mine)})
            by_payload = {t["source"]["value"]: t for t in mine}
            for i, item in enumerate(doc["items"]):
                want = mine[i] if i < len(mine) else None
                # order check by payload identity (the payload is unique per store)
                got = payload_bytes(item["payload"])
                exact = base64.b64encode(got).decode() if got is not None else None
                t = by_payload.get(exact) or next((t for v, t in by_payload.items() if item["payload"]["truncated"]
                                                   and base64.b64decode(v).startswith(got)), None)
                if t is None:
                    problems.append({"where": f"{svc}#{i}", "field": "(join)", "dlq": item["position"], "truth": "no truth line"})
                    continue
                if want is not None and t is not want:
                    problems.append({"where": f"{svc}#{i}", "field": "(order)", "dlq": t["dlq"], "truth": want["dlq"]})
                compare(f"{svc} position {item['position']} ({t['dlq']['file']}:{t['dlq']['line']})", item, t)
        url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:16379"
        check_redis(url, truth)
    finally:
        shutil.rmtree(tmp)
    for p in problems:
        print(json.dumps(p, ensure_ascii=True))
    print(f"{len(problems)} disagreements")


def check_redis(url, truth):
    import redis
    r = redis.Redis.from_url(url)
    stream = f"hyperi-check-{uuid.uuid4().hex[:8]}"
    rows = [json.loads(l) for l in open(f"{CAP}/redis.ndjson", encoding="utf-8")]
    try:
        for row in rows:
            args = []
            for f in row["fields"]:
                args += [base64.b64decode(f["name"]), base64.b64decode(f["value"])]
            r.execute_command("XADD", stream, row["id"], *args)
        base = url.rstrip("/")
        rc, doc, err = inspect(f"{base}/{stream}")
        if rc != 0:
            problems.append({"where": "redis", "field": "(read)", "dlq": err.strip()[:300], "truth": "readable"})
            return
        by_id = {t["dlq"]["id"]: t for t in truth if "stream" in (t["dlq"] or {})}
        print(f"redis {stream}: dlq shows {len(doc['items'])} records, {len(doc['unreadable'])} unreadable; truth has {len(by_id)}")
        for item in doc["items"]:
            t = by_id.get(item["position"])
            if t is None:
                problems.append({"where": "redis", "field": "position", "dlq": item["position"], "truth": sorted(by_id)})
                continue
            compare(f"redis {item['position']}", item, t)
            extra = {k: v for k, v in item["metadata"].items() if k not in ("service", "destination")}
            if extra:
                problems.append({"where": f"redis {item['position']}", "case": t["extra"]["case"], "field": "metadata(extra)", "dlq": extra, "truth": {}})
    finally:
        r.delete(stream)


if __name__ == "__main__":
    main()
