-- One fixed request, repeated: wrk's method, body and headers come from the
-- environment, and done() prints the summary as one JSON line for benchmarks/load.py.
wrk.method = os.getenv("WRK_METHOD") or "GET"

local body_path = os.getenv("WRK_BODY")
if body_path and body_path ~= "" then
  local file = assert(io.open(body_path, "rb"))
  wrk.body = file:read("*a")
  file:close()
end

local content_type = os.getenv("WRK_CONTENT_TYPE")
if content_type and content_type ~= "" then
  wrk.headers["Content-Type"] = content_type
end

local accept = os.getenv("WRK_ACCEPT")
if accept and accept ~= "" then
  wrk.headers["Accept"] = accept
end

done = function(summary, latency, requests)
  io.write(string.format(
    "WRK_JSON {\"requests\": %d, \"duration_us\": %d, \"bytes\": %d, " ..
    "\"errors_connect\": %d, \"errors_read\": %d, \"errors_write\": %d, " ..
    "\"errors_status\": %d, \"errors_timeout\": %d, \"latency_mean_us\": %.1f, " ..
    "\"latency_p50_us\": %d, \"latency_p99_us\": %d, \"latency_max_us\": %d}\n",
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency.mean,
    latency:percentile(50), latency:percentile(99), latency.max))
end
