-- wrk script used by tools/bench/run.sh for every row, kmsd and nginx alike.
--
-- Arguments after `--`: METHOD BODY_FILE [HEADER ...]
--   BODY_FILE is a file whose bytes become the request body, or "-" for none.
--   Each HEADER is "Name: value" (e.g. an Authorization bearer token, or "Connection: close"
--   to make every request open a new connection and do a full TLS handshake).
--
-- At the end it prints one machine-readable line:
--   wrk requests=N seconds=S rps=R p50_us=.. p99_us=.. p999_us=.. max_us=.. non2xx=.. errors=..
-- where errors counts connect, read, write and timeout errors. wrk counts 3xx as success.

function init(args)
  wrk.method = args[1]
  if args[2] ~= nil and args[2] ~= "-" then
    local file = assert(io.open(args[2], "rb"))
    wrk.body = file:read("*a")
    file:close()
    wrk.headers["Content-Type"] = "application/json"
  end
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    "wrk requests=%d seconds=%.2f rps=%.1f p50_us=%d p99_us=%d p999_us=%d max_us=%d " ..
    "non2xx=%d errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
