#!/usr/bin/env bash
# Load test: the same rmcp server plain and behind the bearer layer, MCP tools/list, 32
# connections. Server pinned to core 0, wrk to core 1; each case runs ROUNDS times, interleaved,
# and the median is reported. Prints requests/s, p50/p99 latency, server CPU per request and
# peak RSS, then the ratios the performance targets are stated in.
#
#   bench/load.sh            (ROUNDS=3 DURATION=10 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
# The request: a tools/call (CALL=1, the default) or, with CALL= (empty), a tools/list.
export CALL=${CALL-1}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed"; exit 1; }
cargo build --quiet --release -p mcp-auth --example bench_server --features testing,rmcp,metrics
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
server_bin=$target_dir/release/examples/bench_server
tick=$(getconf CLK_TCK)
results=$(mktemp)
trap 'rm -f "$results"; kill $(jobs -p) 2>/dev/null || true' EXIT

decode_us=$(taskset -c 0 "$server_bin" decode | sed -n 's/^DECODE_US=//p')

# case name, server mode, which credential to send
cases=(
  "plain plain none"
  "jwt_seen_before jwt token"
  "jwt_observed jwt-observed token"
  "jwt_traced jwt-traced token"
  "jwt_first_seen jwt-nocache token"
  "jwt_with_tool_rule jwt-tool-rule token"
  "refused_no_token jwt none"
  "refused_bad_signature jwt bad"
)

run_case() { # name mode credential
  local name=$1 mode=$2 credential=$3 log pid url token bad auth
  log=$(mktemp)
  taskset -c 0 "$server_bin" "$mode" 127.0.0.1:0 >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q '^BAD_TOKEN=' "$log" && break; sleep 0.05; done
  url=$(sed -n 's/^URL=//p' "$log"); token=$(sed -n 's/^TOKEN=//p' "$log"); bad=$(sed -n 's/^BAD_TOKEN=//p' "$log")
  case $credential in
    token) auth="Bearer $token" ;;
    bad) auth="Bearer $bad" ;;
    *) auth="" ;;
  esac
  # Warm up: key set fetched, caches filled, connections opened.
  AUTH=$auth taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d1s -s bench/mcp.lua "$url" >/dev/null
  local cpu_before cpu_after out
  cpu_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$(AUTH=$auth taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/mcp.lua "$url")
  cpu_after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  local rss requests rps p50 p99
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$log"
  echo "$name $rps $p50 $p99 $(( (cpu_after - cpu_before) * 1000000 / tick )) $requests $rss" >>"$results"
}

for round in $(seq 1 "$ROUNDS"); do
  for entry in "${cases[@]}"; do
    # shellcheck disable=SC2086
    run_case $entry
  done
  echo "round $round of $ROUNDS done" >&2
done

python3 - "$results" "$decode_us" "$CONNECTIONS" "$DURATION" <<'PY'
import os, statistics, sys
path, decode_us, connections, duration = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
def micros(latency):
    for unit, factor in (("us", 1), ("ms", 1e3), ("s", 1e6)):
        if latency.endswith(unit):
            return float(latency[: -len(unit)]) * factor
    return float(latency)
rows = {}
for line in open(path):
    name, rps, p50, p99, cpu_us, requests, rss = line.split()
    rows.setdefault(name, []).append(
        dict(rps=float(rps), p50=micros(p50), p99=micros(p99),
             cpu=float(cpu_us) / int(requests), rss=int(rss) / 1024))
med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in rows.items()}
workload = "tools/call" if os.environ.get("CALL") else "tools/list"
print(f"\nMCP {workload}, {connections} connections, {duration} s per run, median of {len(rows['plain'])} interleaved runs")
print(f"{'case':<24}{'req/s':>10}{'p50 µs':>10}{'p99 µs':>10}{'CPU µs/req':>12}{'peak RSS MiB':>14}")
for name, m in med.items():
    print(f"{name:<24}{m['rps']:>10.0f}{m['p50']:>10.0f}{m['p99']:>10.0f}{m['cpu']:>12.1f}{m['rss']:>14.1f}")
plain, seen, first = med["plain"], med["jwt_seen_before"], med["jwt_first_seen"]
print(f"\none jsonwebtoken RS256 decode on the server core: {decode_us:.1f} µs")
print(f"good token seen before, throughput vs plain:     {seen['rps'] / plain['rps']:.3f}  (target >= 0.95)")
extra = first["cpu"] - plain["cpu"]
print(f"good token first seen, extra CPU per request:   {extra:.1f} µs = {extra / decode_us:.2f} decodes  (target <= 1.3)")
for refusal in ("refused_no_token", "refused_bad_signature"):
    print(f"{refusal}, CPU per request vs first-seen success: {med[refusal]['cpu'] / first['cpu']:.2f}  (target <= 1)")
print(f"peak RSS, protected vs plain:                    {seen['rss'] / plain['rss']:.2f}  (target <= 1.2)")
observed, traced = med["jwt_observed"], med["jwt_traced"]
print(f"tracing (WARN, the default) and metrics on, CPU per request vs off: {observed['cpu'] / seen['cpu']:.3f} "
      f"({observed['cpu'] - seen['cpu']:+.1f} µs; target < 1.05)")
print(f"the same with mcp_auth at INFO (a span per decision), vs off:         {traced['cpu'] / seen['cpu']:.3f} "
      f"({traced['cpu'] - seen['cpu']:+.1f} µs)")
rule = med["jwt_with_tool_rule"]
print(f"one tool rule (body read), throughput vs no rule: {rule['rps'] / seen['rps']:.3f}, "
      f"extra CPU per request {rule['cpu'] - seen['cpu']:.1f} µs")
PY
