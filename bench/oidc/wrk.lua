-- wrk script of bench/oidc: one request shape per run, from the environment.
--
--   BENCH_METHOD   GET or POST
--   BENCH_BODY     request body (form-encoded) for the static modes
--   BENCH_AUTH     value of the Authorization header (Basic … or Bearer …)
--   BENCH_MODE     "static" (default) or "refresh"
--   BENCH_TOKENS   refresh mode: file with one refresh token per line (more than the
--                  connections: wrk takes one request more per thread than it sends at start). Each thread takes its share; each request uses a token once
--                  and the refresh_token of its response replaces it (rotation: a refresh
--                  token is never presented twice, as a well-behaved client does).
--   BENCH_OUT      file where done() writes its JSON summary
--
-- Latencies are those wrk measures (µs); the summary counts non-2xx answers and socket errors.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTH")
local mode = os.getenv("BENCH_MODE") or "static"

local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

-- Requests sent without a token left (each thread's chains must outnumber its connections:
-- wrk asks a thread for one request more than its connections at start).
exhausted = 0

local headers = {}
headers["Authorization"] = auth
if method == "POST" then
  headers["Content-Type"] = "application/x-www-form-urlencoded"
end

if mode == "refresh" then
  local queue = {}

  function init(args)
    -- This thread's share of the tokens: lines thread_index, thread_index + T, …
    local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
    local n = 0
    for line in io.lines(os.getenv("BENCH_TOKENS")) do
      if line ~= "" then
        if n % threads == thread_index then
          table.insert(queue, line)
        end
        n = n + 1
      end
    end
  end

  function request()
    local token = table.remove(queue)
    if token == nil then
      exhausted = exhausted + 1
      token = "exhausted"
    end
    return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
  end

  function response(status, hdrs, resp)
    if status == 200 then
      local rt = string.match(resp, '"refresh_token"%s*:%s*"([^"]+)"')
      if rt then
        table.insert(queue, rt)
      end
    end
  end
else
  -- One static request, built once by wrk.
  wrk.method = method
  wrk.body = body
  wrk.headers = headers
end

function done(summary, latency, requests)
  local errors = summary.errors
  local lost = 0
  for _, t in ipairs(threads) do
    lost = lost + (tonumber(t:get("exhausted")) or 0)
  end
  local out = string.format(
    '{"requests":%d,"exhausted":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}',
    summary.requests, lost, summary.duration, summary.bytes, errors.status, errors.connect, errors.read, errors.write,
    errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean)
  local f = io.open(os.getenv("BENCH_OUT"), "w")
  f:write(out .. "\n")
  f:close()
end
