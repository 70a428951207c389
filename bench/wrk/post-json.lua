-- POST a small JSON body with the bearer token from the environment (wrk -s post-json.lua URL).
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("AERIE_TOKEN")
if token then wrk.headers["Authorization"] = "Bearer " .. token end
