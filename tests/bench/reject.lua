-- make bench, workloads c and d: one fixed request, a body of the usual
-- size with a duplicate key. The service must refuse it before any database
-- work (HTTP 200, code 3540000); the libfcgi hello answers its fixed JSON.
-- Every reply is checked for the expected text.
--
--   wrk -s reject.lua URL -- EXPECTED_TEXT
-- done() prints one line "BENCH_JSON {...}" like success.lua's.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"bk_app_code":"demo_app","bk_app_secret":"demo-app-secret",' ..
           '"bk_username":"admin","bk_biz_id":2,"task_id":100000,' ..
           '"node_id":"n9e2cb000000000000000000000000042",' ..
           '"action":"retry","action":"skip"}'

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

fails, first_fail = 0, ""

function init(args)
   expected = args[1]
end

function response(status, headers, body)
   if status ~= 200 or not string.find(body, expected, 1, true) then
      fails = fails + 1
      if first_fail == "" then
         first_fail = status .. " " .. string.sub(body, 1, 300)
      end
   end
end

function done(summary, latency, requests)
   local f, first = 0, ""
   for _, t in ipairs(threads) do
      f = f + t:get("fails")
      if first == "" then first = t:get("first_fail") end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"fails":%d,' ..
      '"exhausted":0,"max_slot":-1,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"socket_errors":%d,"non2xx":%d,"timeouts":%d}\n',
      summary.requests, summary.duration, f,
      latency:percentile(50), latency:percentile(99), latency.max,
      e.connect + e.read + e.write, e.status, e.timeout))
   if first ~= "" then
      io.write("BENCH_FAIL " .. first:gsub("\n", " ") .. "\n")
   end
end
