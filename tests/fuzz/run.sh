#!/usr/bin/env bash
# run.sh -- builds the libFuzzer targets with clang in build-fuzz/ and runs each for SECONDS,
# then prints one line per target: executions, exec/s, coverage (libFuzzer's cov: edges and ft:
# features at the end), the inputs it added, and whether it found anything.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     default 20 s, every target in targets.txt
#
# Each target starts from its seeds (tests/fuzz/corpus/<target>, only read) and writes what it
# finds to build-fuzz/fuzz-run/<target>/corpus, emptied first unless STRATA_FUZZ_KEEP=1 (then a
# long run continues where the last one stopped). A crash, leak or timeout leaves its input in
# build-fuzz/fuzz-run/<target>/ and makes the exit status 1. Logs: build-fuzz/fuzz-run/<target>.log.
# Needs clang with libFuzzer (Debian: clang, libclang-rt-14-dev). Works from any directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$(pwd)
secs=${1:-20}
shift || true
case $secs in '' | *[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS] [TARGET...]" >&2; exit 2 ;; esac

command -v clang >/dev/null 2>&1 || { echo "run.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

mapfile -t table < <(grep '^fuzz_' tests/fuzz/targets.txt)
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    for line in "${table[@]}"; do targets+=("${line%% *}"); done
fi

start=$(date +%s)
echo "==== build (clang, libFuzzer + ASan + UBSan) in build-fuzz/"
mkdir -p build-fuzz
CC=clang cmake -S "$root" -B build-fuzz -DSTRATA_FUZZ=ON -DSTRATA_TESTS=ON -DSTRATA_SANITIZE=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >build-fuzz/configure.log 2>&1 || { cat build-fuzz/configure.log; exit 1; }
cmake --build build-fuzz -j"$(nproc 2>/dev/null || echo 2)" --target fuzz_targets >build-fuzz/build.log 2>&1 ||
    { tail -n 40 build-fuzz/build.log; exit 1; }
built=$(date +%s)
echo "built in $((built - start)) s; running ${#targets[@]} target(s) for $secs s each"

out=build-fuzz/fuzz-run
mkdir -p "$out"
failed=0
rows=()
for t in "${targets[@]}"; do
    max_len=$(awk -v t="$t" '$1 == t { print $2 }' tests/fuzz/targets.txt)
    [ -n "$max_len" ] || { echo "run.sh: unknown target $t (see tests/fuzz/targets.txt)" >&2; exit 2; }
    work=$out/$t
    [ "${STRATA_FUZZ_KEEP:-0}" = 1 ] || rm -rf "$work"
    mkdir -p "$work/corpus"
    before=$(find "$work/corpus" -type f | wc -l)
    args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1
          -artifact_prefix="$work/")
    [ -f "tests/fuzz/dict/$t.dict" ] && args+=(-dict="tests/fuzz/dict/$t.dict")
    echo "---- $t"
    rc=0
    "build-fuzz/tests/fuzz/$t" "${args[@]}" "$work/corpus" "tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1 || rc=$?
    final() { sed -n "s/^stat::$1: *//p" "$out/$t.log" | tail -n 1; }
    last=$(grep -E '^#[0-9]+.* cov: ' "$out/$t.log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    after=$(find "$work/corpus" -type f | wc -l)
    kb=$(find "$work/corpus" -type f -printf '%s\n' | awk '{ n += $1 } END { printf "%d", (n + 1023) / 1024 }')
    result=ok
    if [ "$rc" -ne 0 ]; then
        failed=1
        # no artifact is a result too (ls finds nothing): it must not end the script under set -e
        result="FAILED (exit $rc): $(ls "$work"/{crash,leak,timeout,oom,slow-unit}-* 2>/dev/null | head -n 1 || true)"
        grep -E 'ERROR|fuzz invariant|runtime error|SUMMARY' "$out/$t.log" | head -n 5 | sed 's/^/    /' || true
    fi
    rows+=("$(printf '%-15s %11s %8s %6s %7s %9s %9s  %s' "$t" "$(final number_of_executed_units)" \
        "$(final average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "$((after - before))" "${after}/${kb}K" "$result")")
done

end=$(date +%s)
echo
printf '%-15s %11s %8s %6s %7s %9s %9s  %s\n' target execs exec/s cov ft new corpus result
for r in "${rows[@]}"; do echo "$r"; done
echo "wall time: $((end - start)) s (build $((built - start)) s, fuzzing $((end - built)) s); logs in $out/"
exit "$failed"
