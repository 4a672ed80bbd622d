#!/usr/bin/env bash
# Sentry Arroyo capture (see capture.py): needs only python3; lib/venv.sh installs sentry-arroyo and
# confluent-kafka at the versions pinned in lib/requirements.txt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DLQ_CAPTURE_KAFKA:=127.0.0.1:19092}"
: "${DLQ_CAPTURE_OUT:=$here/../../../fixtures/captured/arroyo}"
py="$(bash "$here/../lib/venv.sh")"
mkdir -p "$DLQ_CAPTURE_OUT"
"$py" "$here/capture.py" "$DLQ_CAPTURE_KAFKA" "$DLQ_CAPTURE_OUT" "$here/../lib/dump.py"
