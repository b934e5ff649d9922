#!/usr/bin/env bash
# The long-term memory benchmark (src/test/java/dev/switchboard/memory/MemoryBench.java). Run it on
# demand, never in CI: the full run takes about 10 minutes on 2 cores.
#
#   scripts/bench-memory.sh [pg|embedded|model|all]      (default: all)
#
# 100,000 memories of 512 dimensions in ONE scope (+3,000 in 30 other scopes, so the scope filter is
# real), synthetic clustered unit vectors (fixed seed), 1,000 queries; exact top-10 by brute-force
# cosine is the truth. Latencies are sequential (one request in flight) after 200 warm-up queries.
#   pg        PostgreSQL + pgvector HNSW (PgMemories): insert rate through store.insert (16 in flight);
#             p50/p99/mean latency and recall@10 of the store's own nearest SQL run raw on a pool with
#             the store's session settings, of store.nearest (k=10, and 30 = what the hybrid search
#             asks for), of store.keyword, and of the hybrid LongTermMemory.search (the query vectors
#             are prepared, so it is store + ranking, no model); what the store adds over raw, checked
#             against the target (recall@10 >= 0.98, <= 2 ms p99 above raw pgvector). Also: the raw
#             SQL with its statement kept prepared (as the store's pool keeps it), both halves at once
#             without hop or ranking, and the hybrid search's steps timed one by one (worker hop,
#             segmenting, each half, ranking).
#   embedded  SQLite + Lucene (EmbeddedMemories) in a temp data dir: single-insert rate (first 2,000,
#             one durable transaction each), index build rate (the rest bulk-loaded into SQLite, the
#             Lucene index rebuilt by re-opening the store), the same searches.
#   model     the local model (LocalEmbedder, bge-small-zh v1.5 quantized, 1 worker thread): texts/s
#             over 2,000 short Chinese sentences in batches of 32, and single-text latency.
# Prints a table (also kept in target/bench-memory.txt) and writes target/bench-memory.json.
#
# PostgreSQL: $DATABASE_URL when set (the role needs CREATE on the database; the benchmark works in
# a schema bench_<random> and drops it at the end), otherwise a throwaway PostgreSQL 15 cluster with
# pgvector on a free loopback port, with the stock settings (durable: fsync on), stopped and
# removed on exit, also on Ctrl-C. pgvector must be installed: run scripts/test.sh once if not.
#
# Environment:
#   BENCH_JAVA_OPTS   JVM options, e.g. sizes (defaults shown; all listed in MemoryBench's javadoc):
#                     -Dbench.n=100000 -Dbench.dims=512 -Dbench.queries=1000 -Dbench.k=10
#                     -Dbench.warmup=200 -Dbench.concurrency=16 -Dbench.single=2000
#                     -Dkeep=true keeps the pg schema and the embedded data dir
#                     -Dbench.schema=bench_<id> searches a kept schema again (DATABASE_URL set to
#                     its database): no inserts, the schema is kept
#   BENCH_PG_PORT=15532  first port tried for the throwaway cluster
#   BENCH_PG_OPTS     extra server options for it, e.g. "-c shared_buffers=1GB"
#   BENCH_MVN_ARGS    extra Maven arguments for the build, e.g. -o
#   BENCH_REBUILD=1   rebuild the test classes and target/test.classpath even when up to date
# Nothing is pinned to a CPU.
set -euo pipefail

cd "$(dirname "$0")/.."

MODE="${1:-all}"
case "$MODE" in
  pg | embedded | model | all) ;;
  -h | --help | help) sed -n '2,42p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/bench-memory.sh [pg|embedded|model|all]" >&2; exit 2 ;;
esac

PG_BIN=/usr/lib/postgresql/15/bin
PG_START_TIMEOUT=30
CLASSES=target/test-classes/dev/switchboard/memory/MemoryBench.class
CLASSPATH_FILE=target/test.classpath
TABLE=target/bench-memory.txt

log() { echo "bench-memory: $*" >&2; }
die() { log "$*"; exit 1; }

command -v java >/dev/null || die "java is required"

# --- cleanup: what this script started, by process id ---------------------------------------------

JAVA_PID=""
PG_DIR=""
PG_STARTED=0

alive() {
  local state
  state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# runs a command as the owner of the throwaway cluster
as_pg() {
  if [[ "$(id -u)" -eq 0 ]]; then
    (cd "$PG_DIR" && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

cleanup() {
  local rc=$? i
  set +e
  if [[ -n "$JAVA_PID" ]] && alive "$JAVA_PID"; then
    # TERM lets the benchmark drop its schema (a shutdown hook) before it goes
    log "stopping the benchmark (pid $JAVA_PID)"
    kill -TERM "$JAVA_PID" 2>/dev/null
    for i in $(seq 300); do alive "$JAVA_PID" || break; sleep 0.1; done
    alive "$JAVA_PID" && kill -KILL "$JAVA_PID" 2>/dev/null
  fi
  if [[ "$PG_STARTED" -eq 1 ]]; then
    local pg_pid=""
    [[ -f "$PG_DIR/data/postmaster.pid" ]] && pg_pid="$(head -n 1 "$PG_DIR/data/postmaster.pid")"
    log "stopping the throwaway PostgreSQL${pg_pid:+ (pid $pg_pid)}"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1 \
      || log "pg_ctl stop failed"
    if [[ -n "$pg_pid" ]] && alive "$pg_pid"; then
      log "PostgreSQL (pid $pg_pid) still running, killing it"
      kill -KILL "$pg_pid" 2>/dev/null
    fi
  fi
  [[ -n "$PG_DIR" ]] && rm -rf "$PG_DIR"
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
  # the plugin leaves the file alone when its content is unchanged: mark it up to date
  touch "$CLASSPATH_FILE"
fi
[[ -f "$CLASSES" ]] || die "no $CLASSES after the build"

# --- PostgreSQL ---------------------------------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

psql_as() { # psql_as USER DB PORT SQL
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$3" -U "$1" -d "$2" -c "$4" </dev/null >/dev/null \
    || die "could not run: $4"
}

start_postgres() {
  [[ -x "$PG_BIN/initdb" ]] || die "no PostgreSQL 15 in $PG_BIN: run scripts/test.sh once (it installs PostgreSQL 15 and pgvector) or set DATABASE_URL"
  local sharedir
  sharedir="$("$PG_BIN/pg_config" --sharedir 2>/dev/null || echo /usr/share/postgresql/15)"
  [[ -f "$sharedir/extension/vector.control" ]] \
    || die "pgvector is not installed ($sharedir/extension/vector.control is missing): run scripts/test.sh once, it builds and installs it"
  local port="${BENCH_PG_PORT:-15532}" last
  last=$((port + 100))
  while port_in_use "$port"; do
    port=$((port + 1))
    ((port <= last)) || die "no free port in ${BENCH_PG_PORT:-15532}..$last"
  done
  PG_DIR="$(mktemp -d -t switchboard-bench-pg.XXXXXX)"
  mkdir -p "$PG_DIR/sock"
  if [[ "$(id -u)" -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' system user to run PostgreSQL as"
    chown -R postgres: "$PG_DIR"
  fi
  log "initdb in $PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
    >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  log "starting PostgreSQL 15 on 127.0.0.1:$port"
  PG_STARTED=1
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t "$PG_START_TIMEOUT" \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$PG_DIR/sock ${BENCH_PG_OPTS:-}" \
    start >/dev/null 2>&1 || { tail -n 20 "$PG_DIR/postgres.log" >&2 2>/dev/null; die "PostgreSQL failed to start"; }
  psql_as postgres postgres "$port" "CREATE ROLE switchboard LOGIN SUPERUSER"
  psql_as postgres postgres "$port" "CREATE DATABASE switchboard OWNER switchboard"
  psql_as switchboard switchboard "$port" "CREATE EXTENSION IF NOT EXISTS vector"
  export DATABASE_URL="postgresql://switchboard@127.0.0.1:$port/switchboard"
  log "database 'switchboard' ready with extension vector at $DATABASE_URL"
}

if [[ "$MODE" == pg || "$MODE" == all ]]; then
  if [[ -n "${DATABASE_URL:-}" ]]; then
    log "using DATABASE_URL"
  else
    start_postgres
  fi
fi

# --- run ------------------------------------------------------------------------------------------------

log "running MemoryBench $MODE (progress below, the table at the end)"
# in the background so that a signal reaches the trap at once; the trap stops it by its PID
# shellcheck disable=SC2086 # BENCH_JAVA_OPTS is a list of options
java ${BENCH_JAVA_OPTS:-} -cp "target/test-classes:target/classes:$(cat "$CLASSPATH_FILE")" \
  dev.switchboard.memory.MemoryBench "$MODE" </dev/null >"$TABLE" &
JAVA_PID=$!
status=0
wait "$JAVA_PID" || status=$?
JAVA_PID=""
cat "$TABLE"
((status == 0)) || die "the benchmark failed (exit status $status)"
log "done in ${SECONDS}s; table in $TABLE, JSON in target/bench-memory.json"
