#!/usr/bin/env bash
# What Switchboard survives (issue 15, "Proofs"): each part starts the real fat jar as the README
# launches it (`java -jar target/switchboard.jar`, no JVM flags) with small real HTTP fakes
# (scripts/bench/prove_fakes.py: an OpenAI-compatible model and DingTalk robots), puts it through
# one kind of trouble, and prints ONE line of figures with PASS or FAIL against the issue's target.
# All on 127.0.0.1, bounded in time, not part of CI; everything started here is stopped by its PID.
#
#   scripts/prove.sh [part...]      parts: provider-down gateway-crash store-restarts bad-input
#                                   slow-clients soak; none: all of them, in that order
#
# Parts and their targets:
#   provider-down   group "chat" of two deployments (fakes a and b), PROVIDER_CONNECTIONS (16)
#                   connections for PROVIDER_SECONDS (30); b SIGKILLed at 1/3, started again at 2/3:
#                   success rate >= 99.9%; prints the longest gap without a success and the p99
#                   of the requests started during the fault (and 5 s after)
#   gateway-crash   scripts/prove-queue.sh with CRASH_TASKS (2000) at CRASH_RATE (40)/s: 0 accepted
#                   tasks lost, pushes repeated only when on the wire at a kill (its own verdict;
#                   its other settings, e.g. REDIS_DOWN_SECONDS, pass through from the environment)
#   store-restarts  distributed profile on a throwaway Redis and PostgreSQL+pgvector; chat, tasks,
#                   memory writes and searches at STORE_RATE (10)/s chat, half that each other kind;
#                   Redis stopped STORE_DOWN_SECONDS (20) then started, then PostgreSQL the same:
#                   every answer 2xx or a 503 with a reason within 2 s, every task accepted (202)
#                   succeeds, every memory created (201) is there, back to full service within 10 s
#   bad-input       BAD_COUNT (10000) seeded (BAD_SEED, 15) malformed, oversize and forged requests
#                   over every route and webhook: 0 5xx, 0 hangs (no answer within 10 s), the process
#                   alive and serving, RSS within 20% of its level before
#   slow-clients    chat p99 at SLOW_CONNECTIONS (4) connections for SLOW_BASELINE_SECONDS (20),
#                   then again while SLOW_IDLE (2000) idle connections and SLOW_LORIS (50) slowloris
#                   clients are held open for SLOW_SECONDS (60): p99 within 2x, no chat errors
#   soak            SOAK_SECONDS (1800) of mixed traffic (chat plain and streaming, tasks pushed to a
#                   fake DingTalk robot, memory writes and searches) at SOAK_RATE (20)/s over
#                   SOAK_CONNECTIONS (8) clients, each waiting for its answer; RSS and
#                   open files sampled every 10 s: growth trend after the first 5 minutes (a third
#                   of a shorter run) <= 10%, 0 errors, every task succeeded
#
# Short runs: SOAK_SECONDS=60 SLOW_SECONDS=15 SLOW_IDLE=500 BAD_COUNT=2000 STORE_DOWN_SECONDS=5 ...
# Also: REBUILD=1 (package the jar even if it is newer than the sources), GATEWAY_JAVA_OPTS (extra
# JVM options, empty by default: the proof is of `java -jar` as it is).
# Results: one line per part, printed and appended to target/prove.txt (with a header per run);
# logs in target/prove/. Exit status 1 when any part missed its target.
set -euo pipefail

cd "$(dirname "$0")/.."

ALL_PARTS=(provider-down gateway-crash store-restarts bad-input slow-clients soak)
PROVIDER_SECONDS="${PROVIDER_SECONDS:-30}"
PROVIDER_CONNECTIONS="${PROVIDER_CONNECTIONS:-16}"
CRASH_TASKS="${CRASH_TASKS:-2000}"
CRASH_RATE="${CRASH_RATE:-40}"
STORE_RATE="${STORE_RATE:-10}"
STORE_DOWN_SECONDS="${STORE_DOWN_SECONDS:-20}"
STORE_STEADY_SECONDS="${STORE_STEADY_SECONDS:-15}"
BAD_COUNT="${BAD_COUNT:-10000}"
BAD_SEED="${BAD_SEED:-15}"
SLOW_SECONDS="${SLOW_SECONDS:-60}"
SLOW_BASELINE_SECONDS="${SLOW_BASELINE_SECONDS:-20}"
SLOW_IDLE="${SLOW_IDLE:-2000}"
SLOW_LORIS="${SLOW_LORIS:-50}"
SLOW_CONNECTIONS="${SLOW_CONNECTIONS:-4}"
SOAK_SECONDS="${SOAK_SECONDS:-1800}"
SOAK_RATE="${SOAK_RATE:-20}"
SOAK_CONNECTIONS="${SOAK_CONNECTIONS:-8}"
JAR=target/switchboard.jar
OUT=target/prove
RESULTS=target/prove.txt
GATEWAY_START_TIMEOUT=120

log() { echo "prove: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh
# shellcheck source=lib/stores.sh
source scripts/lib/stores.sh

case "${1:-}" in -h | --help | help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
PARTS=("$@")
((${#PARTS[@]})) || PARTS=("${ALL_PARTS[@]}")
for p in "${PARTS[@]}"; do
  [[ " ${ALL_PARTS[*]} " == *" $p "* ]] || die "unknown part '$p'; parts: ${ALL_PARTS[*]}"
done
for n in "$PROVIDER_SECONDS" "$PROVIDER_CONNECTIONS" "$CRASH_TASKS" "$CRASH_RATE" "$STORE_RATE" "$STORE_DOWN_SECONDS" \
  "$STORE_STEADY_SECONDS" "$BAD_COUNT" "$BAD_SEED" "$SLOW_SECONDS" "$SLOW_BASELINE_SECONDS" "$SLOW_IDLE" "$SLOW_LORIS" \
  "$SLOW_CONNECTIONS" "$SOAK_SECONDS" "$SOAK_RATE" "$SOAK_CONNECTIONS"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "durations, counts and rates are whole numbers, got '$n'"
done
((PROVIDER_SECONDS >= 6)) || die "PROVIDER_SECONDS must be at least 6"
for c in java python3 curl; do command -v "$c" >/dev/null || die "$c is required"; done

# --- cleanup: everything started here is stopped by its process id --------------------------------

WORK="$(mktemp -d -t switchboard-prove.XXXXXX)"
PIDS=()
SCHED_PID=""
DRIVER_PID=""
cleanup() {
  [[ -n "$DRIVER_PID" ]] && kill -TERM "$DRIVER_PID" 2>/dev/null
  [[ -n "$SCHED_PID" ]] && kill -TERM "$SCHED_PID" 2>/dev/null && wait "$SCHED_PID" 2>/dev/null
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop "${PIDS[i]}"; done
  PIDS=()
  # a Redis or PostgreSQL started again by the store-restarts schedule is known by its pid files
  [[ -s "$WORK/redis2.pid" ]] && REDIS_PID="$(cat "$WORK/redis2.pid")"
  [[ -n "$STORES_PG_DIR" && -f "$STORES_PG_DIR/data/postmaster.pid" ]] && PG_PID="$(head -n 1 "$STORES_PG_DIR/data/postmaster.pid")"
  stores_cleanup
  rm -rf "$WORK"
  # last: prove-queue.sh stops what it started on the TERM above; this waits for it
  [[ -n "$DRIVER_PID" ]] && wait "$DRIVER_PID" 2>/dev/null
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# stop_all: ends what the last part started, so the next one starts clean
stop_all() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop "${PIDS[i]}"; done
  PIDS=()
}

# --- build ------------------------------------------------------------------------------------

if [[ "${REBUILD:-0}" == 1 || ! -f "$JAR" || -n "$(find src pom.xml -newer "$JAR" -type f -print -quit 2>/dev/null)" ]]; then
  log "packaging $JAR (mvn -q -o package -DskipTests)"
  # shellcheck source=lib/maven.sh
  source scripts/lib/maven.sh
  plain_maven_output 2
  mvn -q -o -B package -DskipTests >&2
fi
[[ -f "$JAR" ]] || die "no gateway jar at $JAR"
mkdir -p "$OUT"
SECRET="SEC$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
HOOK_SECRET="hook-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# --- fakes and gateways -----------------------------------------------------------------------

# start_fakes NAME PORT: the model and the robots of scripts/bench/prove_fakes.py (answers at once)
start_fakes() {
  local name="$1" port="$2"
  setsid nice python3 scripts/bench/prove_fakes.py --port "$port" --secret "$SECRET" --model-delay-ms 0 --push-delay-ms 0 \
    >>"$OUT/fake-$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  disown "$LAST_PID"
  wait_for "fake $name" "http://127.0.0.1:$port/_health" "$LAST_PID" 20 "$OUT/fake-$name.log"
}

# conf_dir NAME FAKES_PORT [group]: conf/ as shipped, with a model_provider.yaml on the fakes (one
# provider, or the group "chat" of two: a on FAKES_PORT, b on FAKE_B_PORT) and a channels.yaml with
# one robot (d0) and every inbound kind, so that every webhook route is live
conf_dir() {
  local dir="$WORK/conf-$1" fakes="$2" group="${3:-}"
  mkdir -p "$dir"
  cp conf/switchboard.yaml conf/rules.yaml "$dir/"
  if [[ -n "$group" ]]; then
    cat >"$dir/model_provider.yaml" <<EOF
providers:
  - { name: "a", type: "api_gateway", endpoint: "http://127.0.0.1:$fakes/a/v1", auth: { type: "api_key", key: "fake" }, models: ["fake-model"], timeouts: { connect: 1s, first_token: 5s, total: 10s } }
  - { name: "b", type: "api_gateway", endpoint: "http://127.0.0.1:$FAKE_B_PORT/b/v1", auth: { type: "api_key", key: "fake" }, models: ["fake-model"], timeouts: { connect: 1s, first_token: 5s, total: 10s } }
groups:
  - name: "chat"
    strategy: "least-busy"
    deployments:
      - { provider: "a", model: "fake-model", priority: 1, weight: 1 }
      - { provider: "b", model: "fake-model", priority: 1, weight: 1 }
default_model: "chat"
retry: { max_attempts: 3, deadline: 10s, backoff: { base: 10ms, max: 200ms } }
circuit_breaker: { window: 10s, min_calls: 10, failure_rate: 0.5, cooldown: 5s }
health_check: { interval: 5s, timeout: 2s }
embeddings: { provider: "local" }
EOF
  else
    cat >"$dir/model_provider.yaml" <<EOF
providers:
  - { name: "default", type: "api_gateway", endpoint: "http://127.0.0.1:$fakes/gw/v1", auth: { type: "api_key", key: "fake" }, models: ["*"] }
default_model: "fake-model"
embeddings: { provider: "local" }
EOF
  fi
  cat >"$dir/channels.yaml" <<EOF
dingtalk:
  - { name: "d0", webhook: "http://127.0.0.1:$fakes/gw/robot/send?access_token=d0", secret: "$SECRET", template: "{result}", rate_limit: { messages: 1000000, per: 60s } }
  - { name: "assistant", app_key: "prove-key", app_secret: "prove-secret", robot_code: "prove-robot", mode: "callback", api_base: "http://127.0.0.1:$fakes/dingtalk" }
feishu:
  - { name: "assistant", app_id: "cli_prove", app_secret: "prove-secret", verification_token: "prove-token", encrypt_key: "prove-encrypt-key", domain: "http://127.0.0.1:$fakes/feishu", mode: "webhook" }
wecom:
  - { name: "assistant", corp_id: "wwprove", token: "provetoken", encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" }
webhooks:
  - { name: "ci", secret: "$HOOK_SECRET" }
alertmanager:
  - { name: "prometheus", token: "$HOOK_SECRET" }
EOF
}

# start_gateway NAME PORT ENV...: java -jar with SWITCHBOARD_CONF_DIR=conf-NAME and its own data
# folder; sets GATEWAY_PID and TOKEN
start_gateway() {
  local name="$1" port="$2"
  shift 2
  local logfile="$OUT/gateway-$name.log"
  mkdir -p "$WORK/data-$name"
  GATEWAY_ENV=("SWITCHBOARD_CONF_DIR=$WORK/conf-$name" "SWITCHBOARD_DATA_DIR=$WORK/data-$name" "SWITCHBOARD_HTTP_PORT=$port"
    "SWITCHBOARD_JWT_SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '\n')" "SWITCHBOARD_OUTBOUND_ALLOW=127.0.0.1" "$@")
  # shellcheck disable=SC2086 # GATEWAY_JAVA_OPTS is a list of options
  setsid env "${GATEWAY_ENV[@]}" java ${GATEWAY_JAVA_OPTS:-} -jar "$JAR" >"$logfile" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  disown "$GATEWAY_PID"
  wait_for "the gateway ($name)" "http://127.0.0.1:$port/healthz" "$GATEWAY_PID" "$GATEWAY_START_TIMEOUT" "$logfile" || return 1
  TOKEN="$(env "${GATEWAY_ENV[@]}" java -jar "$JAR" token --sub prove --ttl 3h 2>>"$OUT/token.log" | awk 'NF { t = $1 } END { print t }')"
  [[ -n "$TOKEN" ]] || { log "'java -jar $JAR token' printed no token; see $OUT/token.log"; return 1; }
}

# parts PART ARGS...: the driver, niced; its one line goes to the results
RESULT_LINES=()
FAILED=()
drive() {
  local part="$1" status=0 line
  shift
  # in the background, so that INT/TERM reach the trap at once instead of after the driver
  nice python3 scripts/bench/prove_parts.py "$@" >"$WORK/line" 2>>"$OUT/$part-driver.log" &
  DRIVER_PID=$!
  wait "$DRIVER_PID" || status=$?
  DRIVER_PID=""
  line="$(tail -n 1 "$WORK/line")"
  [[ -n "$line" ]] || line="$part: FAIL the driver printed nothing (exit $status); see $OUT/$part-driver.log"
  record "$line" "$status"
}
record() {
  local line="$1" status="$2"
  echo "$line" | tee -a "$RESULTS"
  RESULT_LINES+=("$line")
  ((status == 0)) || FAILED+=("${line%%:*}")
}

# --- the parts --------------------------------------------------------------------------------

part_provider_down() {
  local fa fb port events="$WORK/events-provider"
  fa="$(free_port)" FAKE_B_PORT="$(free_port)" port="$(free_port)"
  : >"$events"
  start_fakes a "$fa" || return 1
  start_fakes b "$FAKE_B_PORT" || return 1
  local fake_b=$LAST_PID
  conf_dir provider "$fa" group
  start_gateway provider "$port" || return 1
  local kill_at=$((PROVIDER_SECONDS / 3)) up_at=$((2 * PROVIDER_SECONDS / 3))
  (
    trap 'kill $nap 2>/dev/null; exit 0' TERM
    sleep "$kill_at" & nap=$!; wait $nap
    kill -KILL -- "-$fake_b" 2>/dev/null || kill -KILL "$fake_b" 2>/dev/null || true
    echo "kill $(now_ms)" >>"$events"
    sleep $((up_at - kill_at)) & nap=$!; wait $nap
    setsid nice python3 scripts/bench/prove_fakes.py --port "$FAKE_B_PORT" --secret "$SECRET" --model-delay-ms 0 \
      >>"$OUT/fake-b.log" 2>&1 &
    echo $! >"$WORK/fake-b2.pid"
    until answers "http://127.0.0.1:$FAKE_B_PORT/_health"; do sleep 0.05; done
    echo "up $(now_ms)" >>"$events"
  ) &
  SCHED_PID=$!
  drive provider-down chat-fault --gateway "http://127.0.0.1:$port" --token "$TOKEN" --model chat \
    --connections "$PROVIDER_CONNECTIONS" --seconds "$PROVIDER_SECONDS" --events "$events"
  wait "$SCHED_PID" 2>/dev/null || true
  SCHED_PID=""
  [[ -s "$WORK/fake-b2.pid" ]] && PIDS+=("$(cat "$WORK/fake-b2.pid")")
  stop_all
}

part_gateway_crash() {
  local status=0 line
  # in the background, like the driver: a TERM reaches prove-queue.sh (which stops what it started) at once
  TASKS="$CRASH_TASKS" RATE="$CRASH_RATE" SWITCHBOARD_OUTBOUND_ALLOW=127.0.0.1 \
    nice scripts/prove-queue.sh >"$OUT/gateway-crash.txt" 2>"$OUT/gateway-crash.log" &
  DRIVER_PID=$!
  wait "$DRIVER_PID" || status=$?
  DRIVER_PID=""
  line="$(grep '^RESULT ' "$OUT/gateway-crash.txt" | tail -n 1 || true)"
  [[ -n "$line" ]] || line="RESULT none (see $OUT/gateway-crash.log)"
  line="${line#RESULT }"
  record "gateway-crash: $( ((status == 0)) && echo PASS || echo FAIL) tasks=$CRASH_TASKS rate=$CRASH_RATE ${line#* } (report: target/prove-queue.txt)" "$status"
}

part_store_restarts() {
  stores_pg_available || { record "store-restarts: FAIL no PostgreSQL 15 + pgvector here (scripts/test.sh installs them)" 1; return; }
  command -v redis-server >/dev/null || { record "store-restarts: FAIL no redis-server here (scripts/test.sh installs it)" 1; return; }
  local fakes port rport pport events="$WORK/events-stores"
  fakes="$(free_port)" port="$(free_port)" rport="$(free_port)" pport="$(free_port)"
  : >"$events"
  stores_init "$WORK/stores"
  redis_start "$rport" "$OUT/redis.log" || { record "store-restarts: FAIL Redis did not start" 1; return; }
  pg_start "$pport" "$OUT/postgres.log" || { record "store-restarts: FAIL PostgreSQL did not start" 1; return; }
  start_fakes stores "$fakes" || return 1
  conf_dir stores "$fakes"
  start_gateway stores "$port" "SWITCHBOARD_STORAGE=distributed" "REDIS_URL=redis://127.0.0.1:$rport" \
    "DATABASE_URL=postgresql://switchboard@127.0.0.1:$pport/switchboard" || return 1
  local deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz"; do
    ((SECONDS < deadline)) || { log "the gateway is not ready after 60 s"; break; }
    sleep 0.5
  done
  local steady=$STORE_STEADY_SECONDS down=$STORE_DOWN_SECONDS
  (
    trap 'kill $nap 2>/dev/null; exit 0' TERM
    nap_for() { sleep "$1" & nap=$!; wait $nap; }
    nap_for "$steady"
    echo "redis_down $(now_ms)" >>"$events"; redis_stop
    nap_for "$down"
    # the pid file first: the script's cleanup stops this Redis even when the run is cut short here
    if redis_start "$rport" "$OUT/redis.log"; then up=1; else up=0; fi
    echo "$REDIS_PID" >"$WORK/redis2.pid"
    ((up)) && echo "redis_up $(now_ms)" >>"$events"
    nap_for "$steady"
    echo "postgres_down $(now_ms)" >>"$events"; pg_stop
    nap_for "$down"
    pg_start "$pport" "$OUT/postgres.log" && echo "postgres_up $(now_ms)" >>"$events"
  ) &
  SCHED_PID=$!
  drive store-restarts stores --gateway "http://127.0.0.1:$port" --token "$TOKEN" --events "$events" \
    --seconds $((4 * steady + 2 * down)) --rate "$STORE_RATE" --run-id "stores-$(date +%s)" --drain 120
  wait "$SCHED_PID" 2>/dev/null || true
  SCHED_PID=""
  # the restarted Redis belongs to the subshell's copy of REDIS_PID; PostgreSQL has its pid file
  [[ -s "$WORK/redis2.pid" ]] && REDIS_PID="$(cat "$WORK/redis2.pid")"
  [[ -f "$STORES_PG_DIR/data/postmaster.pid" ]] && PG_PID="$(head -n 1 "$STORES_PG_DIR/data/postmaster.pid")"
  cp "$events" "$OUT/store-restarts-timeline.txt"
  stop_all
  stores_cleanup
  rm -f "$WORK/redis2.pid"
}

part_bad_input() {
  local fakes port
  fakes="$(free_port)" port="$(free_port)"
  start_fakes bad "$fakes" || return 1
  conf_dir bad "$fakes"
  start_gateway bad "$port" || return 1
  drive bad-input bad-input --gateway "http://127.0.0.1:$port" --token "$TOKEN" --pid "$GATEWAY_PID" \
    --count "$BAD_COUNT" --seed "$BAD_SEED" --hook-secret "$HOOK_SECRET" --connections 8 --hang-ms 10000
  stop_all
}

part_slow_clients() {
  local fakes port
  fakes="$(free_port)" port="$(free_port)"
  start_fakes slow "$fakes" || return 1
  conf_dir slow "$fakes"
  start_gateway slow "$port" || return 1
  drive slow-clients slow-clients --gateway "http://127.0.0.1:$port" --token "$TOKEN" --pid "$GATEWAY_PID" \
    --connections "$SLOW_CONNECTIONS" --baseline "$SLOW_BASELINE_SECONDS" --seconds "$SLOW_SECONDS" \
    --idle "$SLOW_IDLE" --slowloris "$SLOW_LORIS"
  stop_all
}

part_soak() {
  local fakes port
  fakes="$(free_port)" port="$(free_port)"
  start_fakes soak "$fakes" || return 1
  conf_dir soak "$fakes"
  start_gateway soak "$port" || return 1
  drive soak soak --gateway "http://127.0.0.1:$port" --token "$TOKEN" --pid "$GATEWAY_PID" \
    --seconds "$SOAK_SECONDS" --rate "$SOAK_RATE" --connections "$SOAK_CONNECTIONS" --sample 10 --warm 300 --drain 120 \
    --fakes "http://127.0.0.1:$fakes"
  stop_all
}

{
  echo "# switchboard proofs (${PARTS[*]}), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (with local changes)');" \
    "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(java -version 2>&1 | head -n 1); java -jar $JAR ${GATEWAY_JAVA_OPTS:-}"
} | tee -a "$RESULTS"
for p in "${PARTS[@]}"; do
  log "part $p"
  "part_${p//-/_}" || { record "$p: FAIL it could not be set up; see $OUT/" 1; stop_all; }
done
if ((${#FAILED[@]})); then
  log "missed: ${FAILED[*]} (results in $RESULTS, logs in $OUT/)"
  exit 1
fi
log "all passed (results in $RESULTS, logs in $OUT/)"
