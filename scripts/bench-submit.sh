#!/usr/bin/env bash
# Tasks accepted through POST /api/v1/tasks per second: wrk at 16 connections against the fat jar
# on the embedded profile (SQLite in the data folder, group commits) and on the distributed
# profile (Redis with appendonly yes, appendfsync everysec). All on 127.0.0.1, bounded in time;
# run it on demand, never in CI. Targets: >= 3,000/s embedded, >= 10,000/s distributed.
#
#   scripts/bench-submit.sh [both|embedded|distributed]      (default both)
#
# Arrangement: the gateway (`java -jar target/switchboard.jar`) pinned to CPU 1 (taskset -c 1);
# Redis (distributed), wrk (-t1, scripts/bench/submit.lua) and the idle fake model pinned to CPU 0
# (taskset -c 0). Each task is {"input": "bench", "delay": "1h"}: accepted and stored (committed
# before the 202), and not run during the benchmark, so this measures the accepting path alone;
# BENCH_DELAY= (empty) lets the tasks run at once against the fake model instead. Each profile gets
# a fresh gateway and data folder, a warm-up of WARMUP_SECONDS, then BENCH_SECONDS measured.
#
# Prints requests/s, p50/p99 latency and the answers other than 202 (503s and other 5xx among
# them) and socket errors; the gateway's (and Redis's) CPU time per accepted task, and from it
# the rate one whole core would give (a figure that other load on a shared machine moves less than
# tasks/s); then checks that the store holds at least as many tasks as were
# answered 202 (warm-up included), i.e. that no 202 went out without a durable write.
#
# Environment: BENCH_SECONDS=15 WARMUP_SECONDS=10 CONNECTIONS=16 BENCH_DELAY=1h REBUILD=1
#   GATEWAY_JAVA_OPTS (extra JVM options for the gateway)
# Results in target/bench-submit.txt; wrk outputs and logs in target/bench-submit/.
set -euo pipefail

cd "$(dirname "$0")/.."

MODE="${1:-both}"
case "$MODE" in
  both) PROFILES="embedded distributed" ;;
  embedded | distributed) PROFILES="$MODE" ;;
  -h | --help | help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/bench-submit.sh [both|embedded|distributed]" >&2; exit 2 ;;
esac

BENCH_SECONDS="${BENCH_SECONDS:-15}"
WARMUP_SECONDS="${WARMUP_SECONDS:-10}"
CONNECTIONS="${CONNECTIONS:-16}"
BENCH_DELAY="${BENCH_DELAY-1h}"
GATEWAY_CPU=1
OTHER_CPU=0
JAR=target/switchboard.jar
OUT=target/bench-submit
RESULTS=target/bench-submit.txt
GATEWAY_START_TIMEOUT=90

log() { echo "bench-submit: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }

for n in "$BENCH_SECONDS" "$WARMUP_SECONDS" "$CONNECTIONS"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "expected a whole number, got '$n'"
done
((BENCH_SECONDS > 0 && CONNECTIONS > 0)) || die "BENCH_SECONDS and CONNECTIONS must be positive"
for c in java python3 curl taskset redis-server redis-cli; do
  command -v "$c" >/dev/null || die "$c is required"
done
(($(nproc) >= 2)) || die "needs two CPUs (gateway on CPU $GATEWAY_CPU; Redis and wrk on CPU $OTHER_CPU); nproc says $(nproc)"
if ! command -v wrk >/dev/null; then
  log "installing wrk"
  sudo=()
  [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

# --- cleanup: everything started here is stopped by its process id -------------------------------

PIDS=()
WRK_PID=""
WORK="$(mktemp -d -t switchboard-bench-submit.XXXXXX)"
cleanup() {
  stop "$WRK_PID"
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop "${PIDS[i]}"
  done
  PIDS=()
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

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
: >"$RESULTS"
rm -f "$OUT"/*.log "$OUT"/wrk-*.txt

PORT="$(free_port)"
REDIS_PORT="$(free_port)"
FAKES_PORT="$(free_port)"
PG_PORT="$(free_port)"   # nothing listens there: these tasks use no long-term memory
JWT_SECRET="$(head -c 36 /dev/urandom | base64 | tr -d '\n')"

# the model: only asked for its list (and by tasks when BENCH_DELAY is empty)
setsid taskset -c "$OTHER_CPU" python3 scripts/bench/prove_fakes.py --port "$FAKES_PORT" --secret unused \
  --model-delay-ms 0 --push-delay-ms 0 >"$OUT/fake.log" 2>&1 &
PIDS+=($!)
disown $!
wait_for "the fake model" "http://127.0.0.1:$FAKES_PORT/_health" "${PIDS[-1]}" 20 "$OUT/fake.log" || exit 1

say "# switchboard task-submission benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (with local changes)');" \
  "host: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?');" \
  "$(java -version 2>&1 | head -n 1); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2); $(redis-server --version | cut -d' ' -f1-3)"
say "# gateway (java -jar $JAR) on CPU $GATEWAY_CPU (taskset -c $GATEWAY_CPU); Redis (appendonly yes, appendfsync everysec)," \
  "wrk -t1 -c$CONNECTIONS (scripts/bench/submit.lua) and the idle fake model on CPU $OTHER_CPU (taskset -c $OTHER_CPU)"
say "# each task: {\"input\":\"bench\"${BENCH_DELAY:+,\"delay\":\"$BENCH_DELAY\"}}; ${WARMUP_SECONDS}s warm-up, then ${BENCH_SECONDS}s measured; latencies in ms"

# run_wrk SECONDS OUTFILE: sets BENCH_LINE
run_wrk() {
  local seconds="$1" outfile="$2"
  BENCH_TOKEN="$TOKEN" BENCH_DELAY="$BENCH_DELAY" timeout --kill-after=5 $((seconds + 30)) taskset -c "$OTHER_CPU" \
    wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --timeout 10s --latency -s scripts/bench/submit.lua "http://127.0.0.1:$PORT" >"$outfile" 2>&1 &
  WRK_PID=$!
  local status=0
  wait "$WRK_PID" || status=$?
  WRK_PID=""
  BENCH_LINE="$(grep '^BENCH ' "$outfile" | tail -n 1 || true)"
  if [[ -z "$BENCH_LINE" ]]; then
    log "wrk gave no result (exit status $status); $outfile says:"
    tail -n 20 "$outfile" >&2
    BENCH_LINE="BENCH requests=0 seconds=0 rps=0 p50_us=0 p99_us=0 non202=0 s503=0 s5xx=0 connect=0 read=0 write=0 timeout=0"
  fi
}
field() { tr ' ' '\n' <<<"$BENCH_LINE" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
# cpu_ticks PID: user + system time of the process (all its threads) so far, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK="$(getconf CLK_TCK)"
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# stored PROFILE DATA_DIR: how many tasks the store holds (embedded: read after the gateway stopped)
stored() {
  if [[ "$1" == distributed ]]; then
    local total=0 p n
    for p in high normal low; do
      n="$(redis-cli -p "$REDIS_PORT" zcard "switchboard:queue:d:$p")"
      total=$((total + n))
      n="$(redis-cli -p "$REDIS_PORT" xlen "switchboard:queue:s:$p")"
      total=$((total + n))
    done
    echo "$total"
  else
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from tasks").fetchone()[0])' \
      "$2/switchboard.db"
  fi
}

rows=()
cpu_rows=()
for profile in $PROFILES; do
  data_dir="$WORK/data-$profile"
  mkdir -p "$data_dir"
  env_vars=("SWITCHBOARD_DATA_DIR=$data_dir" "SWITCHBOARD_HTTP_PORT=$PORT" "SWITCHBOARD_JWT_SECRET=$JWT_SECRET"
    "SWITCHBOARD_STORAGE=$profile" "REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
    "DATABASE_URL=postgresql://switchboard@127.0.0.1:$PG_PORT/switchboard"
    "MODEL_ENDPOINT=http://127.0.0.1:$FAKES_PORT/bench/v1" "MODEL_API_KEY=fake" "MODEL_NAME=fake-model")
  redis_pid=""
  if [[ "$profile" == distributed ]]; then
    mkdir -p "$WORK/redis"
    setsid taskset -c "$OTHER_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" \
      --appendonly yes --appendfsync everysec --save "" --daemonize no >"$OUT/redis.log" 2>&1 &
    redis_pid=$!
    PIDS+=("$redis_pid")
    disown "$redis_pid"
    for _ in $(seq 100); do
      redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
      sleep 0.1
    done
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG || die "Redis did not start; see $OUT/redis.log"
  fi
  log "$profile: starting the gateway on port $PORT (CPU $GATEWAY_CPU)"
  # shellcheck disable=SC2086 # GATEWAY_JAVA_OPTS is a list of options
  setsid env -u SWITCHBOARD_CONF_DIR "${env_vars[@]}" taskset -c "$GATEWAY_CPU" java ${GATEWAY_JAVA_OPTS:-} -jar "$JAR" \
    >"$OUT/gateway-$profile.log" 2>&1 &
  gateway_pid=$!
  PIDS+=("$gateway_pid")
  disown "$gateway_pid"
  wait_for "the gateway" "http://127.0.0.1:$PORT/healthz" "$gateway_pid" "$GATEWAY_START_TIMEOUT" "$OUT/gateway-$profile.log" || exit 1
  TOKEN="$(env "${env_vars[@]}" java -jar "$JAR" token --sub bench --ttl 1h 2>>"$OUT/gateway-$profile.log" | awk 'NF { t = $1 } END { print t }')"
  [[ -n "$TOKEN" ]] || die "'java -jar $JAR token' printed no token"

  accepted=0
  if ((WARMUP_SECONDS > 0)); then
    log "$profile: warm-up ${WARMUP_SECONDS}s"
    run_wrk "$WARMUP_SECONDS" "$OUT/wrk-$profile-warmup.txt"
    accepted=$((accepted + $(field requests) - $(field non202)))
  fi
  log "$profile: measuring ${BENCH_SECONDS}s"
  g0="$(cpu_ticks "$gateway_pid")" r0=0
  [[ -n "$redis_pid" ]] && r0="$(cpu_ticks "$redis_pid")"
  run_wrk "$BENCH_SECONDS" "$OUT/wrk-$profile.txt"
  g1="$(cpu_ticks "$gateway_pid")" r1=0
  [[ -n "$redis_pid" ]] && r1="$(cpu_ticks "$redis_pid")"
  accepted=$((accepted + $(field requests) - $(field non202)))
  rps="$(field rps)" p50="$(field p50_us)" p99="$(field p99_us)" non202="$(field non202)" s503="$(field s503)" s5xx="$(field s5xx)"
  sock=$(($(field connect) + $(field read) + $(field write) + $(field timeout)))
  rss=$(($(awk '/^VmRSS:/ { print $2 }' "/proc/$gateway_pid/status" 2>/dev/null || echo 0) / 1024))
  # CPU time per task, which other load on the machine does not change as it changes tasks/s:
  # 1e6 / gateway_us is what one core given to the gateway alone would accept
  reqs="$(field requests)"
  gw_us="$(awk -v d=$((g1 - g0)) -v t="$TICK" -v n="$reqs" 'BEGIN { printf "%.0f", n ? d * 1e6 / t / n : 0 }')"
  rd_us="$(awk -v d=$((r1 - r0)) -v t="$TICK" -v n="$reqs" 'BEGIN { printf "%.0f", n ? d * 1e6 / t / n : 0 }')"
  per_core="$(awk -v us="$gw_us" 'BEGIN { printf "%.0f", us ? 1e6 / us : 0 }')"
  gw_share="$(awk -v d=$((g1 - g0)) -v t="$TICK" -v s="$(field seconds)" 'BEGIN { printf "%.0f", s ? d / t / s * 100 : 0 }')"
  sleep 1   # requests wrk left on the wire at its end finish
  if [[ "$profile" == embedded ]]; then
    stop "$gateway_pid"
    held="$(stored embedded "$data_dir")"
  else
    held="$(stored distributed "$data_dir")"
    stop "$gateway_pid"
    stop "$redis_pid"
  fi
  target=3000
  [[ "$profile" == distributed ]] && target=10000
  verdict="$(awk -v r="$rps" -v t="$target" 'BEGIN { print (r >= t) ? "met" : "missed" }')"
  durable="$( ((held >= accepted)) && echo yes || echo "NO ($((accepted - held)) missing)")"
  rows+=("$(printf '%-12s %6s %10.0f %8s %8s %7s %5s %5s %6s %7s %10s %10s  %s' "$profile" "$CONNECTIONS" "$rps" \
    "$(ms "$p50")" "$(ms "$p99")" "$non202" "$s503" "$s5xx" "$sock" "$rss" "$accepted" "$held" "$durable; target ${target}/s $verdict")")
  cpu_rows+=("$(printf '%-12s %14s %16s %12s %24s' "$profile" "$gw_us" "${gw_share}%" "$rd_us" "$per_core")")
done

say ""
say "$(printf '%-12s %6s %10s %8s %8s %7s %5s %5s %6s %7s %10s %10s  %s' profile conns 'tasks/s' p50 p99 non-202 503 5xx socket 'RSS MB' '202s' stored 'all 202s stored')"
for r in "${rows[@]}"; do
  say "$r"
done
say ""
say "# CPU per accepted task while measured (from /proc/<pid>/stat); the gateway's share of its core shows how much other load took"
say "$(printf '%-12s %14s %16s %12s %24s' profile 'gateway us/task' 'gateway CPU used' 'Redis us/task' 'tasks/s on a whole core')"
for r in "${cpu_rows[@]}"; do
  say "$r"
done
log "results in $RESULTS; wrk outputs and logs in $OUT/"
