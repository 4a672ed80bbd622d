#!/usr/bin/env bash
# Spring Cloud Stream Kafka binder capture: builds the capture program with Maven (Spring Boot 4.0.7,
# spring-cloud-dependencies 2025.1.4: spring-cloud-stream-binder-kafka 5.0.x), runs it against
# $DLQ_CAPTURE_KAFKA, dumps the DLQ topics with lib/dump.py and joins the program's own record of what it
# produced, what its handlers threw and what the binder dead-lettered into truth.ndjson.
# Run through `npm run capture -- spring-cloud-stream` (which sets DLQ_CAPTURE_KAFKA and DLQ_CAPTURE_OUT).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
kafka="${DLQ_CAPTURE_KAFKA:-127.0.0.1:19092}"
out="${DLQ_CAPTURE_OUT:-$repo/fixtures/captured/spring-cloud-stream}"
work="$here/.work"
mkdir -p "$out" "$work"

# shellcheck source=../lib/java.sh
source "$here/../lib/java.sh"
ensure_java_maven
cp=$(maven_classpath "$here")

py=$(bash "$here/../lib/venv.sh")
java -Xmx256m -cp "$here/target/classes:$cp" dlq.capture.StreamCapture "$kafka" "$work/events.ndjson"
topics=(spring-cloud-stream-orders-dlq error.spring-cloud-stream-payments.spring-cloud-stream-group spring-cloud-stream-orders-dlq-dlq
  spring-cloud-stream-refunds-dlq)
"$py" "$repo/scripts/capture/lib/dump.py" kafka "$kafka" "$out/kafka.ndjson" "${topics[@]}"
"$py" "$here/join.py" "$work/events.ndjson" "$out" "$(java_version)" "$cp"
