-- wrk script for the salesrefund benchmarks.
--   wrk -t T -c C -d D --latency -s bench/wrk_refunds.lua http://127.0.0.1:PORT -- DATAFILE MODE RUNID
-- DATAFILE: "T <token>" and "I <invoice number>" lines (written by bench/fixtures.py).
-- MODE: "refund" posts POST /v1/refunds with a distinct Idempotency-Key each time, 1-3 units of each
--       of the invoice's 3 lines, invoices and till tokens taken in turn;
--       "echo" posts the same body to the validated echo route POST /bench/echo (no auth, no DB).
-- Output: one line "BENCH_JSON {...}" with the statuses seen and the latency percentiles (us).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local datafile, mode, runid = args[1], args[2] or "refund", args[3] or "run"
  tokens, invoices = {}, {}
  for line in io.lines(datafile) do
    local kind, value = line:match("^(%a) (.+)$")
    if kind == "T" then table.insert(tokens, value) elseif kind == "I" then table.insert(invoices, value) end
  end
  bench_mode, bench_run = mode, runid
  statuses = {}
  math.randomseed(tid * 7919 + os.time())
  -- start each thread at a different place in the pools, so threads do not move in lockstep
  counter = (tid - 1) * 7
  if mode == "echo" then path = "/bench/echo" else path = "/v1/refunds" end
end

function request()
  counter = counter + 1
  local invoice = invoices[(counter % #invoices) + 1]
  local body = string.format(
    '{"invoice":"%s","lines":[{"line":1,"quantity":"%d"},{"line":2,"quantity":"%d"},{"line":3,"quantity":"%d"}]}',
    invoice, math.random(1, 3), math.random(1, 3), math.random(1, 3))
  local headers = {["Content-Type"] = "application/json"}
  if bench_mode ~= "echo" then
    headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]
    headers["Idempotency-Key"] = string.format("%s-%d-%d", bench_run, tid, counter)
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local seen = thread:get("statuses")
    if seen then
      for status, n in pairs(seen) do merged[tostring(status)] = (merged[tostring(status)] or 0) + n end
    end
  end
  local parts = {}
  for status, n in pairs(merged) do table.insert(parts, string.format('"%s":%d', status, n)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"statuses":{%s},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ","), latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
