-- wrk script of bench/feed.py: each request picks one of N members' bearer tokens and one of the paths.
-- Environment: BENCH_TOKENS (file, one token a line), BENCH_PATHS (file, one path a line).
local tokens, paths = {}, {}

local function read_lines(name, into)
  local file = assert(io.open(name, "r"))
  for line in file:lines() do
    if #line > 0 then into[#into + 1] = line end
  end
  file:close()
end

init = function(args)
  read_lines(os.getenv("BENCH_TOKENS"), tokens)
  read_lines(os.getenv("BENCH_PATHS"), paths)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

request = function()
  local token = tokens[math.random(#tokens)]
  local path = paths[math.random(#paths)]
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
