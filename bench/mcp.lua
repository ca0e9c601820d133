-- wrk request: an MCP call over Streamable HTTP (stateless JSON), with the token in AUTH: a
-- tools/call of `hello` when CALL is set, tools/list otherwise.
wrk.method = "POST"
if os.getenv("CALL") ~= nil and os.getenv("CALL") ~= "" then
  wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello","arguments":{}}}'
else
  wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
local auth = os.getenv("AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
