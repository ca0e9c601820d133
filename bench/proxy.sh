#!/usr/bin/env bash
# Load test of `mcp-auth proxy`: the same fast upstream (the rmcp bench server, plain mode, no
# authorization) called directly and through the proxy with a remembered token, MCP tools/list,
# 32 connections. The proxy trusts the issuer of `mcp-auth demo` (only its test authorization
# server is used: the token comes from its token endpoint, client_credentials with RFC 8707
# `resource` = the proxy's MCP endpoint). Server side (upstream, and proxy when there is one)
# pinned to core 0, wrk to core 1; each case runs ROUNDS times, interleaved, and the median is
# reported. Prints requests/s, p50/p99 latency, CPU per request of each server process and their
# peak RSS, then what the proxy adds: its CPU per request (the upstream's is the same work in
# both cases), the p50/p99 latency added, and its peak RSS.
#
#   bench/proxy.sh            (ROUNDS=3 DURATION=10 by default; CALL=1 for tools/call)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
# The request: a tools/list (the default here) or, with CALL=1, a tools/call of `hello`.
export CALL=${CALL-}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed"; exit 1; }
cargo build --quiet --release -p mcp-auth --example bench_server --features testing,rmcp
cargo build --quiet --release -p mcp-auth-cli
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
upstream_bin=$target_dir/release/examples/bench_server
# PROXY_BIN: another build of the command to measure as the proxy (an A/B of two versions);
# the demo's authorization server always comes from this checkout's build.
mcp_auth_bin=$target_dir/release/mcp-auth
proxy_bin=${PROXY_BIN:-$mcp_auth_bin}
tick=$(getconf CLK_TCK)
results=$(mktemp)
logs=$(mktemp -d)
trap 'rm -rf "$results" "$logs"; kill $(jobs -p) 2>/dev/null || true' EXIT

# wait_for LOG PATTERN: until a line of LOG matches, at most 5 s.
wait_for() {
  for _ in $(seq 1 100); do grep -q "$2" "$1" && return 0; sleep 0.05; done
  echo "no line matching $2 in $1:"; cat "$1"; exit 1
}

# The authorization server: the demo's test issuer, on the wrk core (it is idle while measured:
# the proxy fetches its metadata and keys once, and verifies a remembered token from its cache).
taskset -c 1 "$mcp_auth_bin" demo --bind 127.0.0.1:0 </dev/null >"$logs/demo" 2>&1 &
wait_for "$logs/demo" '^  token endpoint:'
issuer=$(sed -n 's/^Authorization server: *//p' "$logs/demo")
token_endpoint=$(sed -n 's/^  token endpoint: *//p' "$logs/demo")
client_secret=$(sed -n 's/^  client secret: *//p' "$logs/demo")

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_of() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

run_case() { # name: direct or proxy
  local name=$1 upstream proxy="" url upstream_url auth=""
  taskset -c 0 "$upstream_bin" plain 127.0.0.1:0 >"$logs/upstream" 2>&1 &
  upstream=$!
  wait_for "$logs/upstream" '^BAD_TOKEN='
  upstream_url=$(sed -n 's/^URL=//p' "$logs/upstream")
  url=$upstream_url
  if [ "$name" = proxy ]; then
    env -u RUST_LOG taskset -c 0 "$proxy_bin" proxy --bind 127.0.0.1:0 --upstream "$upstream_url" \
      --issuer "$issuer" --scope mcp:tools </dev/null >"$logs/proxy" 2>&1 &
    proxy=$!
    wait_for "$logs/proxy" '^  MCP endpoint'
    url=$(sed -n 's/^  MCP endpoint *//p' "$logs/proxy")
    local token
    token=$(curl -s -u "demo-client:$client_secret" "$token_endpoint" -d grant_type=client_credentials \
      --data-urlencode scope=mcp:tools --data-urlencode "resource=$url" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
    auth="Bearer $token"
  fi
  # Warm up: discovery and key set fetched, the token remembered, connections (and the proxy's
  # upstream pool) opened.
  AUTH=$auth taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d1s -s bench/mcp.lua "$url" >/dev/null
  local up_before up_after proxy_before=0 proxy_after=0 out
  up_before=$(cpu_of "$upstream")
  [ -n "$proxy" ] && proxy_before=$(cpu_of "$proxy")
  out=$(AUTH=$auth taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/mcp.lua "$url")
  up_after=$(cpu_of "$upstream")
  [ -n "$proxy" ] && proxy_after=$(cpu_of "$proxy")
  local requests rps p50 p99 non2xx up_rss proxy_rss=0
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  if [ -n "$non2xx" ]; then echo "$name: $non2xx answers were not 2xx:"; echo "$out"; exit 1; fi
  up_rss=$(rss_of "$upstream")
  [ -n "$proxy" ] && proxy_rss=$(rss_of "$proxy")
  [ -n "$proxy" ] && { kill "$proxy"; wait "$proxy" 2>/dev/null || true; }
  kill "$upstream"; wait "$upstream" 2>/dev/null || true
  echo "$name $rps $p50 $p99 $requests $(( (up_after - up_before) * 1000000 / tick )) $up_rss" \
    "$(( (proxy_after - proxy_before) * 1000000 / tick )) $proxy_rss" >>"$results"
}

for round in $(seq 1 "$ROUNDS"); do
  run_case direct
  run_case proxy
  echo "round $round of $ROUNDS done" >&2
done

python3 - "$results" "$CONNECTIONS" "$DURATION" <<'PY'
import os, statistics, sys
path, connections, duration = sys.argv[1], sys.argv[2], sys.argv[3]
def micros(latency):
    for unit, factor in (("us", 1), ("ms", 1e3), ("s", 1e6)):
        if latency.endswith(unit):
            return float(latency[: -len(unit)]) * factor
    return float(latency)
rows = {}
for line in open(path):
    name, rps, p50, p99, requests, up_cpu, up_rss, proxy_cpu, proxy_rss = line.split()
    requests = int(requests)
    rows.setdefault(name, []).append(dict(
        rps=float(rps), p50=micros(p50), p99=micros(p99),
        up_cpu=float(up_cpu) / requests, up_rss=int(up_rss) / 1024,
        proxy_cpu=float(proxy_cpu) / requests, proxy_rss=int(proxy_rss) / 1024))
med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in rows.items()}
workload = "tools/call" if os.environ.get("CALL") else "tools/list"
print(f"\nMCP {workload}, {connections} connections, {duration} s per run, median of {len(rows['direct'])} interleaved runs")
print(f"{'case':<10}{'req/s':>10}{'p50 µs':>10}{'p99 µs':>10}{'upstream CPU µs/req':>21}{'upstream RSS MiB':>18}"
      f"{'proxy CPU µs/req':>18}{'proxy RSS MiB':>15}")
for name, m in med.items():
    print(f"{name:<10}{m['rps']:>10.0f}{m['p50']:>10.0f}{m['p99']:>10.0f}{m['up_cpu']:>21.1f}{m['up_rss']:>18.1f}"
          f"{m['proxy_cpu']:>18.1f}{m['proxy_rss']:>15.1f}")
direct, proxy = med["direct"], med["proxy"]
print(f"\nextra server CPU per request (the proxy's):      {proxy['proxy_cpu']:.1f} µs  (target <= 30)")
print(f"upstream CPU per request, proxied vs direct:     {proxy['up_cpu']:.1f} vs {direct['up_cpu']:.1f} µs")
print(f"latency added, p50 / p99:                        {proxy['p50'] - direct['p50']:.0f} / {proxy['p99'] - direct['p99']:.0f} µs")
print(f"throughput through the proxy vs direct:          {proxy['rps'] / direct['rps']:.3f}  "
      "(proxy and upstream share the server core)")
print(f"proxy peak RSS at {connections} connections:            {proxy['proxy_rss']:.1f} MiB  (target < 20 MB)")
PY
