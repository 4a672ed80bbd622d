#!/usr/bin/env bash
# SmallRye Reactive Messaging capture: builds a tiny Quarkus app (io.quarkus:quarkus-messaging-kafka under the
# Quarkus BOM 3.33.2) with `mvn package`, runs it against $DLQ_CAPTURE_KAFKA (dev services off), dumps the DLQ and
# retry topics with lib/dump.py and joins the app's own record of what it produced and what its handlers threw into
# truth.ndjson. Run through `npm run capture -- smallrye` (which sets DLQ_CAPTURE_KAFKA and DLQ_CAPTURE_OUT).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
kafka="${DLQ_CAPTURE_KAFKA:-127.0.0.1:19092}"
out="${DLQ_CAPTURE_OUT:-$repo/fixtures/captured/smallrye}"
work="$here/.work"
mkdir -p "$out" "$work"

# shellcheck source=../lib/java.sh
source "$here/../lib/java.sh"
ensure_java_maven
# The Quarkus build (augmentation) wants more than the app; the app itself runs in 256 MiB.
MAVEN_OPTS="${MAVEN_OPTS:--Xmx512m}" mvn -B -q -Dstyle.color=never -f "$here/pom.xml" package >&2

py=$(bash "$here/../lib/venv.sh")
java -Xmx256m -Dkafka.bootstrap.servers="$kafka" -jar "$here/target/quarkus-app/quarkus-run.jar" "$work/events.ndjson" >"$work/app.log" 2>&1 ||
  { tail -50 "$work/app.log" >&2; exit 1; }
topics=(dead-letter-topic-smallrye-orders smallrye-payments-dlq dead-letter-topic-smallrye-events
  smallrye-retries_retry_500 smallrye-retries_retry_1000 smallrye-retries-dlq)
"$py" "$repo/scripts/capture/lib/dump.py" kafka "$kafka" "$out/kafka.ndjson" "${topics[@]}"
"$py" "$here/join.py" "$work/events.ndjson" "$out" "$(java_version)" "$here/target/quarkus-app/quarkus-app-dependencies.txt"
