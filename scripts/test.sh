#!/usr/bin/env bash
# The whole test suite (npm test): starts Redis, Kafka and the schema registry on 127.0.0.1 when they are not
# already running (installing them on a fresh machine), runs vitest, and stops the
# services it started. Extra arguments go to vitest (e.g. a file filter).
#   DLQ_KEEP_SERVICES=1  leave the services running afterwards
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The programs tests run (kcat, tmux, openssl, …): installed when missing, a no-op otherwise.
bash scripts/services.sh tools

started=()
if ! up "${DLQ_REDIS_PORT:-16379}"; then bash scripts/services.sh up redis && started+=(redis); fi
if ! up "${DLQ_KAFKA_PORT:-19092}"; then bash scripts/services.sh up kafka && started+=(kafka); fi
if ! up "${DLQ_REGISTRY_PORT:-18081}"; then bash scripts/services.sh up registry && started+=(registry); fi

stop_started() {
  if [[ "${DLQ_KEEP_SERVICES:-0}" != 1 ]]; then
    for s in "${started[@]}"; do bash scripts/services.sh down "$s" || true; done
  fi
}
trap stop_started EXIT

export DLQ_TEST_REDIS_URL="redis://127.0.0.1:${DLQ_REDIS_PORT:-16379}"
export DLQ_TEST_KAFKA_BROKERS="127.0.0.1:${DLQ_KAFKA_PORT:-19092}"
export DLQ_TEST_SCHEMA_REGISTRY="http://127.0.0.1:${DLQ_REGISTRY_PORT:-18081}/apis/ccompat/v7"
mkdir -p .services
report=.services/vitest-report.json
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line with the counts, whatever the reporter printed above.
node -e '
  const r = require(require("path").resolve(process.argv[1]));
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" || true
exit "$status"
