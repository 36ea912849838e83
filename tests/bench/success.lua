-- make bench, workloads a and e: every request is a real, successful action
-- on a node of its own. Request k of thread t (of T) takes slot
-- lo + k*T + t, so threads never share a slot; a slot at or past hi means
-- the seed ran out, and the run fails. Slot s maps to its task, node and
-- action exactly as bench.py seeds them and dbdriver.c calls them.
--
--   wrk -s success.lua URL -- LO HI THREADS TASKS TASK_BASE [shed]
-- done() prints one line "BENCH_JSON {...}" (and "BENCH_FAIL ..." with the
-- first reply that was not a success).

-- The action mix by slot % 10 (dbdriver.c's kinds[]): 40% retry (half of
-- them with new inputs), 20% skip, 10% skip_exg, 30% callback.
local KINDS = { "retry", "retry_inputs", "skip", "callback", "retry",
                "skip_exg", "callback", "retry_inputs", "skip", "callback" }
local CRED = '"bk_app_code":"demo_app","bk_app_secret":"demo-app-secret",' ..
             '"bk_username":"admin"'
local HEADERS = { ["Content-Type"] = "application/json" }

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

-- Per thread (globals, so that done() can read them with thread:get).
sent, fails, exhausted, last_slot, first_fail, shed = 0, 0, 0, -1, "", 0

function init(args)
   lo, hi, nthreads = tonumber(args[1]), tonumber(args[2]), tonumber(args[3])
   ntasks, task_base = tonumber(args[4]), tonumber(args[5])
   -- "shed": a "nothing was applied" 502/503/504 is counted, not a failure
   shed_ok = args[6] == "shed"
end

-- 4 hex digits of a multiplicative hash first: ids spread over the whole
-- key space, as bk-sops' uuid-based ids do.
local function id33(prefix, tag, s)
   return string.format("%s%04x%s%027d", prefix, (s * 40503) % 65536, tag, s)
end

function request()
   local s = lo + sent * nthreads + tid
   sent = sent + 1
   if s >= hi then
      -- Out of seeded nodes: send what is bound to be refused and count it.
      exhausted = exhausted + 1
      s = hi
   end
   last_slot = s
   local kind = KINDS[s % 10 + 1]
   local task = task_base + s % ntasks
   local action, extra = kind, ""
   if kind == "retry_inputs" then
      action = "retry"
      extra = string.format(',"inputs":{"a":"new-%d","b":{"x":1},' ..
                            '"_escape_render_keys":["b"]}', s)
   elseif kind == "skip_exg" then
      extra = string.format(',"flow_id":"%s"', id33("l", "z", s))
   elseif kind == "callback" then
      extra = string.format(',"data":{"status":"done","slot":%d}', s)
   end
   -- Both documented forms: ESB (ids in the body) and API gateway (ids in
   -- the path), alternating every ten slots.
   local path, ids
   if math.floor(s / 10) % 2 == 0 then
      path = "/api/c/compapi/v2/sops/operate_node/"
      ids = string.format('"bk_biz_id":2,"task_id":%d,', task)
   else
      path = string.format("/prod/operate_node/2/%d/", task)
      ids = ""
   end
   local body = string.format('{%s,%s"node_id":"%s","action":"%s"%s}',
                              CRED, ids, id33("n", "b", s), action, extra)
   return wrk.format("POST", path, HEADERS, body)
end

function response(status, headers, body)
   if shed_ok and status >= 502 and status <= 504 and
      string.find(body, "nothing was applied", 1, true) then
      -- overload (bench "o"): the web server shed it, truthfully
      shed = shed + 1
   elseif status ~= 200 or not string.find(body, '"code":0,', 1, true) then
      fails = fails + 1
      if first_fail == "" then
         first_fail = status .. " " .. string.sub(body, 1, 300)
      end
   end
end

function done(summary, latency, requests)
   local f, ex, maxslot, first, sh = 0, 0, -1, "", 0
   for _, t in ipairs(threads) do
      f = f + t:get("fails")
      sh = sh + t:get("shed")
      ex = ex + t:get("exhausted")
      maxslot = math.max(maxslot, t:get("last_slot"))
      if first == "" then first = t:get("first_fail") end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"fails":%d,' ..
      '"exhausted":%d,"max_slot":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"socket_errors":%d,"non2xx":%d,"timeouts":%d,"shed":%d}\n',
      summary.requests, summary.duration, f, ex, maxslot,
      latency:percentile(50), latency:percentile(99), latency.max,
      e.connect + e.read + e.write, e.status, e.timeout, sh))
   if first ~= "" then
      io.write("BENCH_FAIL " .. first:gsub("\n", " ") .. "\n")
   end
end
