-- wrk script for scripts/bench-submit.sh: POST /api/v1/tasks with a small task.
--
--   BENCH_TOKEN=<jwt> BENCH_DELAY=1h wrk -t1 -c16 -d15s --latency -s scripts/bench/submit.lua http://127.0.0.1:18789
--
-- Environment:
--   BENCH_TOKEN   sent as "Authorization: Bearer <token>"
--   BENCH_DELAY   the task's "delay" (default 1h: it is accepted and stored, and does not run
--                 while the benchmark does); empty: the task runs at once
--   BENCH_INPUT   the task's input (default "bench")
--
-- Every request carries the same body and no idempotency key: each one is a new task.
-- After the run it prints one machine-readable line, parsed by bench-submit.sh:
--   BENCH requests=N seconds=S rps=R p50_us=U p99_us=U non202=N s503=N s5xx=N connect=N read=N write=N timeout=N
-- (non202 counts every answer other than 202, read by a response() hook in each wrk thread.)

local token = os.getenv("BENCH_TOKEN") or ""
local delay = os.getenv("BENCH_DELAY") or "1h"
local input = os.getenv("BENCH_INPUT") or "bench"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non202 = 0
  s503 = 0
  s5xx = 0
  wrk.method = "POST"
  wrk.path = "/api/v1/tasks"
  wrk.headers["Content-Type"] = "application/json"
  if token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  wrk.body = '{"input":"' .. input .. '"' .. (delay ~= "" and (',"delay":"' .. delay .. '"') or '') .. '}'
end

function response(status, headers, body)
  if status ~= 202 then
    non202 = non202 + 1
    if status == 503 then
      s503 = s503 + 1
    elseif status >= 500 then
      s5xx = s5xx + 1
    end
  end
end

function done(summary, latency, requests)
  local n, n503, n5xx = 0, 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("non202")
    n503 = n503 + t:get("s503")
    n5xx = n5xx + t:get("s5xx")
  end
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.2f p50_us=%.0f p99_us=%.0f non202=%d s503=%d s5xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99),
    n, n503, n5xx, errors.connect, errors.read, errors.write, errors.timeout))
end
