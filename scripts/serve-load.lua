-- wrk script for scripts/serve-load: each request asks for one path of one session,
-- both picked at random. The session tokens come from the file named by
-- $FILIGREE_LOAD_TOKENS (one per line; blank lines and lines starting with # are skipped).
-- The paths of a session are master.m3u8, R.m3u8, R/init.mp4 and R/000000.m4s ..
-- R/NNNNNN.m4s, each equally likely (so most requests are segments), where R is
-- $FILIGREE_LOAD_RENDITION (default 360p) and there are $FILIGREE_LOAD_SEGMENTS segments
-- (default 10).
--
-- done() prints requests/s, latency p50/p99, the socket errors and the responses that
-- were not 2xx, by status; with $FILIGREE_LOAD_REPORT set it also writes them there as
-- one JSON object.

local threads = {}

-- Runs in the main Lua state, once per thread, before init().
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local tokens, paths, prefix

-- Runs in each thread's own Lua state.
function init(args)
  local file = os.getenv("FILIGREE_LOAD_TOKENS")
  assert(file and file ~= "", "FILIGREE_LOAD_TOKENS is not set")
  tokens = {}
  for line in io.lines(file) do
    line = line:match("^%s*(.-)%s*$")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      table.insert(tokens, line)
    end
  end
  assert(#tokens > 0, "no token in " .. file)

  local rendition = os.getenv("FILIGREE_LOAD_RENDITION") or "360p"
  local segments = tonumber(os.getenv("FILIGREE_LOAD_SEGMENTS") or "10")
  paths = { "master.m3u8", rendition .. ".m3u8", rendition .. "/init.mp4" }
  for i = 0, segments - 1 do
    table.insert(paths, string.format("%s/%06d.m4s", rendition, i))
  end

  -- A base URL with a path (http://host:port/prefix/) puts that path before /s/.
  prefix = wrk.path:gsub("/+$", "")
  math.randomseed(os.time() * 1000 + id * 7919)

  -- Per-thread counters, read by done() through thread:get().
  responses = 0
  non2xx = 0
  statuses = {}
end

function request()
  local token = tokens[math.random(#tokens)]
  local path = paths[math.random(#paths)]
  return wrk.format("GET", prefix .. "/s/" .. token .. "/" .. path)
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

-- Runs in the main Lua state once the run is over.
function done(summary, latency, requests)
  local total_non2xx, by_status = 0, {}
  for _, t in ipairs(threads) do
    total_non2xx = total_non2xx + (t:get("non2xx") or 0)
    for k, v in pairs(t:get("statuses") or {}) do
      by_status[k] = (by_status[k] or 0) + v
    end
  end

  local seconds = summary.duration / 1e6
  local rps = seconds > 0 and summary.requests / seconds or 0
  local p50 = latency:percentile(50) / 1000 -- microseconds to ms
  local p99 = latency:percentile(99) / 1000
  local e = summary.errors

  local keys = {}
  for k in pairs(by_status) do table.insert(keys, k) end
  table.sort(keys)
  local parts, json_parts = {}, {}
  for _, k in ipairs(keys) do
    table.insert(parts, k .. ":" .. by_status[k])
    table.insert(json_parts, string.format('"%s":%d', k, by_status[k]))
  end

  io.write("\n-- serve-load --------------------------------------------------\n")
  io.write(string.format("requests:       %d in %.1f s, %.1f MB\n",
    summary.requests, seconds, summary.bytes / 1e6))
  io.write(string.format("requests/s:     %.1f\n", rps))
  io.write(string.format("latency:        p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    p50, p99, latency.max / 1000))
  io.write(string.format("socket errors:  connect %d, read %d, write %d, timeout %d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("non-2xx:        %d%s\n", total_non2xx,
    #parts > 0 and ("  (" .. table.concat(parts, ", ") .. ")") or ""))

  local report = os.getenv("FILIGREE_LOAD_REPORT")
  if report and report ~= "" then
    local f = assert(io.open(report, "w"))
    f:write(string.format(
      '{"requests":%d,"seconds":%.3f,"bytes":%d,"requests_per_s":%.1f,' ..
      '"latency_ms":{"p50":%.3f,"p99":%.3f,"max":%.3f},' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
      '"non2xx":%d,"non2xx_by_status":{%s}}\n',
      summary.requests, seconds, summary.bytes, rps, p50, p99, latency.max / 1000,
      e.connect, e.read, e.write, e.timeout, total_non2xx, table.concat(json_parts, ",")))
    f:close()
  end
end
