#!/usr/bin/env python3
"""Confluent Schema Registry payloads: what real producers write with confluent_kafka.schema_registry.

  capture.py BROKERS REGISTRY_URL OUT_DIR DUMP_PY PROTO_DIR

1. deletes and recreates the topic confluent-sr-dlq (1 partition);
2. produces to it, in order, records serialized by the REAL AvroSerializer, ProtobufSerializer
   (order.proto imports common/money.proto, registered as a reference, and the well-known
   google/protobuf/timestamp.proto and wrappers.proto, which are not) and JSONSerializer, with
   RecordNameStrategy subjects (one DLQ topic holds several record types, as a DLQ does);
3. adds the bad cases a decoder meets. Those bytes are made by hand, each from a real serialization
   where it has one: an unknown schema id, Avro cut short, JSON that breaks its schema (the real
   JSONSerializer refuses to write it), bytes that are not JSON, bytes that are not Protobuf, and
   payloads that start with a 0x00 byte by coincidence (UTF-16BE text; two bytes);
4. dumps the topic with lib/dump.py, the schemas behind every id the records use (with their
   subjects, versions and references, references first) into schemas.json, and writes
   truth.ndjson: per record the `case`, the format, and the value the producer serialized, as JSON
   (the rendering is documented in docs/schema-registry.md: Avro bytes/fixed base64, decimal as a
   decimal string, timestamp-millis as ISO-8601, date as YYYY-MM-DD, uuid as text, unions unwrapped;
   Protobuf in the proto3 JSON mapping: lowerCamelCase names, 64-bit integers as strings, enums by
   name, bytes base64, Timestamp as RFC 3339, wrappers as their value).

Every record carries a unique `case` header, used to join the dump back to the truth.
"""
import base64
import json
import platform
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import date, datetime, timezone
from decimal import Decimal
from importlib.metadata import version
from uuid import UUID

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient, record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf.timestamp_pb2 import Timestamp
from google.protobuf.wrappers_pb2 import StringValue

import order_pb2  # compiled by capture.sh with grpcio-tools' protoc
from common import money_pb2

TOPIC = "confluent-sr-dlq"
BASE_TS = 1764498000000

PAYMENT = {
    "type": "record", "name": "Payment", "namespace": "dlq.capture",
    "fields": [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "currency", "type": {"type": "enum", "name": "Currency", "symbols": ["EUR", "USD", "GBP"]}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "card", "type": ["null", {"type": "record", "name": "Card", "fields": [
            {"name": "last4", "type": "string"},
            {"name": "fingerprint", "type": {"type": "fixed", "name": "Fingerprint", "size": 8}},
        ]}], "default": None},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "raw", "type": "bytes"},
        {"name": "score", "type": "double"},
        {"name": "ok", "type": "boolean"},
    ],
}
ORDER_KEY = {"type": "record", "name": "PaymentKey", "namespace": "dlq.capture", "fields": [{"name": "id", "type": "string"}]}
SHIPMENT = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Shipment",
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "weight": {"type": "number", "minimum": 0},
        "to": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}},
        "items": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["id", "weight"],
}


def b64(b):
    return base64.b64encode(b).decode("ascii")


def payment(n, card=True, note="first try", attrs=None):
    return {
        "id": UUID(f"00000000-0000-4000-8000-{n:012d}"),
        "amount": Decimal("1234.50") + n,
        "currency": "EUR" if n % 2 else "USD",
        "at": datetime(2026, 11, 30, 10, 0, n, 123000, tzinfo=timezone.utc),
        "day": date(2026, 11, 30),
        "card": {"last4": f"{4240 + n}", "fingerprint": bytes([n, 1, 2, 3, 4, 5, 6, 0xFF])} if card else None,
        "note": note,
        "tags": ["vip", f"n{n}"],
        "attrs": attrs if attrs is not None else {"tries": n},
        "raw": b"\x00\x01binary\xff",
        "score": 0.5 + n,
        "ok": n % 2 == 0,
    }


def payment_json(p):
    """The Payment as dlq renders it (see the module doc)."""
    return {
        "id": str(p["id"]),
        "amount": str(p["amount"]),
        "currency": p["currency"],
        "at": p["at"].isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "day": p["day"].isoformat(),
        "card": None if p["card"] is None else {"last4": p["card"]["last4"], "fingerprint": b64(p["card"]["fingerprint"])},
        "note": p["note"],
        "tags": p["tags"],
        # longs beyond 2^53 are exact: written as text here, compared as integers by the tests
        "attrs": {k: (v if abs(v) <= 2**53 else str(v)) for k, v in p["attrs"].items()},
        "raw": b64(p["raw"]),
        "score": p["score"],
        "ok": p["ok"],
    }


def ts(seconds, nanos):
    t = Timestamp()
    t.seconds, t.nanos = seconds, nanos
    return t


def order(n):
    o = order_pb2.Order(
        id=f"o-{n}",
        total=money_pb2.Money(currency="EUR", units=42 + n, nanos=500000000),
        placed_at=ts(1764496800 + n, 250000000),
        lines=[order_pb2.Order.Line(sku="sku-1", qty=2), order_pb2.Order.Line(sku="sku-2", qty=1)],
        status=order_pb2.Order.STATUS_PAID,
        signature=b"\xde\xad\xbe\xef",
        coupon=StringValue(value="XMAS"),
        customer_id=9007199254740993 + n,
    )
    return o


def order_json(o):
    return {
        "id": o.id,
        "total": {"currency": o.total.currency, "units": str(o.total.units), "nanos": o.total.nanos},
        "placedAt": datetime.fromtimestamp(o.placed_at.seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{o.placed_at.nanos // 1000000:03d}Z",
        "lines": [{"sku": l.sku, "qty": l.qty} for l in o.lines],
        "status": order_pb2.Order.Status.Name(o.status),
        "signature": b64(o.signature),
        "coupon": o.coupon.value,
        "customerId": str(o.customer_id),
    }


def prefix(schema_id):
    return b"\x00" + schema_id.to_bytes(4, "big")


def main():
    brokers, registry, out_dir, dump_py, _proto_dir = sys.argv[1:6]
    admin = AdminClient({"bootstrap.servers": brokers})
    if TOPIC in admin.list_topics(timeout=10).topics:
        for f in admin.delete_topics([TOPIC]).values():
            f.result()
        time.sleep(1.5)
    for f in admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)]).values():
        f.result()

    sr = SchemaRegistryClient({"url": registry})
    conf = {"auto.register.schemas": True, "subject.name.strategy": record_subject_name_strategy}
    avro_value = AvroSerializer(sr, json.dumps(PAYMENT), conf=conf)
    avro_key = AvroSerializer(sr, json.dumps(ORDER_KEY), conf=conf)
    proto_order = ProtobufSerializer(order_pb2.Order, sr, conf={**conf, "use.deprecated.format": False})
    proto_line = ProtobufSerializer(order_pb2.Order.Line, sr, conf={**conf, "use.deprecated.format": False})
    proto_refund = ProtobufSerializer(order_pb2.Refund, sr, conf={**conf, "use.deprecated.format": False})
    json_value = JSONSerializer(json.dumps(SHIPMENT), sr, conf=conf)
    vctx = SerializationContext(TOPIC, MessageField.VALUE)
    kctx = SerializationContext(TOPIC, MessageField.KEY)

    big = 9007199254740993  # 2^53 + 1: exact only as a 64-bit integer
    p0, p1 = payment(0), payment(1, card=False, note=None, attrs={"tries": 3, "big": big})
    money = money_pb2.Money
    o0 = order(0)
    line = order_pb2.Order.Line(sku="sku-9", qty=7)
    refund = order_pb2.Refund(order_id="o-0", amount=money(currency="EUR", units=5), reason="damaged")
    shipment = {"id": "s-1", "weight": 2.5, "to": {"city": "Zürich", "zip": "8001"}, "items": [1, 2, 3]}

    avro0 = avro_value(p0, vctx)
    payment_id = int.from_bytes(avro0[1:5], "big")
    proto0 = proto_order(o0, vctx)
    order_id = int.from_bytes(proto0[1:5], "big")
    json0 = json_value(shipment, vctx)
    shipment_id = int.from_bytes(json0[1:5], "big")
    unknown_id = 0x7FFFFF00

    # (case, key bytes, value bytes, format, expected decoded value or None, expected note kind, expected decoded key)
    cases = [
        ("avro-payment", b"pay-0", avro0, "avro", payment_json(p0), None, None),
        ("avro-payment-nulls-avro-key", avro_key({"id": "pay-1"}, kctx), avro_value(p1, vctx), "avro", payment_json(p1), None, {"id": "pay-1"}),
        ("protobuf-order", b"o-0", proto0, "protobuf", order_json(o0), None, None),
        ("protobuf-nested-line", b"o-0-line", proto_line(line, vctx), "protobuf", {"sku": "sku-9", "qty": 7}, None, None),
        ("protobuf-refund", b"o-0-refund", proto_refund(refund, vctx), "protobuf",
         {"orderId": "o-0", "amount": {"currency": "EUR", "units": "5"}, "reason": "damaged"}, None, None),
        ("json-shipment", b"s-1", json0, "json", shipment, None, None),
        ("bad-unknown-schema-id", b"bad-1", prefix(unknown_id) + avro0[5:], None, None, "unknown-schema", None),
        ("bad-avro-truncated", b"bad-2", avro0[: 5 + (len(avro0) - 5) // 2], "avro", None, "mismatch", None),
        ("bad-json-breaks-schema", b"bad-3", prefix(shipment_id) + b'{"id":"s-2","weight":-5}', "json",
         {"id": "s-2", "weight": -5}, "mismatch", None),
        ("bad-json-not-json", b"bad-4", prefix(shipment_id) + b"not json{", "json", None, "mismatch", None),
        ("bad-protobuf-garbage", b"bad-5", prefix(order_id) + b"\x00\xff\xff\xff\xff", "protobuf", None, "mismatch", None),
        ("coincidence-utf16be", b"plain-1", "hello, world".encode("utf-16-be"), None, None, "unknown-schema", None),
        ("coincidence-short", b"plain-2", b"\x00\x01", None, None, None, None),
        ("plain-json", b"plain-3", b'{"plain":true}', None, None, None, None),
        ("avro-tombstone", b"pay-0", None, None, None, None, None),
    ]

    p = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "linger.ms": 0})
    truth_by_case = {}
    for i, (case, key, value, fmt, expected, note, key_expected) in enumerate(cases):
        p.produce(TOPIC, key=key, value=value, headers=[("case", case.encode())], partition=0, timestamp=BASE_TS + i * 1000)
        truth_by_case[case] = {"format": fmt, "value": expected, "note": note, "key": key_expected}
    p.flush(30)

    dump = f"{out_dir}/kafka.ndjson"
    subprocess.run([sys.executable, dump_py, "kafka", brokers, dump, TOPIC], check=True)

    # Every schema id the records carry (payloads and keys), with its subject/version and references.
    rows = [json.loads(l) for l in open(dump, encoding="utf-8")]
    ids = []
    for r in rows:
        if truth_by_case[case_of(r)]["note"] == "unknown-schema":
            continue
        for field in ("key", "value"):
            b = base64.b64decode(r[field]) if r[field] else b""
            if len(b) >= 5 and b[0] == 0 and int.from_bytes(b[1:5], "big") not in ids:
                ids.append(int.from_bytes(b[1:5], "big"))
    schemas = []
    seen = set()

    def get(path):
        with urllib.request.urlopen(registry + path) as resp:
            return json.loads(resp.read())

    def add_version(subject, ver):
        v = get(f"/subjects/{urllib.parse.quote(subject, safe='')}/versions/{ver}")
        for ref in v.get("references") or []:
            add_version(ref["subject"], ref["version"])
        if v["id"] not in seen:
            seen.add(v["id"])
            schemas.append({"id": v["id"], "subject": v["subject"], "version": v["version"],
                            "schemaType": v.get("schemaType", "AVRO"), "schema": v["schema"],
                            "references": v.get("references") or []})

    for sid in ids:
        for sv in get(f"/schemas/ids/{sid}/versions"):
            add_version(sv["subject"], sv["version"])
            break
    with open(f"{out_dir}/schemas.json", "w", encoding="utf-8") as f:
        json.dump({"registry": "Apicurio Registry 3.3.3 (Confluent API /apis/ccompat/v7)", "unknownSchemaId": unknown_id,
                   "schemas": schemas}, f, indent=2, ensure_ascii=False)
        f.write("\n")

    with open(f"{out_dir}/truth.ndjson", "w", encoding="utf-8") as f:
        for r in rows:
            case = case_of(r)
            t = truth_by_case[case]
            f.write(json.dumps({
                "dlq": {"topic": r["topic"], "partition": r["partition"], "offset": r["offset"]},
                "source": {"topic": None, "partition": None, "offset": None, "key": r["key"], "value": r["value"],
                           "headers": r["headers"], "timestamp": r["timestamp"]},
                "error": None, "reason": None, "attempts": None, "failedAt": None,
                "extra": {"case": case, "format": t["format"], "decoded": t["value"], "decodedKey": t["key"], "note": t["note"]},
            }, ensure_ascii=False, separators=(",", ":")) + "\n")

    capture = {
        "writer": "confluent-sr",
        "library": {"name": "confluent-kafka (confluent_kafka.schema_registry AvroSerializer, ProtobufSerializer, JSONSerializer)",
                    "version": version("confluent-kafka"), "fastavro": version("fastavro"), "protobuf": version("protobuf"),
                    "jsonschema": version("jsonschema")},
        "runtime": f"Python {platform.python_version()}",
        "registry": "Apicurio Registry 3.3.3, Confluent API at /apis/ccompat/v7, in-memory storage",
        "store": "kafka",
        "dlq": [TOPIC],
        "capturedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "notes": [
            "Subjects follow RecordNameStrategy (dlq.capture.Payment, dlq.capture.Order, Shipment, ...): one DLQ topic holds several record types.",
            "order.proto references common/money.proto (its own subject) and imports google/protobuf/timestamp.proto and wrappers.proto, which the serializer does not register.",
            "Schema ids are those of the registry at capture time; tests register schemas.json into their registry in order and rewrite the ids in the bytes.",
            "The bad-* and coincidence-* payloads are made by hand from real serializations (the serializers refuse to write them).",
        ],
    }
    with open(f"{out_dir}/capture.json", "w", encoding="utf-8") as f:
        json.dump(capture, f, indent=2)
        f.write("\n")
    print(f"capture: {len(rows)} records, {len(schemas)} schemas -> {out_dir}", file=sys.stderr)


def case_of(r):
    for h in r["headers"]:
        if h["key"] == "case":
            return base64.b64decode(h["value"]).decode()
    raise SystemExit(f"record {r['offset']} has no case header")


if __name__ == "__main__":
    main()
