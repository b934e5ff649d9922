#!/usr/bin/env bash
# The task queue benchmark. Run it on demand, never in CI (about 3 minutes on 2 cores).
#
#   scripts/bench-queue.sh [queue]        (default: queue)
#
# Mode "queue" (a): the queue alone, no-op tasks end to end (submit -> lease -> complete), through
# the real RedisTaskQueue and, for reference, the EmbeddedTaskQueue (SQLite in a temp dir), driven
# by src/test/java/dev/switchboard/task/QueueBench.java; next to them, in the same run and against
# the same Redis, BullMQ (pinned in scripts/bench/bullmq/package.json, scripts/bench/bullmq/bench.mjs).
#   Redis: a throwaway redis-server on a free loopback port, appendonly yes, appendfsync everysec,
#          pinned to CPU 0 (taskset -c 0); FLUSHALL and an AOF rewrite before each side, so each
#          starts from an empty data set and a small AOF.
#   The Java bench and the Node bench each pinned to CPU 1 (taskset -c 1), one after the other.
#   throughput: BENCH_N tasks (200,000) submitted by BENCH_PRODUCERS (64) producers, each waiting
#          for its answer before the next; consumed by 4 workers that lease up to 64 at a time and
#          complete them (Switchboard), or one BullMQ Worker with concurrency BENCH_CONCURRENCY
#          (64); tasks/s from the first submit to the last complete, after a warm-up run.
#   latency: submissions paced at BENCH_RATE (2,000/s) for BENCH_SECONDS (20), open loop; per task
#          from the call to submit to the completion of complete: p50, p99, max.
# Prints a table, kept in target/bench-queue.txt (the raw RESULT lines next to it in
# target/bench-queue.raw). Targets: >= 20,000 tasks/s end to end; p99 <= 3 ms at 2,000/s.
#
# Mode (b), tasks accepted through POST /api/v1/tasks per second at 16 connections (distributed
# and embedded profiles), is not here yet: it comes once the gateway runs its tasks on the queue.
# Add it as another MODE below (see "mode (b)").
#
# Environment:
#   BENCH_N=200000 BENCH_WARMUP=30000 BENCH_PRODUCERS=64 BENCH_RATE=2000 BENCH_SECONDS=20
#   BENCH_WORKERS=4 BENCH_BATCH=64     Switchboard workers and the most each leases at a time
#   BENCH_CONCURRENCY=64               the BullMQ Worker's concurrency
#   BENCH_EMBEDDED_N=50000             tasks of the embedded queue's throughput run (0: skip it)
#   BENCH_REDIS_PORT=16579             first port tried for the throwaway Redis
#   BENCH_JAVA_OPTS                    extra JVM options
#   BENCH_MVN_ARGS                     extra Maven arguments for the build, e.g. -o
#   BENCH_REBUILD=1                    rebuild the test classes and target/test.classpath
# Needs redis-server (scripts/test.sh installs it), node and npm (npm ci in scripts/bench/bullmq),
# taskset and two CPUs. The machine's other load shows in the figures: run it on a quiet machine.
set -euo pipefail

cd "$(dirname "$0")/.."

MODE="${1:-queue}"
case "$MODE" in
  queue) ;;
  # mode (b): "api" (POST /api/v1/tasks through the gateway) goes here
  -h | --help | help) sed -n '2,41p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/bench-queue.sh [queue]" >&2; exit 2 ;;
esac

BENCH_N="${BENCH_N:-200000}"
BENCH_WARMUP="${BENCH_WARMUP:-30000}"
BENCH_PRODUCERS="${BENCH_PRODUCERS:-64}"
BENCH_RATE="${BENCH_RATE:-2000}"
BENCH_SECONDS="${BENCH_SECONDS:-20}"
BENCH_WORKERS="${BENCH_WORKERS:-4}"
BENCH_BATCH="${BENCH_BATCH:-64}"
BENCH_CONCURRENCY="${BENCH_CONCURRENCY:-64}"
BENCH_EMBEDDED_N="${BENCH_EMBEDDED_N:-50000}"
REDIS_CPU=0
BENCH_CPU=1
CLASSES=target/test-classes/dev/switchboard/task/QueueBench.class
CLASSPATH_FILE=target/test.classpath
BULLMQ_DIR=scripts/bench/bullmq
TABLE=target/bench-queue.txt
RAW=target/bench-queue.raw

log() { echo "bench-queue: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh

for n in "$BENCH_N" "$BENCH_WARMUP" "$BENCH_PRODUCERS" "$BENCH_RATE" "$BENCH_SECONDS" "$BENCH_WORKERS" "$BENCH_BATCH" \
  "$BENCH_CONCURRENCY" "$BENCH_EMBEDDED_N"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "sizes are whole numbers, got '$n'"
done
command -v java >/dev/null || die "java is required"
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are required (apt-get install nodejs npm)"
command -v redis-server >/dev/null || die "redis-server is required: run scripts/test.sh once (it installs it)"
command -v taskset >/dev/null || die "taskset is required (util-linux)"
(($(nproc) >= 2)) || die "needs two CPUs (Redis on one, the benchmarks on the other)"

# --- cleanup: what this script started, by process id ---------------------------------------------

BENCH_PID=""
REDIS_PID=""
REDIS_DIR=""

cleanup() {
  local rc=$?
  set +e
  if [[ -n "$BENCH_PID" ]]; then
    log "stopping the benchmark (pid $BENCH_PID)"
    stop "$BENCH_PID"
  fi
  if [[ -n "$REDIS_PID" ]]; then
    log "stopping Redis (pid $REDIS_PID)"
    stop "$REDIS_PID"
  fi
  [[ -n "$REDIS_DIR" ]] && rm -rf "$REDIS_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build ------------------------------------------------------------------------------------------

needs_build() {
  [[ "${BENCH_REBUILD:-0}" == 1 ]] && return 0
  [[ -f "$CLASSES" && -s "$CLASSPATH_FILE" && -d target/classes ]] || return 0
  [[ pom.xml -nt "$CLASSPATH_FILE" ]] && return 0
  [[ -n "$(find src/main src/test/java -newer "$CLASSES" -type f -print -quit)" ]] && return 0
  return 1
}

if needs_build; then
  log "building test classes and classpath..."
  # shellcheck disable=SC2086 # BENCH_MVN_ARGS is a list of arguments
  mvn -q -B ${BENCH_MVN_ARGS:-} -DskipTests test-compile dependency:build-classpath \
    -Dmdep.outputFile="$CLASSPATH_FILE" -Dmdep.includeScope=test >&2
  touch "$CLASSPATH_FILE"
fi
[[ -f "$CLASSES" ]] || die "no $CLASSES after the build"

if [[ ! -d "$BULLMQ_DIR/node_modules/bullmq" || "$BULLMQ_DIR/package-lock.json" -nt "$BULLMQ_DIR/node_modules" ]]; then
  log "npm ci in $BULLMQ_DIR"
  npm ci --prefix "$BULLMQ_DIR" --no-audit --no-fund --loglevel=error </dev/null >&2 || die "npm ci failed"
fi

# --- Redis ------------------------------------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port="${BENCH_REDIS_PORT:-16579}"
last=$((port + 100))
while port_in_use "$port"; do
  port=$((port + 1))
  ((port <= last)) || die "no free port in ${BENCH_REDIS_PORT:-16579}..$last"
done
REDIS_DIR="$(mktemp -d -t switchboard-bench-redis.XXXXXX)"
log "starting Redis on 127.0.0.1:$port (CPU $REDIS_CPU, appendonly yes, appendfsync everysec)"
# setsid: its own process group, which stop() signals
setsid taskset -c "$REDIS_CPU" redis-server --bind 127.0.0.1 --port "$port" --daemonize no --dir "$REDIS_DIR" \
  --appendonly yes --appendfsync everysec --save '' --logfile "$REDIS_DIR/redis.log" </dev/null &
REDIS_PID=$!
rcli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }
for _ in $(seq 100); do
  [[ "$(rcli ping 2>/dev/null)" == PONG ]] && break
  kill -0 "$REDIS_PID" 2>/dev/null || { tail -n 20 "$REDIS_DIR/redis.log" >&2; die "Redis exited"; }
  sleep 0.1
done
[[ "$(rcli ping 2>/dev/null)" == PONG ]] || die "Redis did not answer PING"
export REDIS_URL="redis://127.0.0.1:$port"

# an empty data set and a small AOF before each side
fresh_redis() {
  rcli flushall >/dev/null
  rcli bgrewriteaof >/dev/null
  for _ in $(seq 300); do
    [[ "$(rcli info persistence | tr -d '\r' | awk -F: '/^aof_rewrite_in_progress:/ { print $2 }')" == 0 ]] \
      && [[ "$(rcli info persistence | tr -d '\r' | awk -F: '/^aof_rewrite_scheduled:/ { print $2 }')" == 0 ]] && return 0
    sleep 0.1
  done
  die "the AOF rewrite did not finish"
}

# run_pinned OUTFILE CMD...: on the benchmark CPU, in the background so that a signal reaches the
# trap at once
run_pinned() {
  local out="$1" status=0
  shift
  setsid taskset -c "$BENCH_CPU" "$@" </dev/null >>"$out" &
  BENCH_PID=$!
  wait "$BENCH_PID" || status=$?
  BENCH_PID=""
  return "$status"
}

mkdir -p target
: >"$RAW"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- Switchboard ----------------------------------------------------------------------------------

fresh_redis
log "Switchboard RedisTaskQueue (progress below)"
# shellcheck disable=SC2086 # BENCH_JAVA_OPTS is a list of options
run_pinned "$RAW" java ${BENCH_JAVA_OPTS:-} -Dbench.n="$BENCH_N" -Dbench.warmup="$BENCH_WARMUP" \
  -Dbench.producers="$BENCH_PRODUCERS" -Dbench.workers="$BENCH_WORKERS" -Dbench.batch="$BENCH_BATCH" \
  -Dbench.rate="$BENCH_RATE" -Dbench.seconds="$BENCH_SECONDS" \
  -cp "target/test-classes:target/classes:$(cat "$CLASSPATH_FILE")" dev.switchboard.task.QueueBench redis \
  || die "the Switchboard benchmark failed"

# --- BullMQ -----------------------------------------------------------------------------------------

fresh_redis
log "BullMQ $(node -p "require('./$BULLMQ_DIR/node_modules/bullmq/package.json').version") (progress below)"
run_pinned "$RAW" env BENCH_N="$BENCH_N" BENCH_WARMUP="$BENCH_WARMUP" BENCH_PRODUCERS="$BENCH_PRODUCERS" \
  BENCH_CONCURRENCY="$BENCH_CONCURRENCY" BENCH_RATE="$BENCH_RATE" BENCH_SECONDS="$BENCH_SECONDS" \
  node "$BULLMQ_DIR/bench.mjs" \
  || die "the BullMQ benchmark failed"

# --- embedded, for reference (no Redis) -----------------------------------------------------------

if ((BENCH_EMBEDDED_N > 0)); then
  log "Switchboard EmbeddedTaskQueue, for reference (progress below)"
  # shellcheck disable=SC2086
  run_pinned "$RAW" java ${BENCH_JAVA_OPTS:-} -Dbench.embedded.n="$BENCH_EMBEDDED_N" -Dbench.warmup="$((BENCH_WARMUP / 3))" \
    -Dbench.producers="$BENCH_PRODUCERS" -Dbench.workers="$BENCH_WORKERS" -Dbench.batch="$BENCH_BATCH" \
    -Dbench.rate="$BENCH_RATE" -Dbench.seconds="$BENCH_SECONDS" \
    -cp "target/test-classes:target/classes:$(cat "$CLASSPATH_FILE")" dev.switchboard.task.QueueBench embedded \
    || die "the embedded benchmark failed"
fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- table ------------------------------------------------------------------------------------------

field() { # field QUEUE FIGURE NAME
  awk -F'\t' -v q="$1" -v f="$2" -v n="$3" '$1 == "RESULT" && $2 == q && $3 == f {
    for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == n) { print kv[2]; exit } } }' "$RAW"
}
row() { # row LABEL QUEUE
  local tps p50 p99 max e1 e2
  tps="$(field "$2" throughput tasks_per_s)"
  e1="$(field "$2" throughput errors)"
  e2="$(field "$2" latency errors)"
  p50="$(field "$2" latency p50_ms)"
  p99="$(field "$2" latency p99_ms)"
  max="$(field "$2" latency max_ms)"
  [[ -n "$tps$p50" ]] || return 0
  printf '%-34s %12.0f %10.2f %10.2f %10.2f %8s\n' "$1" "${tps:-0}" "${p50:-0}" "${p99:-0}" "${max:-0}" \
    "$((${e1:-0} + ${e2:-0}))"
}
{
  echo "Queue benchmark (mode a): no-op tasks end to end, submit -> lease -> complete"
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(redis-server --version | awk '{ print $1, $2, $3 }'), AOF everysec; Redis on CPU $REDIS_CPU, benchmarks on CPU $BENCH_CPU"
  echo "throughput: $BENCH_N tasks, $BENCH_PRODUCERS producers in flight; Switchboard $BENCH_WORKERS workers leasing up to $BENCH_BATCH, BullMQ concurrency $BENCH_CONCURRENCY"
  echo "latency: paced at $BENCH_RATE/s for ${BENCH_SECONDS}s, submit -> complete"
  echo "load average before: $load_before, after: $load_after (other work on the machine shows in the figures)"
  echo
  printf '%-34s %12s %10s %10s %10s %8s\n' queue "tasks/s" "p50 ms" "p99 ms" "max ms" errors
  row "Switchboard RedisTaskQueue" redis
  row "BullMQ" bullmq
  row "Switchboard EmbeddedTaskQueue*" embedded
  ((BENCH_EMBEDDED_N > 0)) && echo "* embedded: $BENCH_EMBEDDED_N tasks, SQLite in a temp dir, no Redis (a reference)"
  echo "targets: >= 20000 tasks/s end to end; p99 <= 3 ms at 2000/s"
} | tee "$TABLE"
log "done in ${SECONDS}s; table in $TABLE, raw lines in $RAW"
