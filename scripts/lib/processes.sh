# Shared by the load and benchmark scripts: stopping what they started, and waiting for servers.
# Source it after defining log().

# stop PID: TERM the process group (started with setsid, so the PID is the group id), then KILL
# after 5 s.
stop() {
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

answers() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# wait_for NAME URL PID TIMEOUT LOGFILE: returns 1 (after showing the log) if the process exits
# or does not answer in time.
wait_for() {
  local name="$1" url="$2" pid="$3" timeout="$4" logfile="$5" deadline=$((SECONDS + $4))
  until answers "$url"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited before answering $url; last lines of $logfile:"
      tail -n 30 "$logfile" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name did not answer $url within ${timeout}s; last lines of $logfile:"
      tail -n 30 "$logfile" >&2
      return 1
    fi
    sleep 0.05
  done
}
