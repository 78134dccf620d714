#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), one after the other, one core.
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The stable toolchain takes the nightly
# flags cargo-fuzz passes with RUSTC_BOOTSTRAP=1. Logs go to fuzz/logs/<target>.log; the
# corpus grows in fuzz/corpus/<target> (seeded from fuzz/seeds/<target>), and crashes land
# in fuzz/artifacts/<target>. See FUZZING.md.
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(version manifest_load tags planner cli_args stdlib_options)
mkdir -p logs
export RUSTC_BOOTSTRAP=1
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  seeds=()
  [ -d "seeds/$t" ] && seeds=("seeds/$t")
  echo "--- $t: ${seconds}s"
  if ! cargo fuzz run "$t" "corpus/$t" "${seeds[@]}" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
      >"logs/$t.log" 2>&1; then
    echo "$t: FOUND A CRASH (see logs/$t.log and artifacts/$t)"
    status=1
  fi
  grep -E '^Done|stat::number_of_executed_units|stat::peak_rss_mb' "logs/$t.log"
done
exit $status
