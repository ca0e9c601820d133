#!/usr/bin/env bash
# The project's test command (README, CI). Installs the end-to-end peers (the certified OpenID
# provider `oidc-provider`, the official MCP TypeScript SDK and playwright-core, pinned by
# e2e/package-lock.json, Debian's redis-server and chromium, and the differential suite's Go,
# uvicorn and Jackson when missing),
# runs every Rust test (unit, integration, end-to-end, doc), then the seed-page twins, then the
# library guide's custom-verifier example (docs/library.md) driven with curl exactly as it tells a
# newcomer to.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in node npm curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed by the tests (Node.js 20+ with npm, curl, python3)"; exit 1; }
done
(cd e2e && npm ci --no-audit --no-fund --loglevel=error)
# DPoP across replicas is tested against a real Redis (crates/mcp-auth/tests/it/dpop_redis.rs).
command -v redis-server >/dev/null || {
  echo "installing redis-server (Debian) for the DPoP replay store tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}
# A real browser clicks Approve on the demo's consent page (crates/mcp-auth-cli/tests/e2e.rs).
command -v chromium >/dev/null || {
  echo "installing chromium (Debian) for the consent page test"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# The differential suite (crates/mcp-auth-cli/tests/it/differential.rs) runs one upstream per way of
# reading a request: Go's standard library, uvicorn (pinned by e2e/differential/requirements.txt)
# and Jackson on the JDK, next to python3's wsgiref and Node above.
command -v go >/dev/null || {
  echo "installing golang-go (Debian) for the differential suite's Go upstream"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
}
{ command -v javac >/dev/null && [ -f /usr/share/java/jackson-databind.jar ]; } || {
  echo "installing a JDK and Jackson (Debian) for the differential suite's Java upstream"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless libjackson2-databind-java >/dev/null
}
python3 -c 'import uvicorn' 2>/dev/null || {
  echo "installing uvicorn (PyPI) for the differential suite's ASGI upstream"
  python3 -m pip install -q -r e2e/differential/requirements.txt
}

# The end-to-end tests are #[ignore]d so that a plain `cargo test --workspace` passes without Node;
# the peers are installed above, so run them too.
cargo test --workspace --all-features -- --include-ignored

echo "seed page twins: cargo run --example seed_jwt_mode --features testing"
cargo run --quiet -p mcp-auth --example seed_jwt_mode --features testing

echo "example smoke test: cargo run --example custom_verifier"
cargo build --quiet -p mcp-auth --example custom_verifier
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
log=$(mktemp)
"$target_dir/debug/examples/custom_verifier" 127.0.0.1:0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
resource=""
for _ in $(seq 1 50); do
  resource=$(sed -n 's/^MCP server protected by mcp-auth at \(http[^ ]*\)$/\1/p' "$log")
  [ -n "$resource" ] && break
  sleep 0.1
done
[ -n "$resource" ] || { echo "example did not start:"; cat "$log"; exit 1; }

call='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'
expect() { # expect STATUS BODY_PATTERN [curl args...]
  local want=$1 pattern=$2; shift 2
  local out status
  out=$(curl -s -w '\n%{http_code}' "$@")
  status=${out##*$'\n'}
  if [ "$status" != "$want" ] || ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAILED: curl $* gave $status, wanted $want and /$pattern/:"; echo "$out"; exit 1
  fi
}
mcp=(-X POST "$resource" -H 'Content-Type: application/json'
     -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' -d "$call")
expect 401 '"error":"unauthorized"' "${mcp[@]}"
expect 403 '"error":"insufficient_scope"' -H 'Authorization: Bearer no-scope-token' "${mcp[@]}"
expect 200 'subject=alice client=example-client scopes=mcp:tools' -H 'Authorization: Bearer alice-token' "${mcp[@]}"
expect 200 "\"resource\":\"$resource\"" "${resource%/mcp}/.well-known/oauth-protected-resource/mcp"
echo "smoke: 4 passed, 0 failed"
