#!/usr/bin/env bash
# Confluent Schema Registry payloads (see capture.py): the real confluent_kafka.schema_registry
# AvroSerializer, ProtobufSerializer and JSONSerializer against the project's own registry
# (scripts/services.sh up registry) and Kafka. Needs only python3: lib/venv.sh installs
# confluent-kafka with its schema-registry extras and grpcio-tools (protoc) at pinned versions.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DLQ_CAPTURE_KAFKA:=127.0.0.1:19092}"
: "${DLQ_CAPTURE_REGISTRY:=http://127.0.0.1:18081/apis/ccompat/v7}"
: "${DLQ_CAPTURE_OUT:=$here/../../../fixtures/captured/confluent-sr}"
py="$(bash "$here/../lib/venv.sh")"
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
# The classes ProtobufSerializer takes, compiled from the .proto files by grpcio-tools' protoc
# (which also carries google/protobuf/*.proto).
"$py" -m grpc_tools.protoc -I "$here/proto" --python_out="$gen" "$here/proto/common/money.proto" "$here/proto/order.proto"
mkdir -p "$DLQ_CAPTURE_OUT"
PYTHONPATH="$gen" "$py" "$here/capture.py" "$DLQ_CAPTURE_KAFKA" "$DLQ_CAPTURE_REGISTRY" "$DLQ_CAPTURE_OUT" "$here/../lib/dump.py" "$here/proto"
