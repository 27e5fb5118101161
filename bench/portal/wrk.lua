-- wrk script of bench/portal: with BENCH_BODY set, POSTs that form (a login: csrf, email,
-- mot_de_passe) with the browser cookie BENCH_COOKIE and counts the 303s (logins that
-- succeeded); without it, GETs the URL given to wrk. Either way done() prints one JSON line
-- of totals and latency percentiles (µs) for bench/portal/run.mjs.
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) see_other = 0 end
function response(status, headers, body)
  if status == 303 then see_other = see_other + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("see_other") end
  io.write(string.format(
    '{"requests":%d,"see_other":%d,"status_errors":%d,"socket_errors":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, n, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
