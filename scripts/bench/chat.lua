-- wrk script for scripts/bench-proxy.sh: POST /v1/chat/completions with a small chat request.
--
--   BENCH_TOKEN=<jwt> BENCH_STREAM=1 BENCH_MODEL=fake-model \
--     wrk -t1 -c16 -d15s --latency -s scripts/bench/chat.lua http://127.0.0.1:18789
--
-- Environment:
--   BENCH_TOKEN   sent as "Authorization: Bearer <token>" (the fake upstream ignores it)
--   BENCH_MODEL   the model asked for (default fake-model)
--   BENCH_STREAM  1: the stream variant, with "stream": true (default: non-streaming)
--
-- After the run it prints one machine-readable line, parsed by bench-proxy.sh:
--   BENCH requests=N seconds=S rps=R p50_us=U p99_us=U non2xx=N connect=N read=N write=N timeout=N
-- (non2xx is wrk's "Non-2xx or 3xx responses" counter, which counts statuses >= 400.)

local token = os.getenv("BENCH_TOKEN") or ""
local model = os.getenv("BENCH_MODEL") or "fake-model"
local stream = os.getenv("BENCH_STREAM") == "1"

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = stream and "text/event-stream" or "application/json"
if token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"hello benchmark"}]'
  .. (stream and ',"stream":true' or '') .. '}'

function done(summary, latency, requests)
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.2f p50_us=%.0f p99_us=%.0f non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end
