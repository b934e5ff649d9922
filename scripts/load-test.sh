#!/usr/bin/env bash
# A bounded end-to-end load run: Locust -> gateway -> fake upstream, all on 127.0.0.1.
#
#   scripts/load-test.sh [USERS] [DURATION]          e.g. scripts/load-test.sh 32 1m
#
# Environment (arguments win over it):
#   USERS                  concurrent Locust users, also the spawn rate (default 16)
#   DURATION               Locust run time: 30s, 2m, ... (default 30s)
#   SWITCHBOARD_HTTP_PORT  gateway port (default 18789)
#   FAKE_PORT              fake upstream port (default 18800)
#   FAKE_DELAY_MS          fake upstream answer delay in ms (default 0)
#   LOAD_MODEL             model asked for (default fake-model)
#   REBUILD=1              rebuild target/switchboard.jar even if it exists
#   SWITCHBOARD_JAR        run this gateway jar instead of target/switchboard.jar (never built here)
#
# Results: target/load/locust_stats.csv (and the other Locust CSVs); logs of the gateway and of
# the fake in target/load/. Exits with Locust's status (non-zero when any request failed).
set -euo pipefail

cd "$(dirname "$0")/.."

USERS="${1:-${USERS:-16}}"
DURATION="${2:-${DURATION:-30s}}"
PORT="${SWITCHBOARD_HTTP_PORT:-18789}"
FAKE_PORT="${FAKE_PORT:-18800}"
FAKE_DELAY_MS="${FAKE_DELAY_MS:-0}"
GATEWAY_START_TIMEOUT=30
# the first run of the fake compiles the test classes, hence the longer bound
FAKE_START_TIMEOUT=180
JAR="${SWITCHBOARD_JAR:-target/switchboard.jar}"
OUT=target/load

log() { echo "load-test: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh

[[ "$USERS" =~ ^[1-9][0-9]*$ ]] || die "USERS must be a positive integer, got '$USERS'"
[[ "$DURATION" =~ ^[0-9]+[smh]?$|^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ ]] || die "DURATION must look like 30s, 2m or 1h30m, got '$DURATION'"
command -v curl >/dev/null || die "curl is required"
command -v java >/dev/null || die "java is required"

if [[ ! -x /usr/bin/locust ]]; then
  log "installing Debian's python3-locust"
  sudo=()
  [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-locust >/dev/null
fi

# --- cleanup: everything started here is stopped by its process id -------------------------------

DATA_DIR="$(mktemp -d -t switchboard-load.XXXXXX)"
FAKE_PID=""
GATEWAY_PID=""
LOCUST_PID=""


cleanup() {
  stop "$LOCUST_PID"
  stop "$GATEWAY_PID"
  stop "$FAKE_PID"
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ----------------------------------------------------------------------------------



# --- build ------------------------------------------------------------------------------------

mkdir -p "$OUT"
rm -f "$OUT"/locust_*.csv

if [[ "$JAR" == target/switchboard.jar && ( ! -f "$JAR" || "${REBUILD:-0}" == 1 ) ]]; then
  log "building $JAR"
  mvn -q -B -DskipTests package
fi

for port in "$PORT" "$FAKE_PORT"; do
  if answers "http://127.0.0.1:$port/healthz" || answers "http://127.0.0.1:$port/v1/models"; then
    die "something already answers on port $port; stop it or choose another port"
  fi
done

[[ -f "$JAR" ]] || die "no gateway jar at $JAR"

# --- fake upstream ----------------------------------------------------------------------------

log "starting the fake upstream on port $FAKE_PORT"
setsid scripts/fake-upstream.sh --host 127.0.0.1 --port "$FAKE_PORT" --delay-ms "$FAKE_DELAY_MS" \
  >"$OUT/fake-upstream.log" 2>&1 &
FAKE_PID=$!
wait_for "the fake upstream" "http://127.0.0.1:$FAKE_PORT/v1/models" "$FAKE_PID" "$FAKE_START_TIMEOUT" "$OUT/fake-upstream.log"

# --- gateway ----------------------------------------------------------------------------------

export MODEL_ENDPOINT="http://127.0.0.1:$FAKE_PORT/v1"
export MODEL_API_KEY=fake
export MODEL_NAME="${LOAD_MODEL:-fake-model}"
export SWITCHBOARD_DATA_DIR="$DATA_DIR"
export SWITCHBOARD_JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
export SWITCHBOARD_HTTP_PORT="$PORT"

log "starting the gateway on port $PORT"
setsid java ${GATEWAY_JAVA_OPTS:-} -jar "$JAR" >"$OUT/gateway.log" 2>&1 &
GATEWAY_PID=$!
wait_for "the gateway" "http://127.0.0.1:$PORT/healthz" "$GATEWAY_PID" "$GATEWAY_START_TIMEOUT" "$OUT/gateway.log"

# the command prints just the token; keeping the last non-empty line tolerates a stray log line
SWITCHBOARD_TOKEN="$(java -jar "$JAR" token --sub loadtest --ttl 1h 2>>"$OUT/gateway.log" | awk 'NF { token = $1 } END { print token }')" \
  || die "minting a token failed; see $OUT/gateway.log"
[[ -n "$SWITCHBOARD_TOKEN" ]] || die "'java -jar $JAR token' printed no token"
export SWITCHBOARD_TOKEN

# --- load ---------------------------------------------------------------------------------------

log "running Locust: $USERS users for $DURATION against http://127.0.0.1:$PORT"
/usr/bin/locust -f scripts/load_test.py --headless -u "$USERS" -r "$USERS" -t "$DURATION" \
  --host "http://127.0.0.1:$PORT" --csv "$OUT/locust" --only-summary &
LOCUST_PID=$!
locust_status=0
wait "$LOCUST_PID" || locust_status=$?
LOCUST_PID=""

# --- summary ------------------------------------------------------------------------------------

stats="$OUT/locust_stats.csv"
[[ -f "$stats" ]] || die "Locust wrote no $stats (exit status $locust_status)"
awk -F, '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  $col["Name"] == "Aggregated" {
    printf "load-test: aggregated: requests=%d failures=%d median=%sms p95=%sms rps=%.1f\n",
      $col["Request Count"], $col["Failure Count"], $col["Median Response Time"], $col["95%"], $col["Requests/s"]
  }' "$stats"

exit "$locust_status"
