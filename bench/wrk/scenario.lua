-- One wrk script for every scenario, chosen by environment variables (bench/lib/wrk.ts sets them):
--   BENCH_SCENARIO     get | list | create | update | mixed
--                      | get-auth | list-page | create-idem | update-if-match (version 2, service only)
--   BENCH_SEED_FILE    one line per seeded user: "<user_id> <task_id> <task_id> ..."
--   BENCH_CREATE_USER  first user id that creates go to; BENCH_CREATE_USERS how many
--   BENCH_TOKEN_FILE   get-auth: one line per seeded user: "<user_id> <token>"
--   BENCH_PAGE_USER    list-page: first user seeded with 200 tasks; BENCH_PAGE_USERS how many
--   BENCH_RUN_ID       create-idem: makes this run's Idempotency-Keys its own
-- Every request that can be is formatted once in init(), so request() only picks one: the load
-- generator stays cheap and the CPU goes to the server under test. (create-idem and
-- update-if-match format per request: a fresh key, an ETag just read.)

local scenario = os.getenv("BENCH_SCENARIO") or "get"
local seed_file = os.getenv("BENCH_SEED_FILE")
local create_first = tonumber(os.getenv("BENCH_CREATE_USER") or "500001")
local create_count = tonumber(os.getenv("BENCH_CREATE_USERS") or "100")
local token_file = os.getenv("BENCH_TOKEN_FILE") or ""
local page_first = tonumber(os.getenv("BENCH_PAGE_USER") or "0")
local page_count = tonumber(os.getenv("BENCH_PAGE_USERS") or "0")
local run_id = os.getenv("BENCH_RUN_ID") or "run"

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
local auth_gets, pages, tagged_gets = {}, {}, {}
-- update-if-match pairs a GET's answer with the PUT that follows by this request id, which the
-- service echoes (a response() callback is not told which request it answers).
local GET_TAG = "bench-get"

function init(args)
  -- thread_index is set by setup() in this thread's own Lua state.
  math.randomseed(os.time() * 1000 + (thread_index or 0) * 7919)
  local tokens = {}
  if token_file ~= "" then
    for line in io.lines(token_file) do
      local user, token = line:match("^(%d+) (%S+)$")
      if user ~= nil then tokens[user] = token end
    end
  end
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
        tagged_gets[#tagged_gets + 1] = wrk.format("GET", path, { ["X-Request-Id"] = GET_TAG })
        -- Each task is read with its owner's token: every request acts for its own user.
        if tokens[user] ~= nil then
          auth_gets[#auth_gets + 1] = wrk.format("GET", path, { Authorization = "Bearer " .. tokens[user] })
        end
      end
    end
  end
  for i = 0, create_count - 1 do
    creates[#creates + 1] = wrk.format("POST", "/users/" .. (create_first + i) .. "/tasks", json_headers, create_body)
  end
  for i = 0, page_count - 1 do
    pages[#pages + 1] = wrk.format("GET", "/users/" .. (page_first + i) .. "/tasks?limit=20")
  end
  if #gets == 0 then error("no seeded tasks in " .. tostring(seed_file)) end
  if scenario == "get-auth" and #auth_gets == 0 then error("get-auth: no tokens in BENCH_TOKEN_FILE") end
  if scenario == "list-page" and #pages == 0 then error("list-page: BENCH_PAGE_USERS is 0") end
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

local function get_auth() return auth_gets[random(#auth_gets)] end
local function list_page() return pages[random(#pages)] end

local idem_count = 0
local function create_idem()
  idem_count = idem_count + 1
  local key = "bench-" .. run_id .. "-" .. (thread_index or 0) .. "-" .. idem_count
  local user = create_first + random(create_count) - 1
  return wrk.format("POST", "/users/" .. user .. "/tasks",
    { ["Content-Type"] = "application/json", ["Idempotency-Key"] = key }, create_body)
end

-- PUTs waiting to be sent, first in first out, each made from a GET's answer: its task, its
-- ETag as If-Match, and the other value of `completed`, so every PUT is a real change.
local pending, pending_first, pending_last = {}, 1, 0
local function update_if_match()
  if pending_first <= pending_last then
    local req = pending[pending_first]
    pending[pending_first] = nil
    pending_first = pending_first + 1
    return req
  end
  return tagged_gets[random(#tagged_gets)]
end

local function queue_conditional_put(status, headers, body)
  if status ~= 200 then return end
  local tagged, etag = false, nil
  for name, value in pairs(headers) do
    local lower = name:lower()
    if lower == "x-request-id" then tagged = value == GET_TAG
    elseif lower == "etag" then etag = value end
  end
  if not tagged or etag == nil then return end
  local id, user = body:match('"id":(%d+)'), body:match('"user_id":(%d+)')
  if id == nil or user == nil then return end
  local next_body = body:match('"completed":true') and set_false or set_true
  pending_last = pending_last + 1
  pending[pending_last] = wrk.format("PUT", "/users/" .. user .. "/tasks/" .. id,
    { ["Content-Type"] = "application/json", ["If-Match"] = etag }, next_body)
end

local pick = ({
  get = get, list = list, create = create, update = update, mixed = mixed,
  ["get-auth"] = get_auth, ["list-page"] = list_page, ["create-idem"] = create_idem, ["update-if-match"] = update_if_match
})[scenario]
if pick == nil then error("unknown BENCH_SCENARIO " .. scenario) end

request = pick
-- Only this scenario reads answers: with a response() defined, wrk parses every answer's
-- headers and body into Lua, which the others need not pay for.
if scenario == "update-if-match" then response = queue_conditional_put end

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
