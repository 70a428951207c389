-- GET with the bearer token from the environment.
local token = os.getenv("AERIE_TOKEN")
if token then wrk.headers["Authorization"] = "Bearer " .. token end
