#!/usr/bin/env bash
# Fuzzes every target in fuzz/ (cargo-fuzz, libFuzzer, on the stable toolchain) for SECONDS each,
# then prints executions per target. A crash stops the script: libFuzzer saves the input under
# fuzz/artifacts/TARGET/; copy it to fuzz/regressions/TARGET/ (replayed first at every run) and
# turn it into a test of the crate.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (300 s each, every target, by default)
#
# The corpus grows in fuzz/corpus/TARGET/ (not committed), from the seeds in fuzz/seeds/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true

if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
# No sanitizer: the crate forbids unsafe code, and without one cargo-fuzz runs on stable.
flags=(--sanitizer none --release --debug-assertions)
cargo fuzz build "${flags[@]}"

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  if compgen -G "fuzz/regressions/$target/*" >/dev/null; then
    cargo fuzz run "${flags[@]}" "$target" fuzz/regressions/"$target"/* -- -runs=1
  fi
  dict=fuzz/dicts/json.dict
  [ -f "fuzz/dicts/$target.dict" ] && dict=fuzz/dicts/$target.dict
  log=fuzz/corpus/$target.log
  echo "fuzzing $target for $seconds s" >&2
  cargo fuzz run "${flags[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -dict="$dict" -print_final_stats=1 -close_fd_mask=1 \
    >"$log" 2>&1 || { tail -60 "$log"; echo "fuzz target $target failed (log: $log)" >&2; exit 1; }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "$target $seconds $runs $(find "fuzz/corpus/$target" -type f | wc -l)" >>"$summary"
done
echo
awk 'BEGIN { printf "%-22s %8s %12s %10s %8s\n", "target", "seconds", "executions", "per second", "corpus" }
     { printf "%-22s %8d %12d %10d %8d\n", $1, $2, $3, $3 / $2, $4; total += $3; time += $2 }
     END { printf "%-22s %8d %12d\n", "all", time, total }' "$summary"
