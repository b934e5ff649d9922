#!/usr/bin/env bash
# The memory-footprint benchmark: how much RSS a plain `java -jar target/switchboard.jar` (as the
# README runs it, no JVM options) holds at start, under chats and bad input, and after it idles,
# with the gateway's JVM defaults (dev.switchboard.observe.JvmDefaults) and without them
# (-Dswitchboard.jvm.defaults=false). Run it on demand, never in CI: about 5 minutes per mode.
#
#   scripts/bench-footprint.sh            both modes: "on" (the defaults), then "off"
#   scripts/bench-footprint.sh on|off     one of them
#   scripts/bench-footprint.sh stream     issue 15's RSS targets: 64 streaming connections for
#                                         LOAD_SECONDS, with and without the local embedding model
#                                         loaded and used (MEMORY_WORKERS writing and searching
#                                         memories during the load), each with the gateway pinned to
#                                         one CPU (taskset -c 0: the JVM sees 1 CPU and picks
#                                         SerialGC, a "2-core server" with the load on the other
#                                         core) and unpinned (G1); no bad input, IDLE_SECONDS=0
#   scripts/bench-footprint.sh stream-1cpu|stream-1cpu-mem|stream-2cpu|stream-2cpu-mem   one of those
#
# The stream modes report, besides the peak, the steady RSS: the median of the load's second half.
#
# Each mode: a fresh data folder; the gateway in front of the fake upstream (scripts/fake-upstream.sh,
# started once); SETTLE_SECONDS after /healthz answers, RSS "at start"; then LOAD_SECONDS of chats
# (wrk -t1 -c16 with scripts/bench/chat.lua when wrk is installed, else Python threads) and bad input
# (scripts/bench/footprint_load.py: bodies over and just under max_body_size, invalid JSON, forged
# tokens, unknown models, bad query strings, cut-off bodies), RSS sampled every second ("peak");
# then IDLE_SECONDS with no requests ("after idle" is the last sample, "idle min" the lowest).
# RSS is VmRSS from /proc/PID/status; the Java heap's committed and used sizes come from
# `jcmd PID GC.heap_info` and the collection counts from `jstat -gc PID` when the JDK has them. Nothing
# is pinned to a CPU (but in stream-1cpu*): this is the plain java -jar. The load shares the machine's
# CPUs, so how many chats a run put through (its LOAD line) differs from run to run, and Serial's RSS
# with it: compare runs with similar counts.
#
# Environment:
#   LOAD_SECONDS=45  IDLE_SECONDS=80  SETTLE_SECONDS=5
#   CHAT_WORKERS=8 (Python chats, without wrk)  BAD_WORKERS=4  WRK_CONNECTIONS=16
#   SWITCHBOARD_HTTP_PORT=18789  FAKE_PORT=18800
#   STREAM_CONNECTIONS=64  MEMORY_WORKERS=2 (the stream modes)
#   JAR=target/switchboard.jar   the jar to run (a BEFORE build, say)
#   NMT=1                for diagnosis: the gateway runs with -XX:NativeMemoryTracking=summary and
#                        nmt-<mode>.txt gets `jcmd PID VM.native_memory summary` at the end of the load
#                        (NMT itself costs some memory: not for the figures)
#   REBUILD=1            rebuild target/switchboard.jar even if it exists
#   GATEWAY_JAVA_OPTS    extra JVM options for the gateway in every mode (default none), e.g.
#                        "-XX:+UseSerialGC -Xmn64m", the README's small-server flags
#
# Results: target/bench-footprint/results.txt; per mode the RSS timeline (rss-<mode>.tsv: seconds,
# phase, RSS MB), the load's summary and the gateway's log. All on 127.0.0.1; everything started
# here is stopped by its PID on exit.
set -euo pipefail

cd "$(dirname "$0")/.."

MODES="${1:-both}"
case "$MODES" in
  both) MODES="on off" ;;
  stream) MODES="stream-1cpu stream-1cpu-mem stream-2cpu stream-2cpu-mem" ;;
  on | off | stream-1cpu | stream-1cpu-mem | stream-2cpu | stream-2cpu-mem) ;;
  -h | --help | help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/bench-footprint.sh [on|off|stream|stream-1cpu|stream-1cpu-mem|stream-2cpu|stream-2cpu-mem]" >&2; exit 2 ;;
esac
[[ "$MODES" == stream* ]] && IDLE_SECONDS="${IDLE_SECONDS:-0}"

LOAD_SECONDS="${LOAD_SECONDS:-45}"
IDLE_SECONDS="${IDLE_SECONDS:-80}"
SETTLE_SECONDS="${SETTLE_SECONDS:-5}"
CHAT_WORKERS="${CHAT_WORKERS:-8}"
BAD_WORKERS="${BAD_WORKERS:-4}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-16}"
STREAM_CONNECTIONS="${STREAM_CONNECTIONS:-64}"
MEMORY_WORKERS="${MEMORY_WORKERS:-2}"
PORT="${SWITCHBOARD_HTTP_PORT:-18789}"
FAKE_PORT="${FAKE_PORT:-18800}"
GATEWAY_START_TIMEOUT=60
FAKE_START_TIMEOUT=120
JAR="${JAR:-target/switchboard.jar}"
OUT=target/bench-footprint
RESULTS="$OUT/results.txt"

log() { echo "bench-footprint: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }

for n in "$LOAD_SECONDS" "$IDLE_SECONDS" "$SETTLE_SECONDS" "$CHAT_WORKERS" "$BAD_WORKERS" "$WRK_CONNECTIONS" "$STREAM_CONNECTIONS" "$MEMORY_WORKERS"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "durations and counts are whole numbers, got '$n'"
done
((LOAD_SECONDS > 0)) || die "LOAD_SECONDS must be positive"
command -v curl >/dev/null || die "curl is required"
command -v java >/dev/null || die "java is required"
command -v python3 >/dev/null || die "python3 is required (the bad-input load)"

# --- cleanup: everything started here is stopped by its process id -------------------------------

PIDS=()
TMP_DIRS=()
LOAD_PIDS=()

cleanup() {
  local i
  for i in "${LOAD_PIDS[@]}"; do stop "$i"; done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop "${PIDS[i]}"; done
  PIDS=()
  if ((${#TMP_DIRS[@]})); then rm -rf "${TMP_DIRS[@]}"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "something already listens on port $1; stop it or choose another port"
  fi
}

rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# heap PID: "committed/used MB" of the Java heap, or "?" without jcmd
heap() {
  command -v jcmd >/dev/null || { echo "?"; return; }
  jcmd "$1" GC.heap_info 2>/dev/null | awk '
    /total [0-9]+K, used [0-9]+K/ {
      for (i = 1; i <= NF; i++) { if ($i == "total") t = $(i + 1); if ($i == "used") u = $(i + 1) }
      gsub(/[K,]/, "", t); gsub(/[K,]/, "", u); tt += t; uu += u
    }
    END { if (tt) printf "%d/%d", tt / 1024, uu / 1024; else print "?" }'
}

# gcs PID: collections so far (young/concurrent cycles/full) and their pause time, or "?" without jstat
gcs() {
  command -v jstat >/dev/null || { echo "?"; return; }
  jstat -gc "$1" 2>/dev/null | awk '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
    NR == 2 { printf "%d young, %d concurrent, %d full, %.2fs paused", $col["YGC"], $col["CGC"], $col["FGC"], $col["YGCT"] + $col["FGCT"] }
    END { if (NR < 2) print "?" }'
}

# --- build and the fake upstream ----------------------------------------------------------------------

mkdir -p "$OUT"
: >"$RESULTS"
if [[ "$JAR" == target/switchboard.jar && (! -f "$JAR" || "${REBUILD:-0}" == 1) ]]; then
  log "building $JAR"
  # shellcheck source=lib/maven.sh
  source scripts/lib/maven.sh
  plain_maven_output 2
  mvn -q -B -DskipTests package >&2
fi
[[ -f "$JAR" ]] || die "no gateway jar at $JAR"

port_free "$PORT"
port_free "$FAKE_PORT"
log "starting the fake upstream on 127.0.0.1:$FAKE_PORT"
setsid scripts/fake-upstream.sh --host 127.0.0.1 --port "$FAKE_PORT" --delay-ms 0 --instances 1 >"$OUT/fake.log" 2>&1 &
FAKE_PID=$!
PIDS+=("$FAKE_PID")
wait_for "fake upstream" "http://127.0.0.1:$FAKE_PORT/v1/models" "$FAKE_PID" "$FAKE_START_TIMEOUT" "$OUT/fake.log" || exit 1

chats_by=python
command -v wrk >/dev/null && chats_by="wrk -t1 -c$WRK_CONNECTIONS"
[[ "$MODES" == stream* ]] && chats_by="none besides the streams"
say "# switchboard footprint benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "# host: $(nproc) CPUs, $(awk '/^MemTotal:/ { printf "%d MB", $2 / 1024 }' /proc/meminfo) RAM; $(java -version 2>&1 | head -n 1)"
say "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with local changes)')"
say "# java -jar $JAR${GATEWAY_JAVA_OPTS:+ with $GATEWAY_JAVA_OPTS}; load ${LOAD_SECONDS}s (chats: $chats_by;" \
  "bad input: $BAD_WORKERS Python workers; stream modes: $STREAM_CONNECTIONS streaming Python connections, $MEMORY_WORKERS memory workers), then ${IDLE_SECONDS}s idle; RSS = VmRSS; heap = committed/used MB (jcmd)"

# --- one mode -------------------------------------------------------------------------------------

ROWS=()

run_mode() {
  local mode="$1" props=() pin=() load_pin=() stream=0 memory=0
  [[ "$mode" == off ]] && props=(-Dswitchboard.jvm.defaults=false)
  [[ "${NMT:-0}" == 1 ]] && props+=(-XX:NativeMemoryTracking=summary)
  [[ "$mode" == stream-* ]] && stream=1
  [[ "$mode" == *-mem ]] && memory=1
  if [[ "$mode" == stream-1cpu* ]]; then
    command -v taskset >/dev/null || die "taskset is required for $mode"
    pin=(taskset -c 0) load_pin=(taskset -c 1)
  fi
  port_free "$PORT"
  local data_dir gateway_log="$OUT/gateway-$mode.log" timeline="$OUT/rss-$mode.tsv"
  data_dir="$(mktemp -d -t switchboard-footprint.XXXXXX)"
  TMP_DIRS+=("$data_dir")
  local env=("SWITCHBOARD_DATA_DIR=$data_dir" "SWITCHBOARD_HTTP_PORT=$PORT"
    "SWITCHBOARD_JWT_SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '\n')"
    "MODEL_ENDPOINT=http://127.0.0.1:$FAKE_PORT/v1" "MODEL_API_KEY=fake" "SWITCHBOARD_OUTBOUND_ALLOW=127.0.0.1")
  log "mode $mode: starting the gateway"
  # shellcheck disable=SC2086 # GATEWAY_JAVA_OPTS is a list of options
  setsid "${pin[@]}" env "${env[@]}" java ${GATEWAY_JAVA_OPTS:-} "${props[@]}" -jar "$JAR" >"$gateway_log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_for "the gateway" "http://127.0.0.1:$PORT/healthz" "$pid" "$GATEWAY_START_TIMEOUT" "$gateway_log" || exit 1
  local token
  token="$(env "${env[@]}" java -jar "$JAR" token --sub footprint --ttl 1h 2>>"$gateway_log" | awk 'NF { t = $1 } END { print t }')"
  [[ -n "$token" ]] || die "'java -jar $JAR token' printed no token; see $gateway_log"
  sleep "$SETTLE_SECONDS"
  local start_rss start_heap
  start_rss="$(rss_mb "$pid")" start_heap="$(heap "$pid")"
  printf 'seconds\tphase\trss_mb\n' >"$timeline"

  log "mode $mode: load for ${LOAD_SECONDS}s"
  LOAD_PIDS=()
  local load_out="$OUT/load-$mode.txt" wrk_out="$OUT/wrk-$mode.txt" no_chats=() load_args=()
  rm -f "$wrk_out"
  if ((stream)); then
    # Python threads, one keep-alive connection each, every chat streamed
    load_args=(--chat-workers "$STREAM_CONNECTIONS" --stream-all --bad-workers 0)
    ((memory)) && load_args+=(--memory-workers "$MEMORY_WORKERS")
  else
    load_args=(--chat-workers "$CHAT_WORKERS" --bad-workers "$BAD_WORKERS")
  fi
  if ((!stream)) && command -v wrk >/dev/null; then
    no_chats=(--no-chats)
    BENCH_TOKEN="$token" BENCH_STREAM=0 BENCH_MODEL=fake-model setsid timeout --kill-after=5 $((LOAD_SECONDS + 30)) \
      wrk -t1 -c"$WRK_CONNECTIONS" -d"${LOAD_SECONDS}s" --timeout 10s -s scripts/bench/chat.lua "http://127.0.0.1:$PORT" \
      >"$wrk_out" 2>&1 &
    LOAD_PIDS+=("$!")
  fi
  setsid "${load_pin[@]}" timeout --kill-after=5 $((LOAD_SECONDS + 60)) python3 scripts/bench/footprint_load.py \
    --url "http://127.0.0.1:$PORT" --token "$token" --seconds "$LOAD_SECONDS" \
    "${load_args[@]}" "${no_chats[@]}" >"$load_out" 2>&1 &
  LOAD_PIDS+=("$!")

  local t=0 rss peak=0 peak_heap="?" load_gcs="?" p running
  while :; do
    running=0
    for p in "${LOAD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
    ((running)) || break
    kill -0 "$pid" 2>/dev/null || die "the gateway died under load; see $gateway_log"
    rss="$(rss_mb "$pid")"
    printf '%d\tload\t%d\n' "$t" "$rss" >>"$timeline"
    if ((rss > peak)); then peak=$rss; fi
    sleep 1
    t=$((t + 1))
  done
  for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  LOAD_PIDS=()
  peak_heap="$(heap "$pid")" load_gcs="$(gcs "$pid")"
  if [[ "${NMT:-0}" == 1 ]]; then jcmd "$pid" VM.native_memory summary >"$OUT/nmt-$mode.txt" 2>&1 || true; fi
  # steady: the median of the load's second half, once the pools and the heap have grown
  local steady
  steady="$(awk -F'\t' 'NR > 1 && $2 == "load" { v[n++] = $3 } END {
    if (!n) { print 0; exit } h = int(n / 2); m = n - h; for (i = h; i < n; i++) w[i - h] = v[i]
    for (i = 0; i < m; i++) for (j = i + 1; j < m; j++) if (w[j] < w[i]) { x = w[i]; w[i] = w[j]; w[j] = x }
    print w[int(m / 2)] }' "$timeline")"
  local gc_name=""
  gc_name="$(command -v jcmd >/dev/null && jcmd "$pid" VM.flags 2>/dev/null | grep -o -E -- '-XX:\+Use(Serial|G1|Parallel|Z|Shenandoah)GC' | head -n 1 | sed 's/-XX:+Use//' || true)"
  local load_line chats_line=""
  load_line="$(grep '^LOAD ' "$load_out" | tail -n 1 || echo "LOAD (no summary; see $load_out)")"
  [[ -f "$wrk_out" ]] && chats_line="$(grep '^BENCH ' "$wrk_out" | tail -n 1 || true)"

  log "mode $mode: idle for ${IDLE_SECONDS}s"
  local idle_start=$t idle_min=$rss
  while ((t - idle_start < IDLE_SECONDS)); do
    sleep 1
    t=$((t + 1))
    kill -0 "$pid" 2>/dev/null || die "the gateway died while idle; see $gateway_log"
    rss="$(rss_mb "$pid")"
    printf '%d\tidle\t%d\n' "$t" "$rss" >>"$timeline"
    if ((rss < idle_min)); then idle_min=$rss; fi
  done
  local idle_heap warnings
  idle_heap="$(heap "$pid")"
  warnings="$(grep -c -E ' (WARNING|SEVERE) ' "$gateway_log" || true)"
  curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/healthz" || die "the gateway stopped answering /healthz; see $gateway_log"
  stop "$pid"

  say ""
  say "mode $mode$([[ "$mode" == off ]] && echo ' (-Dswitchboard.jvm.defaults=false)')${pin[*]:+ (${pin[*]})}${gc_name:+, $gc_name}: RSS start ${start_rss} MB," \
    "peak ${peak} MB, steady ${steady} MB, after ${IDLE_SECONDS}s idle ${rss} MB (idle min ${idle_min} MB);" \
    "heap start ${start_heap}, end of load ${peak_heap}, after idle ${idle_heap}; log lines at WARNING+: ${warnings}"
  say "  $load_line"
  say "  collections during start-up and load: $load_gcs"
  [[ -n "$chats_line" ]] && say "  wrk chats: $chats_line"
  ROWS+=("$(printf '%-16s %-7s %10s %9s %11s %16s %14s %18s' "$mode" "${gc_name:-?}" "$start_rss" "$peak" "$steady" "$rss" "$idle_min" "$idle_heap")")
}

for mode in $MODES; do
  run_mode "$mode"
done

say ""
say "$(printf '%-16s %-7s %10s %9s %11s %16s %14s %18s' mode GC 'start MB' 'peak MB' 'steady MB' 'after idle MB' 'idle min MB' 'heap c/u after idle')"
for row in "${ROWS[@]}"; do say "$row"; done
log "results in $RESULTS; timelines in $OUT/rss-*.tsv"
