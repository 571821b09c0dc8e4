-- One wrk script for every scenario, chosen by environment variables (bench/lib/wrk.ts sets them):
--   BENCH_SCENARIO     get | list | create | update | mixed
--   BENCH_SEED_FILE    one line per seeded user: "<user_id> <task_id> <task_id> ..."
--   BENCH_CREATE_USER  first user id that creates go to; BENCH_CREATE_USERS how many
-- Every request is formatted once in init(), so request() only picks one: the load
-- generator stays cheap and the CPU goes to the server under test.

local scenario = os.getenv("BENCH_SCENARIO") or "get"
local seed_file = os.getenv("BENCH_SEED_FILE")
local create_first = tonumber(os.getenv("BENCH_CREATE_USER") or "500001")
local create_count = tonumber(os.getenv("BENCH_CREATE_USERS") or "100")

local json_headers = { ["Content-Type"] = "application/json" }
local create_body = '{"title":"bench task","description":"created by wrk"}'
local set_true = '{"completed":true}'
local set_false = '{"completed":false}'

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
end

local gets, lists, creates = {}, {}, {}
local updates_true, updates_false, completed = {}, {}, {}

function init(args)
  -- thread_index is set by setup() in this thread's own Lua state.
  math.randomseed(os.time() * 1000 + (thread_index or 0) * 7919)
  for line in io.lines(seed_file) do
    local user
    for number in line:gmatch("%d+") do
      if user == nil then
        user = number
        lists[#lists + 1] = wrk.format("GET", "/users/" .. user .. "/tasks")
      else
        local path = "/users/" .. user .. "/tasks/" .. number
        gets[#gets + 1] = wrk.format("GET", path)
        updates_true[#updates_true + 1] = wrk.format("PUT", path, json_headers, set_true)
        updates_false[#updates_false + 1] = wrk.format("PUT", path, json_headers, set_false)
        completed[#completed + 1] = false
      end
    end
  end
  for i = 0, create_count - 1 do
    creates[#creates + 1] = wrk.format("POST", "/users/" .. (create_first + i) .. "/tasks", json_headers, create_body)
  end
  if #gets == 0 then error("no seeded tasks in " .. tostring(seed_file)) end
end

local random = math.random

local function get() return gets[random(#gets)] end
local function list() return lists[random(#lists)] end
local function create() return creates[random(#creates)] end

-- Toggles as this thread last saw it: seeded tasks start incomplete, so every PUT changes
-- the row (and its updated_at) rather than being a no-op.
local function update()
  local i = random(#updates_true)
  local next_value = not completed[i]
  completed[i] = next_value
  if next_value then return updates_true[i] else return updates_false[i] end
end

local function mixed()
  local roll = random(100)
  if roll <= 50 then return get() end
  if roll <= 70 then return list() end
  if roll <= 85 then return create() end
  return update()
end

local pick = ({ get = get, list = list, create = create, update = update, mixed = mixed })[scenario]
if pick == nil then error("unknown BENCH_SCENARIO " .. scenario) end

request = pick

-- wrk counts responses with status >= 400 in errors.status; neither target sends 1xx or 3xx,
-- so that count is the non-2xx count without a per-response Lua callback.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
