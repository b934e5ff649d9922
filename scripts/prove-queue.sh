#!/usr/bin/env bash
# The queue's proof under failure: two gateways (the real fat jar, distributed profile) on one
# throwaway Redis, a fake model and fake DingTalk robots that record what reaches them; TASKS
# tasks (10,000) submitted over both gateways at RATE per second while gateway A is killed with
# SIGKILL three times (restarted each time) and Redis is stopped for 20 s and started again from
# its AOF. All on 127.0.0.1, bounded in time; everything started here is stopped by its PID.
#
#   scripts/prove-queue.sh            (TASKS=2000 RATE=40 scripts/prove-queue.sh for a shorter run)
#
# Arrangement:
#   - redis-server on a free port, appendonly yes, appendfsync everysec, no RDB snapshots, in a
#     temporary folder;
#   - scripts/bench/prove_fakes.py: the model (echoes the input after MODEL_DELAY_MS) and BOTS
#     DingTalk custom robots with 加签 (checks the sign; answers errcode 0 after PUSH_DELAY_MS);
#     each gateway's MODEL_ENDPOINT and webhooks start with its name, so every call says who sent it;
#   - gateways A and B: `java -jar target/switchboard.jar`, SWITCHBOARD_STORAGE=distributed, the same
#     REDIS_URL and JWT secret, each with its own data folder, port and conf folder (a copy of
#     conf/switchboard.yaml with queue.workers=WORKERS and queue.visibility_timeout=VISIBILITY, and a
#     channels.yaml with the bots d0..d<BOTS-1>, no rate limit to speak of, and store.lease=VISIBILITY).
#     The visibility timeout (and the delivery lease) is short, 5 s instead of 60 s, so that a killed
#     gateway's tasks are taken over in seconds. PostgreSQL is not started: tasks without
#     memory_scope never touch long-term memory, which is the only thing kept there;
#   - scripts/bench/prove_driver.py submits (each task: "task-<n>" in its input, a dingtalk channel,
#     its own idempotency_key, priorities in turn), alternating A and B; a refused (503) or failed
#     submission is sent again with the same idempotency_key until accepted;
#   - the chaos, at fractions of the submitting time D = TASKS/RATE: SIGKILL of A at 0.12 D, 0.30 D and
#     0.48 D, each time started again RESTART_AFTER s later; Redis stopped at 0.66 D for
#     REDIS_DOWN_SECONDS with `redis-cli shutdown` (the AOF is fsynced on the way down, so every
#     acknowledged write survives; REDIS_STOP=kill sends SIGKILL instead, which may lose up to the
#     last second of writes that appendfsync everysec had not fsynced yet), then started again on
#     the same AOF.
#
# Report (printed, and kept in target/prove-queue.txt): accepted, refused (503) and other answers,
# succeeded, lost (accepted but not succeeded at the end; must be 0), succeeded but never pushed,
# tasks pushed twice (and whether the first copy was on the wire at a kill), tasks whose model was
# called twice, per kill the time until the killed gateway's started tasks were taken up again and
# pushed, and the time from Redis back to the first push. Exit status 1 when anything accepted was
# lost or never pushed, or an idempotency key named two tasks.
#
# Environment (defaults): TASKS=10000 RATE=100 WORKERS=8 VISIBILITY=5s BOTS=4 MODEL_DELAY_MS=100
#   PUSH_DELAY_MS=10 RESTART_AFTER=3 REDIS_DOWN_SECONDS=20 REDIS_STOP=shutdown|kill DRAIN_TIMEOUT=300
#   CHAOS=kills,redis (either alone: only the kills, only the Redis outage)  PG=1 (0: no PostgreSQL)
#   REBUILD=1 (package the jar even if it is newer than the sources)  GATEWAY_JAVA_OPTS (extra JVM options)
# Logs (gateways, Redis, fakes) in target/prove-queue/.
set -euo pipefail

cd "$(dirname "$0")/.."

TASKS="${TASKS:-10000}"
RATE="${RATE:-100}"
WORKERS="${WORKERS:-8}"
VISIBILITY="${VISIBILITY:-5s}"
BOTS="${BOTS:-4}"
MODEL_DELAY_MS="${MODEL_DELAY_MS:-100}"
PUSH_DELAY_MS="${PUSH_DELAY_MS:-10}"
RESTART_AFTER="${RESTART_AFTER:-3}"
REDIS_DOWN_SECONDS="${REDIS_DOWN_SECONDS:-20}"
REDIS_STOP="${REDIS_STOP:-shutdown}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-300}"
PG="${PG:-1}"
CHAOS="${CHAOS:-kills,redis}"
JAR=target/switchboard.jar
OUT=target/prove-queue
REPORT=target/prove-queue.txt
GATEWAY_START_TIMEOUT=90

log() { echo "prove-queue: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh

case "${1:-}" in
  -h | --help | help) sed -n '2,45p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) die "usage: scripts/prove-queue.sh (settings in the environment; --help)" ;;
esac
for n in "$TASKS" "$WORKERS" "$BOTS" "$MODEL_DELAY_MS" "$PUSH_DELAY_MS" "$RESTART_AFTER" "$REDIS_DOWN_SECONDS" "$DRAIN_TIMEOUT"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "expected a whole number, got '$n'"
done
[[ "$RATE" =~ ^[0-9]+$ ]] && ((RATE > 0)) || die "RATE must be a positive whole number, got '$RATE'"
[[ "$VISIBILITY" =~ ^[0-9]+s$ ]] || die "VISIBILITY must be whole seconds such as 5s, got '$VISIBILITY'"
[[ "$REDIS_STOP" == shutdown || "$REDIS_STOP" == kill ]] || die "REDIS_STOP is shutdown or kill, got '$REDIS_STOP'"
for c in java python3 curl redis-server redis-cli; do
  command -v "$c" >/dev/null || die "$c is required"
done

# --- cleanup: everything started here is stopped by its process id --------------------------------

WORK="$(mktemp -d -t switchboard-prove.XXXXXX)"
PIDS_DIR="$WORK/pids"
mkdir -p "$PIDS_DIR" "$OUT"
CHAOS_PID=""
DRIVER_PID=""
PG_DIR=""

cleanup() {
  [[ -n "$CHAOS_PID" ]] && kill -TERM "$CHAOS_PID" 2>/dev/null && wait "$CHAOS_PID" 2>/dev/null
  [[ -n "$DRIVER_PID" ]] && stop "$DRIVER_PID"
  local f
  # gateways first (they would log Redis errors otherwise), then Redis and the fakes
  for f in a b redis fakes; do
    [[ -s "$PIDS_DIR/$f.pid" ]] && stop "$(cat "$PIDS_DIR/$f.pid")"
  done
  if [[ -s "$PIDS_DIR/postgres.pid" ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 20 stop >/dev/null 2>&1 || stop "$(cat "$PIDS_DIR/postgres.pid")"
  fi
  [[ -n "$PG_DIR" ]] && rm -rf "$PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
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

rm -f "$OUT"/*
REDIS_PORT="$(free_port)"
FAKES_PORT="$(free_port)"
PORT_A="$(free_port)"
PORT_B="$(free_port)"
# a throwaway PostgreSQL listens here; without it, nothing does (never someone else's database)
PG_PORT="$(free_port)"
RUN_ID="prove-$(date +%s)"
SECRET="SEC$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
JWT_SECRET="$(head -c 36 /dev/urandom | base64 | tr -d '\n')"
EVENTS="$WORK/events"
: >"$EVENTS"
event() { echo "$1 $(now_ms)" >>"$EVENTS"; }

# --- Redis ------------------------------------------------------------------------------------

mkdir -p "$WORK/redis"
start_redis() {
  setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes \
    --appendfsync everysec --save "" --protected-mode yes --daemonize no >>"$OUT/redis.log" 2>&1 &
  echo $! >"$PIDS_DIR/redis.pid"
  disown $!
  local deadline=$((SECONDS + 30))
  until redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do
    # a Redis still loading its AOF answers LOADING: that is not up yet
    ((SECONDS < deadline)) || { tail -n 20 "$OUT/redis.log" >&2; return 1; }
    sleep 0.05
  done
}
log "redis-server on 127.0.0.1:$REDIS_PORT (appendonly yes, appendfsync everysec)"
start_redis || die "Redis did not start"

# --- PostgreSQL (long-term memory only; these tasks do not use it, but the gateways are then ready) ---

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
PG_DATA=""
if [[ "$PG" == 1 && -x "$PG_BIN/initdb" ]] && ls /usr/share/postgresql/*/extension/vector.control >/dev/null 2>&1; then
  # its own folder: the postgres user cannot enter $WORK (mode 700)
  PG_DIR="$(mktemp -d -t switchboard-prove-pg.XXXXXX)"
  mkdir -p "$PG_DIR/sock"
  as_pg() { if [[ "$(id -u)" -eq 0 ]]; then (cd "$PG_DIR" && runuser -u postgres -- "$@"); else "$@"; fi; }
  [[ "$(id -u)" -eq 0 ]] && chown -R postgres: "$PG_DIR"
  if as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >"$OUT/pg-initdb.log" 2>&1 \
    && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR/sock -c fsync=off" start >/dev/null 2>&1; then
    PG_DATA="$PG_DIR/data"
    head -n 1 "$PG_DATA/postmaster.pid" >"$PIDS_DIR/postgres.pid"
    "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
      -c "CREATE ROLE switchboard LOGIN SUPERUSER" -c "CREATE DATABASE switchboard OWNER switchboard" >/dev/null 2>&1 \
      && "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U switchboard -d switchboard \
        -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null 2>&1 \
      || log "PostgreSQL started but the database was not prepared; long-term memory stays down"
    log "PostgreSQL on 127.0.0.1:$PG_PORT (throwaway, for long-term memory)"
  else
    log "PostgreSQL did not start (see $OUT/pg-initdb.log); the gateways run without long-term memory"
  fi
else
  log "no PostgreSQL (PG=0, or no initdb/pgvector): the gateways run without long-term memory, which these tasks do not use"
fi

# --- fakes ------------------------------------------------------------------------------------

setsid python3 scripts/bench/prove_fakes.py --port "$FAKES_PORT" --secret "$SECRET" \
  --model-delay-ms "$MODEL_DELAY_MS" --push-delay-ms "$PUSH_DELAY_MS" >"$OUT/fakes.log" 2>&1 &
echo $! >"$PIDS_DIR/fakes.pid"
disown $!
wait_for "the fakes" "http://127.0.0.1:$FAKES_PORT/_health" "$(cat "$PIDS_DIR/fakes.pid")" 20 "$OUT/fakes.log" || exit 1

# --- gateways ---------------------------------------------------------------------------------

# conf_dir NAME: switchboard.yaml with the queue settings of this proof, channels.yaml with the bots
# whose webhooks name this gateway
conf_dir() {
  local name="$1" dir="$WORK/conf-$1" i
  mkdir -p "$dir" "$WORK/data-$name"
  sed -E -e "s/^(  workers:) +[0-9]+/\1 $WORKERS/" \
    -e "s/^(  visibility_timeout:) +[0-9a-z]+/\1 $VISIBILITY/" \
    -e "s/^(  key_prefix:) +\"[^\"]*\"/\1 \"$RUN_ID:queue:\"/" conf/switchboard.yaml >"$dir/switchboard.yaml"
  grep -Eq "^  workers: $WORKERS( |\$)" "$dir/switchboard.yaml" && grep -Eq "^  visibility_timeout: $VISIBILITY( |\$)" "$dir/switchboard.yaml" \
    || die "conf/switchboard.yaml no longer has queue.workers / queue.visibility_timeout where this script expects them"
  {
    echo "store: { key_prefix: \"$RUN_ID:\", lease: $VISIBILITY }"
    echo "dingtalk:"
    for ((i = 0; i < BOTS; i++)); do
      echo "  - name: \"d$i\""
      echo "    webhook: \"http://127.0.0.1:$FAKES_PORT/$name/robot/send?access_token=d$i\""
      echo "    secret: \"$SECRET\""
      echo "    template: \"{result}\""
      echo "    rate_limit: { messages: 1000000, per: 60s }"
    done
  } >"$dir/channels.yaml"
}

gateway_env() {
  local name="$1" port="$2"
  echo "SWITCHBOARD_CONF_DIR=$WORK/conf-$name" "SWITCHBOARD_DATA_DIR=$WORK/data-$name" \
    "SWITCHBOARD_HTTP_PORT=$port" "SWITCHBOARD_STORAGE=distributed" "REDIS_URL=redis://127.0.0.1:$REDIS_PORT" \
    "DATABASE_URL=postgresql://switchboard@127.0.0.1:$PG_PORT/switchboard" "SWITCHBOARD_JWT_SECRET=$JWT_SECRET" \
    "MODEL_ENDPOINT=http://127.0.0.1:$FAKES_PORT/$name/v1" "MODEL_API_KEY=fake" "MODEL_NAME=fake-model" \
    "SWITCHBOARD_OUTBOUND_ALLOW=127.0.0.1"
}

# start_gateway a|b PORT: launches the jar (log target/prove-queue/<name>-<n>.log) and waits for /healthz
declare -A STARTS=([a]=0 [b]=0)
start_gateway() {
  local name="$1" port="$2"
  STARTS[$name]=$((STARTS[$name] + 1))
  local logfile="$OUT/$name-${STARTS[$name]}.log"
  # shellcheck disable=SC2046,SC2086 # the variables are words; GATEWAY_JAVA_OPTS a list of options
  setsid env -u DINGTALK_WEBHOOK -u DINGTALK_SECRET $(gateway_env "$name" "$port") \
    java ${GATEWAY_JAVA_OPTS:-} -jar "$JAR" >"$logfile" 2>&1 &
  echo $! >"$PIDS_DIR/$name.pid"
  disown $!
  wait_for "gateway ${name^^}" "http://127.0.0.1:$port/healthz" "$(cat "$PIDS_DIR/$name.pid")" "$GATEWAY_START_TIMEOUT" "$logfile" || return 1
  # its instance id is the consumer name its leases carry in the queue's streams
  curl -s --max-time 5 "http://127.0.0.1:$port/readyz" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["instance"]["id"])' >"$WORK/$name.instance" 2>/dev/null || true
}

# held_by a|b: the ids of the tasks whose stream entries are pending for that gateway's instance,
# i.e. the tasks it holds a lease on, read from Redis in one script
HELD_LUA='local out = {}
for _, p in ipairs({"high", "normal", "low"}) do
  local s = ARGV[1] .. "s:" .. p
  local pend = redis.pcall("XPENDING", s, "workers", "-", "+", 100000, ARGV[2])
  if type(pend) == "table" and not pend.err then
    for _, e in ipairs(pend) do
      local r = redis.call("XRANGE", s, e[1], e[1])
      if r[1] then
        local f = r[1][2]
        for i = 1, #f, 2 do if f[i] == "id" then out[#out + 1] = f[i + 1] end end
      end
    end
  end
end
return out'
# still_held OWNER ID...: how many of these tasks still carry that owner's lease (not yet taken back)
STILL_LUA='local n = 0
for i = 3, #ARGV do
  if redis.call("HGET", ARGV[1] .. "t:" .. ARGV[i], "lease_owner") == ARGV[2] then n = n + 1 end
end
return n'
# reclaimed KILL_NO OWNER: polls (at most 60 s) until no task held at that kill carries the dead
# owner's lease any more, then writes "reclaimed_<n> <ms>"
reclaimed() {
  local k="$1" owner="$2" ids=() deadline=$((SECONDS + 60)) left
  mapfile -t ids <"$WORK/held-$k"
  ((${#ids[@]})) || return 0
  local first=1
  while ((SECONDS < deadline)); do
    left="$(redis-cli -p "$REDIS_PORT" --raw eval "$STILL_LUA" 0 "$RUN_ID:queue:" "$owner" "${ids[@]}" 2>/dev/null || echo x)"
    # none left at the first look: they had finished between the snapshot and the kill
    if [[ "$left" == 0 ]]; then ((first)) || event "reclaimed_$k"; return 0; fi
    first=0
    sleep 0.1
  done
}
held_by() {
  [[ -s "$WORK/$1.instance" ]] || return 0
  redis-cli -p "$REDIS_PORT" --raw eval "$HELD_LUA" 0 "$RUN_ID:queue:" "$(cat "$WORK/$1.instance")" 2>/dev/null || true
}

conf_dir a
conf_dir b
log "gateways A on :$PORT_A and B on :$PORT_B (distributed, workers $WORKERS, visibility_timeout $VISIBILITY)"
start_gateway a "$PORT_A" || exit 1
start_gateway b "$PORT_B" || exit 1
# shellcheck disable=SC2046
TOKEN="$(env $(gateway_env a "$PORT_A") java -jar "$JAR" token --sub prove --ttl 3h 2>>"$OUT/token.log" | awk 'NF { t = $1 } END { print t }')"
[[ -n "$TOKEN" ]] || die "'java -jar $JAR token' printed no token; see $OUT/token.log"
for p in "$PORT_A" "$PORT_B"; do
  curl -s --max-time 5 "http://127.0.0.1:$p/readyz" >"$OUT/readyz-$p.json" || true
done

# --- the chaos: kills of A, the Redis outage --------------------------------------------------

D_MS=$((TASKS * 1000 / RATE))
at_ms() { awk -v d="$D_MS" -v f="$1" 'BEGIN { printf "%d", d * f }'; }

chaos() {
  # a TERM (the script's cleanup) ends the sleep at once instead of leaving it behind
  trap 'kill "$nap" "${pollers[@]}" 2>/dev/null; exit 0' TERM
  nap=""
  pollers=()
  local start="$1" plan=() step what at wait_ms kills=0
  [[ "$CHAOS" == *kills* ]] && plan+=("kill $(at_ms 0.12)" "kill $(at_ms 0.30)" "kill $(at_ms 0.48)")
  [[ "$CHAOS" == *redis* ]] && plan+=("redis $(at_ms 0.66)")
  for step in "${plan[@]}"; do
    read -r what at <<<"$step"
    wait_ms=$((start + at - $(now_ms)))
    if ((wait_ms > 0)); then
      sleep "$(awk -v ms="$wait_ms" 'BEGIN { printf "%.3f", ms / 1000 }')" & nap=$!
      wait "$nap"
    fi
    if [[ "$what" == kill ]]; then
      kills=$((kills + 1))
      # the line at that moment: how long a task put back at its end waits
      echo "backlog_$kills $(curl -s --max-time 2 "http://127.0.0.1:$PORT_B/readyz" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["components"]["queue"]["depth"])' 2>/dev/null || echo -1)" >>"$EVENTS"
      held_by a >"$WORK/held-$kills"
      kill -KILL "$(cat "$PIDS_DIR/a.pid")" 2>/dev/null || true
      event kill_a
      reclaimed "$kills" "$(cat "$WORK/a.instance" 2>/dev/null)" &
      pollers+=($!)
      log "SIGKILL to gateway A; starting it again in ${RESTART_AFTER}s"
      sleep "$RESTART_AFTER" & nap=$!
      wait "$nap"
      if start_gateway a "$PORT_A"; then event a_up; else log "gateway A did not come back"; fi
    else
      event redis_down
      if [[ "$REDIS_STOP" == kill ]]; then
        kill -KILL "$(cat "$PIDS_DIR/redis.pid")" 2>/dev/null || true
        log "SIGKILL to Redis for ${REDIS_DOWN_SECONDS}s"
      else
        redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
        log "redis-cli shutdown for ${REDIS_DOWN_SECONDS}s"
      fi
      sleep "$REDIS_DOWN_SECONDS" & nap=$!
      wait "$nap"
      if start_redis; then event redis_up; log "Redis is back (from its AOF)"; else log "Redis did not come back"; fi
    fi
  done
  # the pollers end on their own (60 s at most)
  wait "${pollers[@]}" 2>/dev/null || true
}

{
  echo "# switchboard queue proof, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (with local changes)');" \
    "host: $(nproc) CPUs, $(java -version 2>&1 | head -n 1), $(redis-server --version | cut -d' ' -f1-3)"
  echo "# two gateways (java -jar $JAR, distributed profile, own data folders) on one redis-server" \
    "(appendonly yes, appendfsync everysec); queue.workers $WORKERS, queue.visibility_timeout $VISIBILITY" \
    "(short on purpose: take-over within seconds), delivery lease $VISIBILITY; $BOTS DingTalk robots (fake, 加签 checked," \
    "answer after ${PUSH_DELAY_MS} ms); fake model answers after ${MODEL_DELAY_MS} ms"
  echo "# chaos: SIGKILL of A at 0.12/0.30/0.48 of the submitting time ($((D_MS / 1000)) s), started again after ${RESTART_AFTER}s;" \
    "Redis stopped ($([[ "$REDIS_STOP" == kill ]] && echo 'SIGKILL: the last second of writes may be lost' || echo 'redis-cli shutdown: AOF fsynced'))" \
    "at 0.66 for ${REDIS_DOWN_SECONDS}s, started again from its AOF"
} | tee "$REPORT"

chaos "$(now_ms)" &
CHAOS_PID=$!
status=0
timeout --kill-after=10 $((D_MS / 1000 + 600 + DRAIN_TIMEOUT)) python3 scripts/bench/prove_driver.py \
  --gateway "A=http://127.0.0.1:$PORT_A" --gateway "B=http://127.0.0.1:$PORT_B" \
  --token "$TOKEN" --fakes "http://127.0.0.1:$FAKES_PORT" --events "$EVENTS" --held "$WORK/held-" --keep "$OUT/records.json" \
  --tasks "$TASKS" --rate "$RATE" --bots "$BOTS" --run-id "$RUN_ID" --drain-timeout "$DRAIN_TIMEOUT" \
  >"$WORK/report" &
DRIVER_PID=$!
wait "$DRIVER_PID" || status=$?
DRIVER_PID=""
# the chaos is over long before the drain ends; if not, it is stopped here
kill -TERM "$CHAOS_PID" 2>/dev/null || true
wait "$CHAOS_PID" 2>/dev/null || true
CHAOS_PID=""
tee -a "$REPORT" <"$WORK/report"
cp "$EVENTS" "$OUT/timeline.txt"
cat "$WORK"/held-* >"$OUT/held-at-kills.txt" 2>/dev/null || true
log "report in $REPORT; logs in $OUT/"
exit "$status"
