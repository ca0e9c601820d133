#!/usr/bin/env bash
# Instructions the proxy executes per request, counted by callgrind: a figure that does not move
# with the machine's load, for an A/B of two builds where CPU time (bench/proxy.sh) is too noisy.
# The proxy runs under valgrind with instrumentation off; after a warm-up (discovery, key set,
# the token remembered, the upstream connection open) it is switched on for REQUESTS sequential
# MCP tools/list calls on one keep-alive connection, then dumped. Prints instructions per
# request of each build given (this checkout's release build when none).
#
#   bench/proxy_instructions.sh [MCP_AUTH_BINARY...]      (REQUESTS=2000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-2000}

command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
cargo build --quiet --release -p mcp-auth --example bench_server --features testing,rmcp
cargo build --quiet --release -p mcp-auth-cli
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
this_build=$target_dir/release/mcp-auth
if [ $# -gt 0 ]; then builds=("$@"); else builds=("$this_build"); fi
logs=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$logs"' EXIT

# wait_for LOG PATTERN: until a line of LOG matches, at most 60 s (valgrind starts slowly).
wait_for() {
  for _ in $(seq 1 1200); do grep -q "$2" "$1" && return 0; sleep 0.05; done
  echo "no line matching $2 in $1:"; cat "$1"; exit 1
}

"$this_build" demo --bind 127.0.0.1:0 </dev/null >"$logs/demo" 2>&1 &
wait_for "$logs/demo" '^  token endpoint:'
issuer=$(sed -n 's/^Authorization server: *//p' "$logs/demo")
token_endpoint=$(sed -n 's/^  token endpoint: *//p' "$logs/demo")
client_secret=$(sed -n 's/^  client secret: *//p' "$logs/demo")
"$target_dir/release/examples/bench_server" plain 127.0.0.1:0 >"$logs/upstream" 2>&1 &
wait_for "$logs/upstream" '^BAD_TOKEN='
upstream_url=$(sed -n 's/^URL=//p' "$logs/upstream")

for build in "${builds[@]}"; do
  rm -f "$logs"/callgrind.*
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$logs/callgrind.%p" \
    "$build" proxy --bind 127.0.0.1:0 --upstream "$upstream_url" --issuer "$issuer" \
    --scope mcp:tools </dev/null >"$logs/proxy" 2>"$logs/proxy.err" &
  proxy=$!
  wait_for "$logs/proxy" '^  MCP endpoint'
  url=$(sed -n 's/^  MCP endpoint *//p' "$logs/proxy")
  token=$(curl -s -u "demo-client:$client_secret" "$token_endpoint" -d grant_type=client_credentials \
    --data-urlencode scope=mcp:tools --data-urlencode "resource=$url" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  URL=$url TOKEN=$token REQUESTS=$REQUESTS PROXY_PID=$proxy python3 - <<'PY'
import http.client, os, subprocess, urllib.parse
url = urllib.parse.urlsplit(os.environ["URL"])
headers = {
    "Authorization": "Bearer " + os.environ["TOKEN"],
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}
body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
def call(times):
    for _ in range(times):
        connection.request("POST", url.path, body, headers)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
call(50)
pid = os.environ["PROXY_PID"]
subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
call(int(os.environ["REQUESTS"]))
subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
PY
  kill "$proxy"; wait "$proxy" 2>/dev/null || true
  # The first dump holds the calls alone; the last one, written at exit, the shutdown.
  instructions=$(awk '/^summary:/ {print $2}' "$logs"/callgrind.*.1)
  echo "$build: $(( instructions / REQUESTS )) instructions per request ($REQUESTS requests)"
done
