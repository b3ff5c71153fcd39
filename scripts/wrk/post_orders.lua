-- wrk script: POST /api/v1/orders for random existing, active customers (named by email).
-- The emails come from the file in KEEL_BENCH_EMAILS, one per line.
local emails = {}

function init(args)
  for line in io.lines(os.getenv("KEEL_BENCH_EMAILS")) do
    emails[#emails + 1] = line
  end
  math.randomseed(os.time() + #emails + math.floor(os.clock() * 1000000))
end

request = function()
  local body = string.format('{"customerEmail":"%s","orderAmount":%d.%02d}',
    emails[math.random(#emails)], math.random(1, 500), math.random(0, 99))
  return wrk.format("POST", "/api/v1/orders", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("KEEL_BENCH_TOKEN")}, body)
end
