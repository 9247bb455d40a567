-- wrk script for bench/load.py: simulated citizens, each one connection of its own (wrk -t N -c N).
--
-- A citizen loops: GET the form of a random counter as a new phone (no cookie, a fresh
-- User-Agent), then POST every required answer with the form's hidden fields (CSRF token,
-- idempotency key, version) and the session cookie it was given. A share of citizens tap "Gửi"
-- twice: the same POST again, which must be acknowledged (303) and store nothing new.
--
-- Arguments (after --): paths file, output prefix, double-tap share, seed.
-- Each thread writes <prefix>.<thread>.tsv, a line per event: "get|post<TAB>start_ms<TAB>ms" per
-- timed request (start on the monotonic clock), "sent<TAB>key<TAB>a31" per first POST sent,
-- "ack<TAB>key" per first POST acknowledged, "double<TAB>key" per acknowledged double tap,
-- "error<TAB>kind" per failure.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } timespec;
  int clock_gettime(int clk_id, timespec *tp);
]]
local ts = ffi.new("timespec[1]")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC, the clock of Python's time.monotonic()
  return tonumber(ts[0].tv_sec) * 1000 + tonumber(ts[0].tv_nsec) / 1e6
end

local REQUIRED = { "A1_1", "A1_2", "A1_3", "A2_1", "A2_2", "A2_3", "A2_4", "A3_2", "A3_3", "A3_4",
  "A3_5", "A4_1", "A4_2", "A4_3", "OVERALL" }
local fixed = {}
for _, code in ipairs(REQUIRED) do fixed[#fixed + 1] = "q_" .. code .. "=4" end
local FIXED = table.concat(fixed, "&") -- q_A3_1 varies: its sum is checked in the database

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

local paths, out, double_tap
local state, path, agent, post_request, started, key, a31

function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  -- Buffered by stdio and flushed when wrk exits: a line per request costs no system call.
  out = io.open(args[2] .. "." .. thread_id .. ".tsv", "w")
  double_tap = tonumber(args[3])
  math.randomseed(tonumber(args[4]) * 1000 + thread_id)
  state = "get"
end

local function new_citizen()
  path = paths[math.random(#paths)]
  agent = string.format("bench-phone-%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
end

function request()
  if state == "get" then
    new_citizen()
    started = now_ms()
    return wrk.format("GET", path, { ["User-Agent"] = agent })
  end
  started = now_ms()
  if state == "post" then
    out:write("sent\t", key, "\t", a31, "\n") -- stored maybe; acknowledged if its reply arrives in time
  end
  return post_request
end

local function header(headers, name)
  for k, v in pairs(headers) do
    if string.lower(k) == name then return v end
  end
end

local function failed(kind)
  out:write("error\t", kind, "\n")
end

function response(status, headers, body)
  local elapsed = now_ms() - started
  if state == "get" then
    out:write(string.format("get\t%.3f\t%.3f\n", started, elapsed))
    if status ~= 200 then
      failed("GET " .. status)
      return
    end
    local csrf = string.match(body, 'name="csrf_token" type="hidden" value="([^"]*)"')
    key = string.match(body, 'name="idem" type="hidden" value="([^"]*)"')
    local version = string.match(body, 'name="version" type="hidden" value="([^"]*)"')
    local cookie = header(headers, "set-cookie")
    if not (csrf and key and version and cookie) then
      failed("GET without form")
      return
    end
    a31 = math.random(1, 5)
    local form = "csrf_token=" .. csrf .. "&idem=" .. key .. "&version=" .. version .. "&" .. FIXED ..
        "&q_A3_1=" .. a31
    post_request = wrk.format("POST", path, {
      ["User-Agent"] = agent,
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = string.match(cookie, "^[^;]*"),
    }, form)
    state = "post"
  elseif state == "post" then
    out:write(string.format("post\t%.3f\t%.3f\n", started, elapsed))
    if status == 303 then
      out:write("ack\t", key, "\n")
      state = math.random() < double_tap and "again" or "get"
    else
      failed("POST " .. status)
      state = "get"
    end
  else -- the double tap: acknowledged again, stored once
    if status == 303 then
      out:write("double\t", key, "\n")
    else
      failed("double tap " .. status)
    end
    state = "get"
  end
end
