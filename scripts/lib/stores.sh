# Throwaway Redis and PostgreSQL 15 + pgvector on loopback, for the proof scripts (scripts/prove.sh),
# started the way scripts/test.sh starts them (temporary folders, trust auth on 127.0.0.1, role and
# database "switchboard" with the vector extension), and stopped and started again on the same data.
# Source it after defining log(); it installs nothing (scripts/test.sh does, once).
#
#   stores_init DIR            folders under DIR (DIR itself may be mode 700: PostgreSQL gets its own)
#   redis_start PORT LOG       redis-server, appendonly yes; sets REDIS_PID; waits for PONG
#   redis_stop                 redis-cli shutdown (the AOF is fsynced), then the PID if still there
#   pg_start PORT LOG          initdb the first time, pg_ctl start; sets PG_PID; waits for pg_isready
#   pg_stop                    pg_ctl stop -m fast
#   stores_cleanup             stops both and removes the PostgreSQL folder

STORES_PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
STORES_DIR=""
STORES_PG_DIR=""
REDIS_PID=""
REDIS_PORT=""
PG_PID=""
PG_PORT=""

stores_init() {
  STORES_DIR="$1"
  mkdir -p "$STORES_DIR/redis"
}

stores_pg_available() {
  [[ -x "$STORES_PG_BIN/initdb" ]] && ls /usr/share/postgresql/*/extension/vector.control >/dev/null 2>&1
}

redis_start() {
  REDIS_PORT="$1"
  local logfile="$2" deadline=$((SECONDS + 30))
  setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$STORES_DIR/redis" --appendonly yes \
    --appendfsync everysec --save "" --protected-mode yes --daemonize no >>"$logfile" 2>&1 &
  REDIS_PID=$!
  disown "$REDIS_PID"
  until redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do
    ((SECONDS < deadline)) || { tail -n 20 "$logfile" >&2; return 1; }
    kill -0 "$REDIS_PID" 2>/dev/null || { tail -n 20 "$logfile" >&2; return 1; }
    sleep 0.05
  done
}

redis_stop() {
  # only our own, still running: the port may belong to someone else by now
  [[ -n "$REDIS_PID" ]] && kill -0 "$REDIS_PID" 2>/dev/null || { REDIS_PID=""; return 0; }
  redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
  local _
  for _ in $(seq 50); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$REDIS_PID" 2>/dev/null && kill -KILL "$REDIS_PID" 2>/dev/null
  REDIS_PID=""
}

# runs a command as the owner of the cluster (postgres when we are root: initdb refuses root)
stores_as_pg() {
  if [[ "$(id -u)" -eq 0 ]]; then (cd "$STORES_PG_DIR" && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_start() {
  PG_PORT="$1"
  local logfile="$2"
  if [[ -z "$STORES_PG_DIR" ]]; then
    STORES_PG_DIR="$(mktemp -d -t switchboard-prove-pg.XXXXXX)"
    mkdir -p "$STORES_PG_DIR/sock"
    [[ "$(id -u)" -eq 0 ]] && chown -R postgres: "$STORES_PG_DIR"
    stores_as_pg "$STORES_PG_BIN/initdb" -D "$STORES_PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
      >>"$logfile" 2>&1 || { tail -n 20 "$logfile" >&2; return 1; }
    local fresh=1
  fi
  stores_as_pg "$STORES_PG_BIN/pg_ctl" -D "$STORES_PG_DIR/data" -l "$STORES_PG_DIR/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$STORES_PG_DIR/sock -c fsync=off" \
    start >>"$logfile" 2>&1 || { tail -n 20 "$STORES_PG_DIR/postgres.log" >&2; return 1; }
  PG_PID="$(head -n 1 "$STORES_PG_DIR/data/postmaster.pid")"
  if [[ -n "${fresh:-}" ]]; then
    "$STORES_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
      -c "CREATE ROLE switchboard LOGIN SUPERUSER" -c "CREATE DATABASE switchboard OWNER switchboard" >>"$logfile" 2>&1 \
      && "$STORES_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U switchboard -d switchboard \
        -c "CREATE EXTENSION IF NOT EXISTS vector" >>"$logfile" 2>&1 || return 1
  fi
}

pg_stop() {
  [[ -n "$PG_PID" ]] && kill -0 "$PG_PID" 2>/dev/null || { PG_PID=""; return 0; }
  stores_as_pg "$STORES_PG_BIN/pg_ctl" -D "$STORES_PG_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1 \
    || kill -KILL "$PG_PID" 2>/dev/null || true
  PG_PID=""
}

stores_cleanup() {
  redis_stop
  pg_stop
  [[ -n "$STORES_PG_DIR" ]] && rm -rf "$STORES_PG_DIR"
  STORES_PG_DIR=""
}
