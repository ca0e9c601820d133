"""The Python ASGI reader of the differential suite: a plain ASGI callable under uvicorn (its h11
HTTP/1.1 parser) that executes (records) what it parsed, reading requests the way Starlette
does:

- headers from `scope["headers"]`, names lower-cased by the server, the first match wins
  (Starlette's `request.headers[...]`); `-` and `_` stay different;
- the method as uvicorn gives it; only `POST` carries JSON-RPC;
- the body with `json.loads` (the last of two members wins; `NaN`, `Infinity`, a UTF-8 BOM,
  UTF-16 and UTF-32 accepted); chunked bodies are de-chunked by uvicorn;
- the routed path is `scope["path"]` (percent-decoded by uvicorn, dot segments kept) through
  `posixpath.normpath`; `raw_path` is recorded as the request target;
- tools and prompts looked up after `unicodedata.normalize("NFKC", name).strip()`, cut at the
  first NUL (a registry that folds look-alike names, behind a C API);
- a resource URI resolved with `urllib.parse.urlsplit`, `url2pathname` and `os.path.normpath`.

It listens on 127.0.0.1:0, prints its port, and serves what it recorded at GET /__records.
"""

import json
import os.path
import posixpath
import socket
import unicodedata
import urllib.parse
import urllib.request

import uvicorn

TOOLS = ["whoami", "echo", "admin_report", "kill_switch"]
PROMPTS = ["hello", "secret_prompt"]
METHODS = ["initialize", "ping", "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list", "resources/read", "logging/setLevel", "completion/complete"]
# Headers by which a proxy in front tells about the request, besides X-Forwarded*.
FORWARDED = (
    "forwarded", "x-real-ip", "x-original-url", "x-rewrite-url", "x-client-ip", "true-client-ip",
    "cf-connecting-ip", "x-cluster-client-ip", "x-host",
)

records = []
sessions = {}


def lookup(known, name):
    if not isinstance(name, str):
        return None
    name = unicodedata.normalize("NFKC", name).split("\0")[0].strip()
    return name if name in known else None


def resolve(uri):
    if not isinstance(uri, str):
        return None
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme != "file":
        return None
    path = urllib.request.url2pathname(parsed.path)
    return os.path.normpath(path) if path else None


def execute(message, record):
    """Runs one JSON-RPC message; returns its answer, or None for a notification."""
    if not isinstance(message, dict) or "method" not in message:
        return None
    method = message["method"]
    record["executed"].append({"kind": "method", "name": method, "resolved": method if method in METHODS else None})
    params = message.get("params") if isinstance(message.get("params"), dict) else {}
    result = {}
    if method == "initialize":
        session = "asgi-session-%d" % (len(sessions) + 1)
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


async def respond(send, status, headers, body):
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]

    def first(name):
        return next((value for key, value in headers if key == name), None)

    if scope["path"] == "/__records" and scope["method"] == "GET":
        body = json.dumps({"records": records, "sessions": sessions}).encode()
        await respond(send, 200, [(b"content-type", b"application/json")], body)
        return
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            break
    forwarded = {}
    for key, value in headers:
        if key.startswith("x-forwarded") or key in FORWARDED:
            forwarded[key] = forwarded[key] + ", " + value if key in forwarded else value
    record = {
        "case": first("x-case"),
        "method_seen": scope["method"],
        "path_seen": posixpath.normpath(scope["path"] or "/"),
        "raw_target": scope.get("raw_path", b"").decode("latin-1"),
        "executed": [],
        "identity": {
            "subject": first("x-mcp-auth-subject"),
            "client_id": first("x-mcp-auth-client-id"),
            "scopes": first("x-mcp-auth-scopes"),
            "issuer": first("x-mcp-auth-issuer"),
        },
        "session": first("mcp-session-id"),
        "forwarded": forwarded,
    }
    status, answer = 200, None
    if record["session"] and record["session"] not in sessions:
        status = 404
    elif scope["method"] == "POST":
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            answer = [a for a in (execute(m, record) for m in parsed) if a is not None]
        elif parsed is not None:
            answer = execute(parsed, record)
    new_session = record.pop("new_session", None)
    records.append(record)
    out = [(b"content-type", b"application/json")]
    if new_session:
        out.append((b"mcp-session-id", new_session.encode()))
    if answer is None and status == 200:
        status = 202
    await respond(send, status, out, json.dumps(answer).encode() if answer is not None else b"")


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, http="h11", lifespan="off", log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
