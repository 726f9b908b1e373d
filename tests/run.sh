#!/usr/bin/env bash
# run.sh -- THE test command: the whole suite, twice, then the fuzz smoke.
#
#   1. Release build in build/                  -> ctest -j2
#   2. ASan + UBSan Debug build in build-asan/  -> ctest -j2 (a leak or UB fails the test)
#   3. clang libFuzzer targets in build-fuzz/    -> ctest -L fuzz (20 s per target; tests/fuzz)
#
# Installs missing packages first (tools/setup.sh). Every stage runs; the exit status is
# non-zero if any failed. Extra arguments go to the first two ctest runs (and skip the fuzz stage), e.g. `tests/run.sh -L unit`
# or `tests/run.sh -R test_io`. Works from any directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
njobs=$(nproc 2>/dev/null || echo 2)
ctest_args=("$@")

bash tools/setup.sh

# stage <name> <build dir> <cmake args...>: configure, build (target $stage_target, or all), run
# ctest with the arguments in stage_ctest; records "<name>: <result>".
results=()
failed=0
stage_target=""
stage_ctest=("${ctest_args[@]}")
stage() {
    local name=$1 dir=$2
    shift 2
    echo
    echo "==== $name: configure + build in $dir/"
    if ! cmake -S "$root" -B "$dir" -DSTRATA_TESTS=ON "$@"; then
        results+=("$name: FAILED (cmake configure)")
        failed=1
        return
    fi
    if ! cmake --build "$dir" -j"$njobs" ${stage_target:+--target "$stage_target"}; then
        results+=("$name: FAILED (build)")
        failed=1
        return
    fi
    echo
    echo "==== $name: ctest"
    local log="$dir/ctest-summary.log" rc=0
    ctest --test-dir "$dir" --output-on-failure --no-tests=error -j2 "${stage_ctest[@]}" 2>&1 | tee "$log" || rc=$?
    local summary
    summary=$(grep -E 'tests passed|No tests were found' "$log" | tail -n 1 || true)
    if [ "$rc" -eq 0 ]; then
        results+=("$name: ok (${summary:-no summary})")
    else
        results+=("$name: FAILED (${summary:-ctest exit $rc})")
        failed=1
    fi
}

stage release build -DCMAKE_BUILD_TYPE=Release -DSTRATA_SANITIZE=OFF

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
stage sanitize build-asan -DCMAKE_BUILD_TYPE=Debug -DSTRATA_SANITIZE=ON

# The fuzz smoke: every libFuzzer target (tests/fuzz) for STRATA_FUZZ_SECONDS (20) over its seed
# corpus, in a clang tree that builds just the targets. Skipped when ctest arguments narrow the run.
if [ "${#ctest_args[@]}" -eq 0 ]; then
    stage_target=fuzz_targets
    stage_ctest=(-L fuzz)
    CC=clang stage fuzz build-fuzz -DCMAKE_BUILD_TYPE=Release -DSTRATA_FUZZ=ON
else
    results+=("fuzz: skipped (ctest arguments given)")
fi

echo
echo "==== summary"
for r in "${results[@]}"; do
    echo "  $r"
done
if [ "$failed" -ne 0 ]; then
    echo "tests/run.sh: FAILED"
    exit 1
fi
echo "tests/run.sh: all passed"
