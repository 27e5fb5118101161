-- wrk script of bench/fhir: each request takes the next path of the file PATHS (one per
-- line), so that a run spreads over many different searches instead of one cached answer.
-- The threads interleave (thread k takes paths k, k + T, k + 2T… of T = THREADS threads):
-- no two threads ask the same path, so the `cold` line's pages are each asked once.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local stride = tonumber(os.getenv("THREADS") or "1")
local i = nil
request = function()
  if i == nil then i = id or 0 end
  local path = paths[i % #paths + 1]
  i = i + stride
  return wrk.format("GET", path)
end
