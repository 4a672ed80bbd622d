#!/usr/bin/env bash
# Watermill capture (see main.go): builds the capture program from go.mod/go.sum (the Go module proxy
# fetches watermill, watermill-redisstream, watermill-kafka and sarama at the committed versions) and
# dumps with lib/dump.py from the harness venv. Needs the Go toolchain (go.mod's go line or newer).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DLQ_CAPTURE_KAFKA:=127.0.0.1:19092}"
: "${DLQ_CAPTURE_REDIS:=redis://127.0.0.1:16379}"
: "${DLQ_CAPTURE_OUT:=$here/../../../fixtures/captured/watermill}"
command -v go >/dev/null || { echo "capture watermill: the Go toolchain is needed (https://go.dev/dl/)" >&2; exit 1; }
py="$(bash "$here/../lib/venv.sh")"
mkdir -p "$DLQ_CAPTURE_OUT" "$here/.work"
(cd "$here" && go build -mod=readonly -o .work/watermill-capture .)
DLQ_CAPTURE_KAFKA="$DLQ_CAPTURE_KAFKA" DLQ_CAPTURE_REDIS="$DLQ_CAPTURE_REDIS" DLQ_CAPTURE_OUT="$DLQ_CAPTURE_OUT" \
  DLQ_CAPTURE_PYTHON="$py" DLQ_CAPTURE_DUMP="$here/../lib/dump.py" "$here/.work/watermill-capture" capture
