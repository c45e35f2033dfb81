-- wrk script of bench/hub's command round trips: every request POSTs a command with an id never
-- used before (the hub answers a repeated id from its idempotency record, which would not be the
-- path measured), and `done` prints one JSON line the bench reads.
-- Environment: BENCH_PATH, BENCH_AUTH (an Authorization header value or empty), BENCH_ID_PREFIX
-- (unique per run: 8-4-4-4 hex digits and a dash).
local path = os.getenv("BENCH_PATH")
local auth = os.getenv("BENCH_AUTH") or ""
local prefix = os.getenv("BENCH_ID_PREFIX")
local counter = 0
local headers = { ["Content-Type"] = "application/json" }
if auth ~= "" then headers["Authorization"] = auth end

request = function()
  counter = counter + 1
  local body = '{"id":"' .. prefix .. string.format("%012x", counter) .. '","name":"workload.list","args":{}}'
  return wrk.format("POST", path, headers, body)
end

done = function(summary, latency, requests)
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"seconds":%f,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50":%f,"p99":%f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
