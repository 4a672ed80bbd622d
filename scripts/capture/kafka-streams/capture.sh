#!/usr/bin/env bash
# Kafka Streams capture: builds the capture program with Maven (kafka-streams 4.2.x, the first line with
# KIP-1034's errors.dead.letter.queue.topic.name), runs it against $DLQ_CAPTURE_KAFKA, dumps the DLQ with
# lib/dump.py and joins the program's own record of what it produced and what its deserializers and
# processors threw into truth.ndjson.
# Run through `npm run capture -- kafka-streams` (which sets DLQ_CAPTURE_KAFKA and DLQ_CAPTURE_OUT).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
kafka="${DLQ_CAPTURE_KAFKA:-127.0.0.1:19092}"
out="${DLQ_CAPTURE_OUT:-$repo/fixtures/captured/kafka-streams}"
work="$here/.work"
rm -rf "$work"
mkdir -p "$out" "$work"

# shellcheck source=../lib/java.sh
source "$here/../lib/java.sh"
ensure_java_maven
cp=$(maven_classpath "$here")

py=$(bash "$here/../lib/venv.sh")
# The handlers log each failure at WARN with its stack trace: kept in streams.log, not on the terminal.
java -Xmx256m -cp "$here/target/classes:$cp" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dorg.slf4j.simpleLogger.logFile="$work/streams.log" -Dorg.slf4j.simpleLogger.showDateTime=true \
  -Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd\'T\'HH:mm:ss.SSSZ \
  dlq.capture.StreamsCapture "$kafka" "$work"
"$py" "$repo/scripts/capture/lib/dump.py" kafka "$kafka" "$out/kafka.ndjson" kafka-streams-orders-dlq kafka-streams-payments-dlq
"$py" "$here/join.py" "$work/events.ndjson" "$out" "$(java_version)" "$cp"
