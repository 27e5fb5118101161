-- wrk script of bench/fhir: each request takes the next path of the file PATHS (one per
-- line), so that a run spreads over many different searches instead of one cached answer.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
