#!/usr/bin/env bash
# Spring Kafka capture: builds the capture program with Maven (spring-kafka 4.1.x, kafka-clients 4.1.x),
# runs it against $DLQ_CAPTURE_KAFKA, dumps the DLT and retry topics with lib/dump.py and joins the
# program's own record of what it produced and what its listeners threw into truth.ndjson.
# Run through `npm run capture -- spring-kafka` (which sets DLQ_CAPTURE_KAFKA and DLQ_CAPTURE_OUT).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
kafka="${DLQ_CAPTURE_KAFKA:-127.0.0.1:19092}"
out="${DLQ_CAPTURE_OUT:-$repo/fixtures/captured/spring-kafka}"
work="$here/.work"
mkdir -p "$out" "$work"

# shellcheck source=../lib/java.sh
source "$here/../lib/java.sh"
ensure_java_maven
cp=$(maven_classpath "$here")

py=$(bash "$here/../lib/venv.sh")
java -cp "$here/target/classes:$cp" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  dlq.capture.SpringCapture "$kafka" "$work/events.ndjson"
topics=(spring-orders-dlt spring-orders-dlt-dlt spring-payments-retry spring-payments-dlt)
"$py" "$repo/scripts/capture/lib/dump.py" kafka "$kafka" "$out/kafka.ndjson" "${topics[@]}"
"$py" "$here/join.py" "$work/events.ndjson" "$out" "$(java_version)" "$cp"
