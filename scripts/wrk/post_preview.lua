-- wrk script: POST /api/v1/segments/preview with the rules in the file KEEL_BENCH_RULES.
local body

function init(args)
  local f = assert(io.open(os.getenv("KEEL_BENCH_RULES"), "r"))
  body = f:read("*a")
  f:close()
end

request = function()
  return wrk.format("POST", "/api/v1/segments/preview", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("KEEL_BENCH_TOKEN")}, body)
end
