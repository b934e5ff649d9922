#!/usr/bin/env bash
# Runs the whole test suite (unit tests + *IT integration tests) against throwaway
# Redis and PostgreSQL 15 + pgvector instances on loopback.
#
#   scripts/test.sh                      # mvn -B verify
#   scripts/test.sh -Dit.test=FooIT      # extra args are passed to mvn
#
# On Debian 12 it installs what is missing (redis-server, postgresql-15,
# postgresql-server-dev-15, pgvector built from the trixie source package),
# starts both services in temp dirs, exports REDIS_URL / DATABASE_URL, runs
# `mvn -B verify`, and always stops what it started and removes the temp dirs.
#
# Environment knobs (optional):
#   TEST_REDIS_PORT (default 16379), TEST_PG_PORT (default 15432): first port to
#   try; the next free one is used when taken.
#   TEST_START_TIMEOUT (default 30): seconds to wait for each service.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export CI="${CI:-true}"

PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG="$PG_BIN/pg_config"
START_TIMEOUT="${TEST_START_TIMEOUT:-30}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[test.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- privileges
if [ "$(id -u)" -eq 0 ]; then
  IS_ROOT=1; SUDO=()
else
  IS_ROOT=0
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else SUDO=(); fi
fi

as_root() {
  if [ "$IS_ROOT" -eq 1 ]; then "$@"
  elif [ "${#SUDO[@]}" -gt 0 ]; then "${SUDO[@]}" "$@"
  else die "need root for: $* (not root and no sudo)"; fi
}

# ---------------------------------------------------------------- cleanup
MVN_PID=""
REDIS_PID=""
REDIS_DIR=""
PG_DIR=""
PG_STARTED=0
POLICY_RC_CREATED=0
BUILD_DIR=""
TRIXIE_SRC_FILE=/etc/apt/sources.list.d/switchboard-trixie-src.sources

# Runs a command as the user that owns the PostgreSQL cluster.
as_pg() {
  if [ "$IS_ROOT" -eq 1 ]; then
    (cd "$PG_DIR" && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# True when the process exists and is not a zombie waiting to be reaped.
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != "Z" ]
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "$MVN_PID" ] && alive "$MVN_PID"; then
    log "stopping mvn (pid $MVN_PID)"
    kill "$MVN_PID" 2>/dev/null
    for _ in $(seq 1 100); do alive "$MVN_PID" || break; sleep 0.1; done
    alive "$MVN_PID" && kill -9 "$MVN_PID" 2>/dev/null
  fi
  if [ "$PG_STARTED" -eq 1 ] && [ -n "$PG_DIR" ]; then
    log "stopping PostgreSQL"
    local pg_pid=""
    [ -f "$PG_DIR/data/postmaster.pid" ] && pg_pid="$(head -n1 "$PG_DIR/data/postmaster.pid")"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 20 stop >"$PG_DIR/stop.log" 2>&1 \
      || { log "pg_ctl stop failed:"; cat "$PG_DIR/stop.log" >&2; }
    if [ -n "$pg_pid" ] && alive "$pg_pid"; then
      log "PostgreSQL (pid $pg_pid) still running, killing it"
      kill -9 "$pg_pid" 2>/dev/null
    fi
  fi
  if [ -n "$REDIS_PID" ]; then
    log "stopping Redis (pid $REDIS_PID)"
    kill "$REDIS_PID" 2>/dev/null
    for _ in $(seq 1 50); do alive "$REDIS_PID" || break; sleep 0.1; done
    alive "$REDIS_PID" && kill -9 "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
  fi
  [ -n "$REDIS_DIR" ] && rm -rf "$REDIS_DIR"
  [ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
  [ -n "$BUILD_DIR" ] && rm -rf "$BUILD_DIR"
  [ -f "$TRIXIE_SRC_FILE" ] && as_root rm -f "$TRIXIE_SRC_FILE"
  [ "$POLICY_RC_CREATED" -eq 1 ] && as_root rm -f /usr/sbin/policy-rc.d
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- install
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

APT_UPDATED=0
apt_update() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq </dev/null >/dev/null
    APT_UPDATED=1
  fi
}

# Keep package maintainer scripts from starting system-wide services
# (a Debian redis-server or postgresql cluster on the default ports).
block_service_starts() {
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
    POLICY_RC_CREATED=1
  fi
}

apt_install() {
  local missing=() p
  for p in "$@"; do is_installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  apt_update
  block_service_starts
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
}

# The Debian mirror the machine already uses (deb822 .sources or one-line lists).
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk '
      /^[[:space:]]*$/ { if (uris != "" && suites ~ /bookworm/ && suites !~ /security/) { print uris; exit } uris=""; suites=""; next }
      /^URIs:/   { uris=$2 }
      /^Suites:/ { $1=""; suites=$0 }
      END { if (uris != "" && suites ~ /bookworm/ && suites !~ /security/) print uris }' "$f" | head -n1)"
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri="$(awk '$1 == "deb" {
        i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i+1) ~ /^bookworm/ && $(i+1) !~ /security/) { print $i; exit } }' "$f")"
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
  done
  echo "http://deb.debian.org/debian"
}

install_pgvector() {
  local sharedir
  sharedir="$("$PG_CONFIG" --sharedir)"
  if [ -f "$sharedir/extension/vector.control" ]; then
    return 0
  fi
  log "building pgvector from the Debian trixie source package"
  apt_install dpkg-dev make gcc libc6-dev
  local mirror
  mirror="$(debian_mirror)"
  log "adding deb-src trixie main from $mirror"
  as_root tee "$TRIXIE_SRC_FILE" >/dev/null <<EOF
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  APT_UPDATED=0
  apt_update
  BUILD_DIR="$(mktemp -d -t switchboard-pgvector.XXXXXX)"
  chmod 755 "$BUILD_DIR"   # lets apt's _apt user write the download
  (cd "$BUILD_DIR" && apt-get source -qq pgvector </dev/null >/dev/null 2>"$BUILD_DIR/source.err") \
    || { cat "$BUILD_DIR/source.err" >&2; die "apt-get source pgvector failed"; }
  local src
  src="$(find "$BUILD_DIR" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n1)"
  [ -n "$src" ] || die "pgvector source not found after apt-get source"
  log "compiling $(basename "$src")"
  # with_llvm=no: Debian's PG is built with LLVM JIT; skip bitcode so clang isn't needed.
  make -C "$src" -s PG_CONFIG="$PG_CONFIG" with_llvm=no >"$BUILD_DIR/build.log" 2>&1 \
    || { tail -n 40 "$BUILD_DIR/build.log" >&2; die "pgvector build failed"; }
  as_root make -C "$src" -s PG_CONFIG="$PG_CONFIG" with_llvm=no install >>"$BUILD_DIR/build.log" 2>&1 \
    || { tail -n 40 "$BUILD_DIR/build.log" >&2; die "pgvector install failed"; }
  as_root rm -f "$TRIXIE_SRC_FILE"
  rm -rf "$BUILD_DIR"; BUILD_DIR=""
  [ -f "$sharedir/extension/vector.control" ] || die "pgvector installed but vector.control missing"
  log "pgvector installed"
}

log "checking packages"
apt_install redis-server postgresql-15 postgresql-server-dev-15
[ -x "$PG_BIN/initdb" ] || die "$PG_BIN/initdb not found"
command -v redis-server >/dev/null || die "redis-server not found"
install_pgvector

# ---------------------------------------------------------------- metrics tooling (begin)
# promtool (Debian package `prometheus`) runs in ScrapeIT and AlertRulesIT: `check metrics` on a
# scrape, `check rules` and `test rules` on conf/alerts.yml. Installed without starting Debian's
# prometheus service (apt_install blocks service starts).
command -v promtool >/dev/null 2>&1 || apt_install prometheus
command -v promtool >/dev/null 2>&1 || die "promtool not found after installing prometheus"
# no colour codes in CI logs from Debian's Maven (see scripts/lib/maven.sh)
# shellcheck source=lib/maven.sh
source "$REPO_ROOT/scripts/lib/maven.sh"
plain_maven_output
# ---------------------------------------------------------------- metrics tooling (end)
# ---------------------------------------------------------------- deploy samples (begin)
# NginxSampleIT runs Debian's nginx on a copy of deploy/nginx.conf (openssl makes its throwaway
# certificate); SystemdUnitIT runs systemd-analyze verify on deploy/switchboard.service. apt_install
# blocks service starts, so no system nginx is started; the test starts its own and stops it by PID.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || apt_install nginx
command -v openssl >/dev/null 2>&1 || apt_install openssl
command -v systemd-analyze >/dev/null 2>&1 || apt_install systemd
# ---------------------------------------------------------------- deploy samples (end)
# ---------------------------------------------------------------- browser (console)
# ConsoleBrowserIT drives Debian's chromium headless through Debian's chromedriver, both at /usr/bin
# (Selenium is told where, so it downloads nothing). Without them that test fails (it does not skip).
apt_install chromium chromium-driver
command -v chromedriver >/dev/null 2>&1 || die "chromedriver not found after installing chromium-driver"
# ---------------------------------------------------------------- end browser
# ---------------------------------------------------------------- node test client (memory)
# EmbeddingsNodeSdkIT runs the official OpenAI Node SDK, pinned in src/test/node/package-lock.json.
# Without node, or without the install, that test fails (it does not skip).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
log "npm ci --prefix src/test/node (node $(node --version 2>/dev/null || echo missing))"
# a failed install is reported here and then by that test; the rest of the suite still runs
npm ci --prefix "$REPO_ROOT/src/test/node" --no-audit --no-fund --loglevel=error </dev/null >/dev/null \
  || log "WARNING: npm ci --prefix src/test/node failed: the Node client ITs (EmbeddingsNodeSdkIT, McpTypeScriptSdkIT, ...) will fail"
# the bridge example (BridgeExamplesIT runs it), pinned in examples/bridge-node/package-lock.json
npm ci --prefix "$REPO_ROOT/examples/bridge-node" --no-audit --no-fund --loglevel=error </dev/null >/dev/null \
  || log "WARNING: npm ci --prefix examples/bridge-node failed: BridgeExamplesIT will fail"
# ---------------------------------------------------------------- end node test client

# ---------------------------------------------------------------- ports
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p="$1" last=$(( $1 + 100 ))
  while [ "$p" -le "$last" ]; do
    port_in_use "$p" || { echo "$p"; return 0; }
    p=$((p + 1))
  done
  die "no free port in $1..$last"
}

REDIS_PORT="$(pick_port "${TEST_REDIS_PORT:-16379}")"
PG_PORT="$(pick_port "${TEST_PG_PORT:-15432}")"
[ "$PG_PORT" = "$REDIS_PORT" ] && PG_PORT="$(pick_port $((PG_PORT + 1)))"

wait_for() {  # wait_for <name> <command...>
  local name="$1"; shift
  local deadline=$(( SECONDS + START_TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
  log "$name is up"
}

# ---------------------------------------------------------------- redis
REDIS_DIR="$(mktemp -d -t switchboard-redis.XXXXXX)"
log "starting Redis on 127.0.0.1:$REDIS_PORT"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize no \
  --dir "$REDIS_DIR" --appendonly yes --save '' \
  --logfile "$REDIS_DIR/redis.log" --pidfile "$REDIS_DIR/redis.pid" </dev/null &
REDIS_PID=$!

redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
if ! wait_for "Redis (pid $REDIS_PID)" redis_ping; then
  tail -n 20 "$REDIS_DIR/redis.log" >&2 2>/dev/null || true
  die "Redis did not answer PING on port $REDIS_PORT within ${START_TIMEOUT}s"
fi

# ---------------------------------------------------------------- postgres
PG_DIR="$(mktemp -d -t switchboard-pg.XXXXXX)"
mkdir -p "$PG_DIR/sock"
if [ "$IS_ROOT" -eq 1 ]; then
  id postgres >/dev/null 2>&1 || die "no 'postgres' system user to run PostgreSQL as"
  chown -R postgres: "$PG_DIR"
fi
log "initdb in $PG_DIR"
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
  >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }

log "starting PostgreSQL 15 on 127.0.0.1:$PG_PORT"
PG_STARTED=1
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t "$START_TIMEOUT" \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null 2>&1 || { tail -n 20 "$PG_DIR/postgres.log" >&2 2>/dev/null; die "PostgreSQL failed to start"; }

if ! wait_for "PostgreSQL (pid $(head -n1 "$PG_DIR/data/postmaster.pid"))" \
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
  tail -n 20 "$PG_DIR/postgres.log" >&2 2>/dev/null || true
  die "PostgreSQL did not become ready on port $PG_PORT within ${START_TIMEOUT}s"
fi

psql_as() {  # psql_as <user> <db> <sql>
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$1" -d "$2" -c "$3" </dev/null
}
psql_as postgres postgres "CREATE ROLE switchboard LOGIN SUPERUSER" >/dev/null
psql_as postgres postgres "CREATE DATABASE switchboard OWNER switchboard" >/dev/null
psql_as switchboard switchboard "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
log "database 'switchboard' ready with extension vector"

# ---------------------------------------------------------------- tests
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export DATABASE_URL="postgresql://switchboard@127.0.0.1:$PG_PORT/switchboard"
log "REDIS_URL=$REDIS_URL"
log "DATABASE_URL=$DATABASE_URL"

if [ "${TEST_SH_SERVICES_ONLY:-0}" = "1" ]; then
  # Debug aid: start the services, run the given command instead of Maven.
  log "TEST_SH_SERVICES_ONLY=1: running: ${*:-true}"
  set +e; "${@:-true}"; rc=$?; set -e
  exit "$rc"
fi

cd "$REPO_ROOT"
log "mvn -B verify $*"
# Background + wait so that INT/TERM run the cleanup trap right away.
set +e
mvn -B verify "$@" </dev/null &
MVN_PID=$!
wait "$MVN_PID"
rc=$?
MVN_PID=""
set -e
log "mvn exited with $rc"
exit "$rc"
