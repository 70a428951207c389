-- PUT 1 MiB objects under rotating keys (wrk -s put-object.lua http://host:port/v1/buckets/bench/objects).
local token = os.getenv("AERIE_TOKEN")
local body = string.rep("a", 1024 * 1024)
local counter = 0
request = function()
  counter = counter + 1
  local headers = { ["Content-Type"] = "application/octet-stream" }
  if token then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("PUT", wrk.path .. "/put-" .. (counter % 64), headers, body)
end
