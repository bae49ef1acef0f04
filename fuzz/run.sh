#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, build-fuzz/) and runs each
# for FUZZ_SECONDS (default 60). New corpus entries go to build-fuzz/corpus/,
# crashes to build-fuzz/crashes/ (copy a reproducer to fuzz/crashes/TARGET/ so
# `make test` replays it forever). fuzz_diff needs root: it loads programs.
# Usage: fuzz/run.sh [TARGET...]     env: FUZZ_SECONDS, FUZZ_BUILD, FUZZ_JOBS
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${FUZZ_SECONDS:-60}
B=${FUZZ_BUILD:-build-fuzz}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(fuzz_policy fuzz_packet fuzz_diff)

cmake -S . -B "$B" -DSECPOL_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$B" --target "${TARGETS[@]}" -j "${FUZZ_JOBS:-$(nproc)}"

status=0
for t in "${TARGETS[@]}"; do
  c=${t#fuzz_}
  mkdir -p "$B/corpus/$c" "$B/crashes/$c"
  args=(-max_total_time="$SECONDS_PER" -print_final_stats=1 -artifact_prefix="$B/crashes/$c/")
  [ "$t" = fuzz_policy ] && args+=(-dict=fuzz/policy.dict -max_len=65536)
  if [ "$t" = fuzz_diff ]; then
    # Seeds from the packet generator, written at start (LLVMFuzzerInitialize).
    mkdir -p "$B/seeds/diff"; export SECPOL_FUZZ_SEED_DIR="$B/seeds/diff"; args+=(-max_len=1600)
  fi
  [ "$t" = fuzz_packet ] && args+=(-max_len=1600)
  echo "== $t: ${SECONDS_PER}s"
  # Corpus order matters: libFuzzer adds new inputs to the first directory only,
  # so the checked-in seeds stay as they are.
  dirs=("$B/corpus/$c")
  [ -d "fuzz/corpus/$c" ] && dirs+=("fuzz/corpus/$c")
  [ "$t" = fuzz_diff ] && dirs+=("$SECPOL_FUZZ_SEED_DIR")
  if ! "$B/$t" "${args[@]}" "${dirs[@]}" 2>"$B/$t.log"; then
    status=1
    echo "!! $t found a crash: see $B/$t.log and $B/crashes/$c/"
  fi
  grep -E '^stat::number_of_executed_units|^stat::new_units_added|^#[0-9]+.*DONE' "$B/$t.log" || tail -n 5 "$B/$t.log"
done
exit $status
