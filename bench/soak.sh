#!/usr/bin/env bash
# Soak test, on loopback: CONCURRENCY calls in flight for DURATION seconds against the rmcp
# server of examples/soak.rs behind the bearer layer, mixing valid, admin, per-operation-refused,
# scope-less, expired, wrong-audience, unknown-kid, forged and missing tokens of USERS users.
# It proves, and fails unless,
# - every answer has the right status, challenge `error` and, for a 200, the right subject (no
#   identity mix-up under load);
# - the server's memory stays flat: RSS grows at most RSS_GROWTH_MAX % from the sample at a
#   quarter of the run (caches full, connections open) to the last;
# - the issuer sees a bounded number of fetches, whatever the flood of unknown kids and forged
#   signatures (bounds derived below).
# Server pinned to core 0, client to core 1; the server's RSS is sampled every 10 s.
#
#   bench/soak.sh            (DURATION=300 CONCURRENCY=1000 USERS=5000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-300}
CONCURRENCY=${CONCURRENCY:-1000}
USERS=${USERS:-5000}
RSS_GROWTH_MAX=${RSS_GROWTH_MAX:-20}
SAMPLE_EVERY=10

command -v taskset >/dev/null || { echo "taskset (util-linux) is needed"; exit 1; }
command -v curl >/dev/null || { echo "curl is needed"; exit 1; }
# Each call in flight holds a socket in the server and one in the client.
files=$((CONCURRENCY + 256))
if [[ $(ulimit -n) != unlimited ]] && (($(ulimit -n) < files)); then
  ulimit -n "$files" || { echo "CONCURRENCY=$CONCURRENCY needs ulimit -n $files"; exit 1; }
fi
cargo build --quiet --release -p mcp-auth --example soak --features testing,rmcp
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
soak=$target_dir/release/examples/soak
work=$(mktemp -d)
server_pid= client_pid=
trap 'kill ${client_pid:-} ${server_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT

# Minting the tokens (two per user, RS256) takes about 2 ms a user before the URL is printed.
taskset -c 0 "$soak" server 127.0.0.1:0 "$work/tokens" "$USERS" >"$work/server.log" 2>&1 &
server_pid=$!
until grep -q '^URL=' "$work/server.log"; do
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/^URL=//p' "$work/server.log")

tick=$(getconf CLK_TCK)
idle_rss=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
cpu_before=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
taskset -c 1 "$soak" client "$url" "$work/tokens" "$DURATION" "$CONCURRENCY" >"$work/client.log" 2>&1 &
client_pid=$!
rss=()
for ((t = SAMPLE_EVERY; t < DURATION; t += SAMPLE_EVERY)); do
  sleep "$SAMPLE_EVERY"
  rss+=("$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")")
done
client_rc=0
wait "$client_pid" || client_rc=$?
client_pid=
cpu_after=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
peak=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
stats=$(curl -sf "${url%/mcp}/soak/stats")
grep -v '^URL=' "$work/server.log" || true
cat "$work/client.log"
calls=$(awk '/ calls in / {print $1}' "$work/client.log")

# The key cache's defaults (crates/mcp-auth/src/verify/key_cache.rs, KeyCacheOptions): the key
# set is fetched once, then again after its TTL (300 s: the test issuer sends no max-age) and,
# for a kid it lacks or a signature no key verifies, at most once per unknown-kid cooldown
# (10 s), counted from the last such fetch: the first comes right after the first fetch.
# Unknown kids and forged signatures arrive all the time, so at most
# 1 + (DURATION/10 + 1) + DURATION/300, rounded up. Metadata is discovered once a day (metadata
# TTL 24 h): once per run, trying at most 2 URLs.
python3 - "$DURATION" "$RSS_GROWTH_MAX" "$SAMPLE_EVERY" "$peak" "$stats" "$client_rc" \
  "$(((cpu_after - cpu_before) * 100 / tick))" "${calls:-0}" "$idle_rss" "${rss[@]}" <<'PY'
import json, math, sys
duration, growth_max, every, peak = (int(a) for a in sys.argv[1:5])
stats, client_rc, cpu_centis, calls = json.loads(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
idle, rss = int(sys.argv[9]) / 1024, [int(kb) / 1024 for kb in sys.argv[10:]]
failures = []
if client_rc != 0:
    failures.append("some answers were wrong (see the client's report)")

print(f"\nserver CPU: {cpu_centis / 100:.1f} s in {duration} s, {cpu_centis / duration:.0f}% of its core, "
      f"{cpu_centis * 1e4 / max(calls, 1):.0f} µs per call")
print(f"server RSS, MiB: {idle:.1f} before the first call (tokens minted), then every {every} s: "
      f"{' '.join(f'{r:.0f}' for r in rss)}")
if len(rss) >= 2:
    quarter = min(range(len(rss)), key=lambda i: abs((i + 1) * every - duration / 4))
    growth = (rss[-1] / rss[quarter] - 1) * 100
    print(f"first (after {every} s warm-up) {rss[0]:.1f}, at {(quarter + 1) * every} s {rss[quarter]:.1f}, "
          f"max {max(rss):.1f}, last {rss[-1]:.1f}, peak {max(peak / 1024, *rss):.1f}")
    print(f"growth from {(quarter + 1) * every} s to the last sample: {growth:+.1f}%  (bound +{growth_max}%)")
    if growth > growth_max:
        failures.append(f"RSS grew {growth:.1f}%")
else:
    print("too short a run to judge memory")

jwks_max = 1 + math.ceil(duration / 10) + 1 + math.ceil(duration / 300)
jwks, metadata = stats["jwks_fetches"], stats["metadata_fetches"]
print(f"issuer fetches: key set {jwks} (bound {jwks_max}), metadata {metadata} (bound 2)")
if jwks > jwks_max or metadata > 2:
    failures.append("the issuer was fetched too often")

for failure in failures:
    print(f"FAIL: {failure}")
sys.exit(1 if failures else 0)
PY
