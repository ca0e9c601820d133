"""The Python WSGI reader of the differential suite: an MCP-ish JSON-RPC app under the standard
library's wsgiref server that executes (records) what it parsed, reading requests the way a
WSGI app does:

- headers CGI-style from the environ: wsgiref maps `-` and `_` in a header name to the same
  `HTTP_*` variable (so `X_MCP_Auth_Subject` is read as `X-MCP-Auth-Subject`, `Mcp_Session_Id`
  as the session id) and joins repeated headers with `,`; the value is taken as it is;
- the method from `REQUEST_METHOD`, upper-cased, overridden by `X-HTTP-Method-Override`,
  `X-HTTP-Method` or `X-Method-Override` (as several frameworks allow);
- the body with `json.loads` on the bytes: the last of two members wins, a UTF-8 BOM, UTF-16
  and UTF-32 are accepted, so are `NaN` and `Infinity`;
- the routed path is `PATH_INFO` (percent-decoded by wsgiref) through `posixpath.normpath`;
- tools and prompts looked up by `name.strip()`;
- a resource URI resolved with `urllib.parse.urlparse` (which, like urlsplit, strips leading
  blanks and removes tabs and newlines anywhere), `unquote` and `posixpath.normpath` (which
  keeps a leading `//`).

It listens on 127.0.0.1:0, prints its port, and serves what it recorded at GET /__records.
"""

import json
import posixpath
import socketserver
import sys
import threading
import urllib.parse
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

TOOLS = ["whoami", "echo", "admin_report", "kill_switch"]
PROMPTS = ["hello", "secret_prompt"]
METHODS = ["initialize", "ping", "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list", "resources/read", "logging/setLevel", "completion/complete"]
# Headers by which a proxy in front tells about the request, besides X-Forwarded*.
FORWARDED = (
    "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_ORIGINAL_URL", "HTTP_X_REWRITE_URL", "HTTP_X_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP", "HTTP_CF_CONNECTING_IP", "HTTP_X_CLUSTER_CLIENT_IP", "HTTP_X_HOST",
)
OVERRIDES = ("HTTP_X_HTTP_METHOD_OVERRIDE", "HTTP_X_HTTP_METHOD", "HTTP_X_METHOD_OVERRIDE")

lock = threading.Lock()
records = []
sessions = {}


def lookup(known, name):
    name = name.strip() if isinstance(name, str) else name
    return name if name in known else None


def resolve(uri):
    if not isinstance(uri, str):
        return None
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = urllib.parse.unquote(parsed.path)
    return posixpath.normpath(path) if path else None


def execute(message, record):
    """Runs one JSON-RPC message; returns its answer, or None for a notification."""
    if not isinstance(message, dict) or "method" not in message:
        return None
    method = message["method"]
    record["executed"].append({"kind": "method", "name": method, "resolved": method if method in METHODS else None})
    params = message.get("params") if isinstance(message.get("params"), dict) else {}
    result = {}
    if method == "initialize":
        with lock:
            session = "wsgi-session-%d" % (len(sessions) + 1)
            sessions[session] = record["identity"]
        record["new_session"] = session
        result = {"protocolVersion": "2025-06-18"}
    elif method == "tools/call":
        tool = lookup(TOOLS, params.get("name"))
        if tool:
            record["executed"].append({"kind": "tool", "name": params.get("name"), "resolved": tool})
            result = {"content": [{"type": "text", "text": "ran " + tool}]}
    elif method == "prompts/get":
        prompt = lookup(PROMPTS, params.get("name"))
        if prompt:
            record["executed"].append({"kind": "prompt", "name": params.get("name"), "resolved": prompt})
    elif method == "completion/complete":
        ref = params.get("ref") if isinstance(params.get("ref"), dict) else {}
        if ref.get("type") == "ref/prompt":
            prompt = lookup(PROMPTS, ref.get("name"))
            if prompt:
                record["executed"].append({"kind": "prompt", "name": ref.get("name"), "resolved": prompt})
        elif ref.get("type") == "ref/resource":
            uri = ref.get("uri")
            record["executed"].append({"kind": "resource", "name": uri, "resolved": resolve(uri)})
    elif method == "resources/read":
        uri = params.get("uri")
        record["executed"].append({"kind": "resource", "name": uri, "resolved": resolve(uri)})
    if "id" not in message:
        return None
    return {"jsonrpc": "2.0", "id": message["id"], "result": result}


def app(environ, start_response):
    if environ["PATH_INFO"] == "/__records" and environ["REQUEST_METHOD"] == "GET":
        with lock:
            body = json.dumps({"records": records, "sessions": sessions}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    method = environ["REQUEST_METHOD"].upper()
    for name in OVERRIDES:
        if environ.get(name):
            method = environ[name].upper()
            break
    record = {
        "case": environ.get("HTTP_X_CASE"),
        "method_seen": method,
        "path_seen": posixpath.normpath(environ["PATH_INFO"] or "/"),
        "raw_target": environ.get("RAW_URI"),
        "executed": [],
        "identity": {
            "subject": environ.get("HTTP_X_MCP_AUTH_SUBJECT"),
            "client_id": environ.get("HTTP_X_MCP_AUTH_CLIENT_ID"),
            "scopes": environ.get("HTTP_X_MCP_AUTH_SCOPES"),
            "issuer": environ.get("HTTP_X_MCP_AUTH_ISSUER"),
        },
        "session": environ.get("HTTP_MCP_SESSION_ID"),
        "forwarded": {
            key[5:].lower().replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_X_FORWARDED") or key in FORWARDED
        },
    }
    status, answer = "200 OK", None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    if record["session"] and record["session"] not in sessions:
        status = "404 Not Found"
    elif method == "POST":
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            answer = [a for a in (execute(m, record) for m in parsed) if a is not None]
        elif parsed is not None:
            answer = execute(parsed, record)
    new_session = record.pop("new_session", None)
    with lock:
        records.append(record)
    headers = [("Content-Type", "application/json")]
    if new_session:
        headers.append(("Mcp-Session-Id", new_session))
    if answer is None and status.startswith("200"):
        status = "202 Accepted"
    start_response(status, headers)
    return [json.dumps(answer).encode()] if answer is not None else [b""]


class Handler(WSGIRequestHandler):
    def get_environ(self):
        environ = super().get_environ()
        # The request target as received, as gunicorn passes it.
        environ["RAW_URI"] = self.path
        return environ

    def log_message(self, *args):
        pass


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main():
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=Handler)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
