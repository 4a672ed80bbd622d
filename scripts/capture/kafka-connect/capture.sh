#!/usr/bin/env bash
# Kafka Connect capture: builds the capture program with Maven (connect-runtime, connect-file, connect-json
# 4.1.x), which produces the source records and runs ConnectStandalone with a FileStreamSink whose
# converters fail on the bad ones (errors.tolerance=all, DLQ with context headers); then dumps the DLQ
# with lib/dump.py and joins the program's record and Connect's error log into truth.ndjson.
# Run through `npm run capture -- kafka-connect` (which sets DLQ_CAPTURE_KAFKA and DLQ_CAPTURE_OUT).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
kafka="${DLQ_CAPTURE_KAFKA:-127.0.0.1:19092}"
out="${DLQ_CAPTURE_OUT:-$repo/fixtures/captured/kafka-connect}"
work="$here/.work"
mkdir -p "$out" "$work"

# shellcheck source=../lib/java.sh
source "$here/../lib/java.sh"
ensure_java_maven
cp=$(maven_classpath "$here")

py=$(bash "$here/../lib/venv.sh")
java -cp "$here/target/classes:$cp" -Dlog4j2.configurationFile="$here/log4j2.properties" \
  dlq.capture.ConnectCapture "$kafka" "$work" "$here/log4j2.properties"
"$py" "$repo/scripts/capture/lib/dump.py" kafka "$kafka" "$out/kafka.ndjson" connect-orders-dlq
"$py" "$here/join.py" "$work" "$out" "$(java_version)" "$cp"
