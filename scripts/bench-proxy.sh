#!/usr/bin/env bash
# The chat-proxy benchmark: wrk -> gateway -> fake upstream against wrk -> fake upstream directly,
# all on 127.0.0.1, bounded in time. Run it on demand, never in CI.
#
#   scripts/bench-proxy.sh            the proxy benchmark (and the failover run when FAILOVER=1)
#   scripts/bench-proxy.sh failover   only the failover run
#   scripts/bench-proxy.sh all        both
#
# "On one core": the gateway JVM is pinned to CPU 0 (taskset -c 0: the JVM then sees one CPU and
# sizes itself, and Vert.x its event loops, for it); the fake upstream and wrk (-t1) share CPU 1.
# The direct baseline is wrk -> fake with the same pinning. Needs two CPUs.
#
# Two arrangements, to be reported side by side:
#   UPSTREAM=node JVM_FLAGS=plain (the default): what a user sees. The fake upstream is a Node
#     server (scripts/bench/fake-openai.mjs), the gateway is launched as the README launches it,
#     `java -jar target/switchboard.jar`, with no JVM options.
#   UPSTREAM=java JVM_FLAGS=tuned: the earlier arrangement. The Java fake
#     (scripts/fake-upstream.sh, one instance), and -XX:ActiveProcessorCount=1 on the gateway.
#
# Proxy benchmark: {non-streaming, streaming} x {16, 64 connections}, each warmed up for
# WARMUP_SECONDS and measured for BENCH_SECONDS with wrk --latency and scripts/bench/chat.lua,
# first directly against the fake, then through the gateway. Prints requests/s, p50/p99 latency,
# the latency the gateway adds, errors (non-2xx + socket errors), the gateway's VmRSS after each run
# and its time from launch to /healthz 200.
#
# Failover run: fakes "a" on 18801 and "b" on 18802 behind a group "chat" (priority strategy,
# retries, circuit breaker); wrk at 16 connections for FAILOVER_SECONDS asks for model "chat",
# fake b is killed (SIGKILL, by PID) at FAILOVER_KILL_AT seconds and restarted on the same port at
# FAILOVER_RESTART_AT seconds; prints total requests, errors and the success rate.
#
# Environment:
#   BENCH_SECONDS=15  WARMUP_SECONDS=20 BENCH_CONNECTIONS="16 64"  TTFT_SECONDS=$BENCH_SECONDS (0: no TTFT run)
#   JIT_WARMUP_SECONDS=60  once, before the first point: wrk against the gateway alone, so that the
#     JIT has compiled the hot path before anything is measured (on a slow core it is still
#     compiling, and deoptimising, after 20 s; the figures then move by a third from run to run)
#   BENCH_SCENARIOS="non-streaming streaming"  (one of them for a quicker run)
#   FAILOVER=1  FAILOVER_SECONDS=30  FAILOVER_KILL_AT=10  FAILOVER_RESTART_AT=20  FAILOVER_MODEL=chat
#   SWITCHBOARD_HTTP_PORT=18789  FAKE_PORT=18800  FAKE_A_PORT=18801  FAKE_B_PORT=18802
#   UPSTREAM=node|java   the fake upstream (see above)       JVM_FLAGS=plain|tuned
#   JAR=path             the gateway jar to measure (default target/switchboard.jar: e.g. an older build)
#   REBUILD=1            rebuild target/switchboard.jar even if it exists
#   GATEWAY_JAVA_OPTS    extra JVM options for the gateway (e.g. -Xmx256m)
#
# Results: target/bench/results.txt (the printed tables); wrk outputs and the logs of the gateway
# and of the fakes in target/bench/. Everything started here is stopped by its PID on exit.
set -euo pipefail

cd "$(dirname "$0")/.."

MODE="${1:-proxy}"
case "$MODE" in
  proxy) [[ "${FAILOVER:-0}" == 1 ]] && MODE=all ;;
  failover | all) ;;
  -h | --help | help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/bench-proxy.sh [proxy|failover|all]" >&2; exit 2 ;;
esac

BENCH_SECONDS="${BENCH_SECONDS:-15}"
TTFT_SECONDS="${TTFT_SECONDS:-${BENCH_SECONDS}}"
WARMUP_SECONDS="${WARMUP_SECONDS:-20}"
JIT_WARMUP_SECONDS="${JIT_WARMUP_SECONDS:-60}"
BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-16 64}"
BENCH_SCENARIOS="${BENCH_SCENARIOS:-non-streaming streaming}"
FAILOVER_SECONDS="${FAILOVER_SECONDS:-30}"
FAILOVER_KILL_AT="${FAILOVER_KILL_AT:-10}"
FAILOVER_RESTART_AT="${FAILOVER_RESTART_AT:-20}"
FAILOVER_MODEL="${FAILOVER_MODEL:-chat}"
PORT="${SWITCHBOARD_HTTP_PORT:-18789}"
FAKE_PORT="${FAKE_PORT:-18800}"
FAKE_A_PORT="${FAKE_A_PORT:-18801}"
FAKE_B_PORT="${FAKE_B_PORT:-18802}"
UPSTREAM="${UPSTREAM:-node}"
JVM_FLAGS="${JVM_FLAGS:-plain}"
case "$UPSTREAM" in node | java) ;; *) echo "UPSTREAM is node or java, got '$UPSTREAM'" >&2; exit 2 ;; esac
case "$JVM_FLAGS" in
  plain) LAUNCH_FLAGS=() ;;
  tuned) LAUNCH_FLAGS=(-XX:ActiveProcessorCount=1) ;;
  *) echo "JVM_FLAGS is plain or tuned, got '$JVM_FLAGS'" >&2; exit 2 ;;
esac
GATEWAY_CPU=0
FAKE_CPU=1
WRK_CPU=1
GATEWAY_START_TIMEOUT=60
# the first run of the fake may compile the test classes; that happens before, unpinned
FAKE_START_TIMEOUT=60
JAR="${JAR:-target/switchboard.jar}"
OUT=target/bench
RESULTS="$OUT/results.txt"

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh
# say: a line of the results, printed and kept in target/bench/results.txt
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }

for n in "$BENCH_SECONDS" "$WARMUP_SECONDS" "$JIT_WARMUP_SECONDS" "$FAILOVER_SECONDS" "$FAILOVER_KILL_AT" "$FAILOVER_RESTART_AT"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "durations are whole seconds, got '$n'"
done
((BENCH_SECONDS > 0)) || die "BENCH_SECONDS must be positive"
((FAILOVER_KILL_AT < FAILOVER_RESTART_AT && FAILOVER_RESTART_AT < FAILOVER_SECONDS)) \
  || die "need FAILOVER_KILL_AT < FAILOVER_RESTART_AT < FAILOVER_SECONDS"
command -v curl >/dev/null || die "curl is required"
command -v java >/dev/null || die "java is required"
command -v taskset >/dev/null || die "taskset (util-linux) is required"
(($(nproc) >= 2)) || die "needs at least two CPUs (gateway on CPU $GATEWAY_CPU, fake and wrk on CPU $FAKE_CPU); nproc says $(nproc)"

if ! command -v wrk >/dev/null; then
  log "installing wrk"
  sudo=()
  [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

# --- cleanup: everything started here is stopped by its process id -------------------------------

PIDS=()
TMP_DIRS=()
WRK_PID=""
SCHEDULER_PID=""


cleanup() {
  stop "$SCHEDULER_PID"
  stop "$WRK_PID"
  # a fake b restarted by the failover scheduler, when interrupted before it was taken over
  if [[ -s "$OUT/failover-fake-b.pid" ]]; then
    stop "$(cat "$OUT/failover-fake-b.pid")"
    rm -f "$OUT/failover-fake-b.pid"
  fi
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop "${PIDS[i]}"
  done
  PIDS=()
  if ((${#TMP_DIRS[@]})); then
    rm -rf "${TMP_DIRS[@]}"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ----------------------------------------------------------------------------------

now_ms() { echo $(($(date +%s%N) / 1000000)); }


port_free() {
  local port="$1"
  if answers "http://127.0.0.1:$port/healthz" || answers "http://127.0.0.1:$port/v1/models" \
    || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "something already listens on port $port; stop it or choose another port"
  fi
}

# fake_command PORT: sets FAKE_COMMAND, the fake upstream's command line for UPSTREAM
fake_command() {
  if [[ "$UPSTREAM" == node ]]; then
    FAKE_COMMAND=(node scripts/bench/fake-openai.mjs --host 127.0.0.1 --port "$1")
  else
    FAKE_COMMAND=(scripts/fake-upstream.sh --host 127.0.0.1 --port "$1" --delay-ms 0 --instances 1)
  fi
}

# start_fake NAME PORT: a fake upstream pinned to FAKE_CPU; sets LAST_PID
start_fake() {
  local name="$1" port="$2"
  fake_command "$port"
  setsid taskset -c "$FAKE_CPU" "${FAKE_COMMAND[@]}" >>"$OUT/fake-$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  # no job notice ("Killed") when the failover run kills it
  disown "$LAST_PID"
  wait_for "fake upstream $name" "http://127.0.0.1:$port/v1/models" "$LAST_PID" "$FAKE_START_TIMEOUT" "$OUT/fake-$name.log"
}

# start_gateway LOGNAME ENV...: the gateway pinned to GATEWAY_CPU with these variables; sets
# GATEWAY_PID, GATEWAY_ENV, GATEWAY_READY_MS (launch to /healthz 200) and TOKEN
start_gateway() {
  local logname="$1"
  shift
  local data_dir
  data_dir="$(mktemp -d -t switchboard-bench.XXXXXX)"
  TMP_DIRS+=("$data_dir")
  GATEWAY_ENV=("$@"
    "SWITCHBOARD_DATA_DIR=$data_dir"
    "SWITCHBOARD_JWT_SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '\n')"
    "SWITCHBOARD_HTTP_PORT=$PORT"
    # the fakes listen on loopback, which outbound calls refuse unless allowed
    "SWITCHBOARD_OUTBOUND_ALLOW=127.0.0.1")
  local log="$OUT/$logname.log" launched
  launched="$(now_ms)"
  # shellcheck disable=SC2086 # GATEWAY_JAVA_OPTS is a list of options
  setsid env "${GATEWAY_ENV[@]}" taskset -c "$GATEWAY_CPU" \
    java "${LAUNCH_FLAGS[@]}" ${GATEWAY_JAVA_OPTS:-} -jar "$JAR" >"$log" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  disown "$GATEWAY_PID"
  wait_for "the gateway" "http://127.0.0.1:$PORT/healthz" "$GATEWAY_PID" "$GATEWAY_START_TIMEOUT" "$log" || return 1
  GATEWAY_READY_MS=$(($(now_ms) - launched))
  # the command prints just the token; keeping the last non-empty line tolerates a stray log line
  TOKEN="$(env "${GATEWAY_ENV[@]}" java -jar "$JAR" token --sub bench --ttl 1h 2>>"$log" | awk 'NF { t = $1 } END { print t }')"
  [[ -n "$TOKEN" ]] || die "'java -jar $JAR token' printed no token; see $log"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# run_wrk URL CONNECTIONS SECONDS STREAM(0|1) MODEL OUTFILE: wrk pinned to WRK_CPU; sets BENCH_LINE
run_wrk() {
  local url="$1" conns="$2" seconds="$3" stream="$4" model="$5" outfile="$6"
  BENCH_TOKEN="$TOKEN" BENCH_STREAM="$stream" BENCH_MODEL="$model" \
    timeout --kill-after=5 $((seconds + 30)) taskset -c "$WRK_CPU" \
    wrk -t1 -c"$conns" -d"${seconds}s" --timeout 10s --latency -s scripts/bench/chat.lua "$url" >"$outfile" 2>&1 &
  WRK_PID=$!
  local status=0
  wait "$WRK_PID" || status=$?
  WRK_PID=""
  BENCH_LINE="$(grep '^BENCH ' "$outfile" | tail -n 1 || true)"
  if [[ -z "$BENCH_LINE" ]]; then
    log "wrk gave no result (exit status $status); $outfile says:"
    tail -n 20 "$outfile" >&2
    BENCH_LINE="BENCH requests=0 seconds=0 rps=0 p50_us=0 p99_us=0 non2xx=0 connect=0 read=0 write=0 timeout=0"
  fi
}

# field NAME: the value of NAME=... in BENCH_LINE
field() { tr ' ' '\n' <<<"$BENCH_LINE" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
errors_of() { echo $(($(field non2xx) + $(field connect) + $(field read) + $(field write) + $(field timeout))); }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# --- build ------------------------------------------------------------------------------------

mkdir -p "$OUT"
: >"$RESULTS"
rm -f "$OUT"/*.log "$OUT"/wrk-*.txt

if [[ ! -f "$JAR" || "${REBUILD:-0}" == 1 ]]; then
  log "building $JAR"
  mvn -q -B -DskipTests package
fi
[[ -f "$JAR" ]] || die "no gateway jar at $JAR"
if [[ "$UPSTREAM" == node ]]; then
  command -v node >/dev/null || die "node is required for UPSTREAM=node (or run with UPSTREAM=java)"
else
  # compiles the fake's classes when they are missing or stale, unpinned, then just prints its usage
  scripts/fake-upstream.sh --help >/dev/null
fi

say "# switchboard chat-proxy benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "# host: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?');" \
  "$(java -version 2>&1 | head -n 1); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
say "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with local changes)')"
say "# arrangement (all on 127.0.0.1): UPSTREAM=$UPSTREAM JVM_FLAGS=$JVM_FLAGS; gateway \`java ${LAUNCH_FLAGS[*]:-}${LAUNCH_FLAGS[*]:+ }-jar\` on CPU $GATEWAY_CPU" \
  "(taskset -c $GATEWAY_CPU); fake upstream ($UPSTREAM, delay 0) on CPU $FAKE_CPU (taskset -c $FAKE_CPU);" \
  "wrk -t1 on CPU $WRK_CPU (taskset -c $WRK_CPU); direct baseline: wrk -> fake with the same pinning"

# --- proxy benchmark ----------------------------------------------------------------------------

proxy_benchmark() {
  port_free "$PORT"
  port_free "$FAKE_PORT"
  log "starting the fake upstream on port $FAKE_PORT (CPU $FAKE_CPU)"
  start_fake main "$FAKE_PORT" || exit 1
  local fake_pid="$LAST_PID"
  log "starting the gateway on port $PORT (CPU $GATEWAY_CPU)"
  start_gateway gateway "MODEL_ENDPOINT=http://127.0.0.1:$FAKE_PORT/v1" "MODEL_API_KEY=fake" || exit 1
  answers "http://127.0.0.1:$FAKE_PORT/v1/models" || die "the fake stopped answering"

  say "# gateway: launch to /healthz 200 in ${GATEWAY_READY_MS} ms; RSS after start-up $(($(rss_kb "$GATEWAY_PID") / 1024)) MB"
  if ((JIT_WARMUP_SECONDS > 0)); then
    local first_scenario=(${BENCH_SCENARIOS}) first_conns=(${BENCH_CONNECTIONS})
    log "JIT warm-up of the gateway: ${JIT_WARMUP_SECONDS}s, ${first_scenario[0]}, ${first_conns[0]} connections"
    run_wrk "http://127.0.0.1:$PORT" "${first_conns[0]}" "$JIT_WARMUP_SECONDS" "$([[ ${first_scenario[0]} == streaming ]] && echo 1 || echo 0)" \
      fake-model "$OUT/wrk-jit-warmup.txt"
  fi
  say "# gateway JIT warm-up: ${JIT_WARMUP_SECONDS}s once; then each run: ${WARMUP_SECONDS}s warm-up, ${BENCH_SECONDS}s measured; wrk --timeout 10s; scripts/bench/chat.lua"
  say "# latencies in ms; added = gateway - direct; errors = non-2xx + socket errors (direct/gateway); RSS = gateway VmRSS after the run"

  local header rows=() max_rss=0
  header="$(printf '%-14s %5s %11s %11s %6s %15s %15s %15s %9s %7s' \
    scenario conns 'direct rps' 'gateway rps' ratio 'direct p50/p99' 'gateway p50/p99' 'added p50/p99' errors 'RSS MB')"
  local scenario stream conns target url d_rps d_p50 d_p99 d_err g_rps g_p50 g_p99 g_err rss
  for scenario in $BENCH_SCENARIOS; do
    stream=0
    [[ "$scenario" == streaming ]] && stream=1
    for conns in $BENCH_CONNECTIONS; do
      for target in direct gateway; do
        if [[ "$target" == direct ]]; then url="http://127.0.0.1:$FAKE_PORT"; else url="http://127.0.0.1:$PORT"; fi
        if ((WARMUP_SECONDS > 0)); then
          log "$scenario, $conns connections, $target: warm-up ${WARMUP_SECONDS}s"
          run_wrk "$url" "$conns" "$WARMUP_SECONDS" "$stream" fake-model "$OUT/wrk-$scenario-$conns-$target-warmup.txt"
        fi
        log "$scenario, $conns connections, $target: measuring ${BENCH_SECONDS}s"
        run_wrk "$url" "$conns" "$BENCH_SECONDS" "$stream" fake-model "$OUT/wrk-$scenario-$conns-$target.txt"
        if [[ "$target" == direct ]]; then
          d_rps="$(field rps)" d_p50="$(field p50_us)" d_p99="$(field p99_us)" d_err="$(errors_of)"
        else
          g_rps="$(field rps)" g_p50="$(field p50_us)" g_p99="$(field p99_us)" g_err="$(errors_of)"
          rss=$(($(rss_kb "$GATEWAY_PID") / 1024))
          ((rss > max_rss)) && max_rss=$rss
        fi
      done
      kill -0 "$GATEWAY_PID" 2>/dev/null || die "the gateway died; see $OUT/gateway.log"
      kill -0 "$fake_pid" 2>/dev/null || die "the fake upstream died; see $OUT/fake-main.log"
      rows+=("$(awk -v s="$scenario" -v c="$conns" -v dr="$d_rps" -v gr="$g_rps" \
        -v d50="$d_p50" -v d99="$d_p99" -v g50="$g_p50" -v g99="$g_p99" -v de="$d_err" -v ge="$g_err" -v rss="$rss" 'BEGIN {
          printf "%-14s %5d %11.0f %11.0f %6.2f %15s %15s %15s %9s %7d", s, c, dr, gr, (dr > 0 ? gr / dr : 0),
            sprintf("%.2f/%.2f", d50 / 1000, d99 / 1000), sprintf("%.2f/%.2f", g50 / 1000, g99 / 1000),
            sprintf("%.2f/%.2f", (g50 - d50) / 1000, (g99 - d99) / 1000), de "/" ge, rss }')")
    done
  done
  say ""
  say "$header"
  local row
  for row in "${rows[@]}"; do
    say "$row"
  done
  say ""
  say "# gateway max RSS over the runs: ${max_rss} MB; launch to /healthz 200: ${GATEWAY_READY_MS} ms"

  # time to first token: wrk only sees a response's end; scripts/bench/ttft.mjs sees its first event
  if ((TTFT_SECONDS > 0)) && command -v node >/dev/null; then
    say ""
    say "# streaming time to first token (scripts/bench/ttft.mjs, Node client on CPU $WRK_CPU), ${TTFT_SECONDS}s per run after 4s"
    say "$(printf '%-14s %5s %11s %11s %17s %17s %15s %9s' scenario conns 'direct rps' 'gateway rps' 'direct ttft p50/p99' 'gateway ttft p50/p99' 'added p50/p99' errors)"
    local line d_line g_line
    for conns in $BENCH_CONNECTIONS; do
      for target in direct gateway; do
        if [[ "$target" == direct ]]; then url="http://127.0.0.1:$FAKE_PORT"; else url="http://127.0.0.1:$PORT"; fi
        line="$(timeout --kill-after=5 $((TTFT_SECONDS + 30)) taskset -c "$WRK_CPU" node scripts/bench/ttft.mjs --url "$url" \
          --connections "$conns" --seconds "$TTFT_SECONDS" --warmup 4 --token "$TOKEN" 2>>"$OUT/ttft.log" | grep '^TTFT ' || true)"
        [[ -n "$line" ]] || line="TTFT requests=0 rps=0 ttft_p50_us=0 ttft_p99_us=0 errors=0"
        if [[ "$target" == direct ]]; then d_line="$line"; else g_line="$line"; fi
      done
      say "$(BENCH_LINE="$d_line"; dr=$(field rps) d50=$(field ttft_p50_us) d99=$(field ttft_p99_us) de=$(field errors)
        BENCH_LINE="$g_line"; gr=$(field rps) g50=$(field ttft_p50_us) g99=$(field ttft_p99_us) ge=$(field errors)
        awk -v c="$conns" -v dr="$dr" -v gr="$gr" -v d50="$d50" -v d99="$d99" -v g50="$g50" -v g99="$g99" -v e="$de/$ge" 'BEGIN {
          printf "%-14s %5d %11.0f %11.0f %17s %17s %15s %9s", "ttft", c, dr, gr, sprintf("%.2f/%.2f", d50 / 1000, d99 / 1000),
            sprintf("%.2f/%.2f", g50 / 1000, g99 / 1000), sprintf("%.2f/%.2f", (g50 - d50) / 1000, (g99 - d99) / 1000), e }')"
    done
  fi

  stop "$GATEWAY_PID"
  stop "$fake_pid"
}

# --- failover -----------------------------------------------------------------------------------

write_failover_conf() {
  local dir="$1"
  cp conf/switchboard.yaml conf/channels.yaml "$dir/"
  cat >"$dir/model_provider.yaml" <<EOF
providers:
  - name: "a"
    type: "api_gateway"
    endpoint: "http://127.0.0.1:$FAKE_A_PORT/v1"
    auth: { type: "api_key", key: "fake" }
    models: ["fake-model"]
    timeouts: { connect: 1s, first_token: 5s, total: 10s }
  - name: "b"
    type: "api_gateway"
    endpoint: "http://127.0.0.1:$FAKE_B_PORT/v1"
    auth: { type: "api_key", key: "fake" }
    models: ["fake-model"]
    timeouts: { connect: 1s, first_token: 5s, total: 10s }
groups:
  - name: "chat"
    strategy: "priority"
    deployments:
      - { provider: "a", model: "fake-model", priority: 1, weight: 1 }
      - { provider: "b", model: "fake-model", priority: 1, weight: 1 }
retry: { max_attempts: 3, deadline: 10s, backoff: { base: 10ms, max: 200ms } }
circuit_breaker: { window: 10s, min_calls: 10, failure_rate: 0.5, cooldown: 5s }
health_check: { interval: 5s, timeout: 2s }
EOF
}

failover_run() {
  port_free "$PORT"
  port_free "$FAKE_A_PORT"
  port_free "$FAKE_B_PORT"
  log "failover: starting fakes a on $FAKE_A_PORT and b on $FAKE_B_PORT (CPU $FAKE_CPU)"
  start_fake a "$FAKE_A_PORT" || exit 1
  local fake_a_pid="$LAST_PID"
  start_fake b "$FAKE_B_PORT" || exit 1
  local fake_b_pid="$LAST_PID"

  local conf_dir
  conf_dir="$(mktemp -d -t switchboard-bench-conf.XXXXXX)"
  TMP_DIRS+=("$conf_dir")
  write_failover_conf "$conf_dir"
  cp "$conf_dir/model_provider.yaml" "$OUT/failover-model_provider.yaml"
  log "failover: starting the gateway with the group config (SWITCHBOARD_CONF_DIR=$conf_dir)"
  say ""
  say "# failover: group \"chat\" over fakes a (:$FAKE_A_PORT) and b (:$FAKE_B_PORT); wrk -c16, ${FAILOVER_SECONDS}s," \
    "model \"$FAILOVER_MODEL\", non-streaming; b killed at ${FAILOVER_KILL_AT}s, restarted at ${FAILOVER_RESTART_AT}s"
  if ! start_gateway gateway-failover "SWITCHBOARD_CONF_DIR=$conf_dir"; then
    say "failover: the gateway did not start with this config; see $OUT/gateway-failover.log"
    return 1
  fi
  local probe
  probe="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 15 -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"model\":\"$FAILOVER_MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hello benchmark\"}]}" \
    "http://127.0.0.1:$PORT/v1/chat/completions" || true)"
  say "# one request for model \"$FAILOVER_MODEL\" before the run: HTTP $probe"
  [[ "$probe" == 200 ]] || say "# note: the gateway does not serve model \"$FAILOVER_MODEL\" (HTTP $probe): does this jar know groups?"

  # the kill and the restart, timed from the start of wrk; its lines go to the results afterwards
  local events="$OUT/failover-events.txt"
  : >"$events"
  (
    sleeper=""
    trap '[[ -n "$sleeper" ]] && kill "$sleeper" 2>/dev/null; exit 143' TERM
    nap() { sleep "$1" & sleeper=$!; wait "$sleeper"; sleeper=""; }
    started="$(now_ms)"
    nap "$FAILOVER_KILL_AT"
    kill -KILL -- "-$fake_b_pid" 2>/dev/null || kill -KILL "$fake_b_pid" 2>/dev/null || true
    echo "fake b (pid $fake_b_pid) killed at $(awk -v ms=$(($(now_ms) - started)) 'BEGIN { printf "%.1f", ms / 1000 }')s" >>"$events"
    nap $((FAILOVER_RESTART_AT - FAILOVER_KILL_AT))
    fake_command "$FAKE_B_PORT"
    setsid taskset -c "$FAKE_CPU" "${FAKE_COMMAND[@]}" >>"$OUT/fake-b.log" 2>&1 &
    echo "$!" >"$OUT/failover-fake-b.pid"
    echo "fake b restarted (pid $!) at $(awk -v ms=$(($(now_ms) - started)) 'BEGIN { printf "%.1f", ms / 1000 }')s" >>"$events"
    until answers "http://127.0.0.1:$FAKE_B_PORT/v1/models"; do nap 0.05; done
    echo "fake b answering again at $(awk -v ms=$(($(now_ms) - started)) 'BEGIN { printf "%.1f", ms / 1000 }')s" >>"$events"
  ) &
  SCHEDULER_PID=$!
  run_wrk "http://127.0.0.1:$PORT" 16 "$FAILOVER_SECONDS" 0 "$FAILOVER_MODEL" "$OUT/wrk-failover.txt"
  wait "$SCHEDULER_PID" 2>/dev/null || true
  SCHEDULER_PID=""
  if [[ -s "$OUT/failover-fake-b.pid" ]]; then
    PIDS+=("$(cat "$OUT/failover-fake-b.pid")")
    rm -f "$OUT/failover-fake-b.pid"
  fi
  while read -r line; do say "# $line"; done <"$events"

  local requests non2xx socket ok failed
  requests="$(field requests)" non2xx="$(field non2xx)"
  socket=$(($(field connect) + $(field read) + $(field write) + $(field timeout)))
  ok=$((requests - non2xx))
  failed=$((non2xx + socket))
  say "failover: requests=$requests non-2xx=$non2xx socket-errors=$socket (connect $(field connect), read $(field read)," \
    "write $(field write), timeout $(field timeout)) success-rate=$(awk -v ok=$ok -v f=$failed \
    'BEGIN { printf "%.2f%%", (ok + f > 0 ? 100 * ok / (ok + f) : 0) }') rps=$(field rps)" \
    "p50=$(ms "$(field p50_us)")ms p99=$(ms "$(field p99_us)")ms"
  kill -0 "$fake_a_pid" 2>/dev/null || log "fake a died during the run; see $OUT/fake-a.log"
  stop "$GATEWAY_PID"
}

status=0
if [[ "$MODE" == proxy || "$MODE" == all ]]; then
  proxy_benchmark
fi
if [[ "$MODE" == failover || "$MODE" == all ]]; then
  failover_run || status=1
fi
log "results written to $RESULTS"
exit "$status"
