-- wrk script: POST /api/v1/customers with a unique email per request.
-- Uniqueness across wrk threads: each thread takes its own id; the counter is per thread.
local counter = 0

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  run_id = os.time()
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"name":"Bench Customer %d","email":"bench-%d-%d-%d@load.example","totalSpending":%d.50,"visits":%d}',
    counter, run_id, thread_id, counter, counter % 1000, counter % 50)
  return wrk.format("POST", "/api/v1/customers", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("KEEL_BENCH_TOKEN")}, body)
end

-- Any non-2xx answer is a failed command: the benchmark must not count it as throughput.
response = function(status, headers, body)
  if status ~= 201 then
    errors_seen = (errors_seen or 0) + 1
  end
end
