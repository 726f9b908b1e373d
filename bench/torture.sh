#!/usr/bin/env bash
# torture.sh -- the long run of the server crash-torture test (tests/crash/test_server_torture.c):
# CYCLES rounds of "clients write, SIGKILL the server, restart it on the same directory, verify
# every client's keys against its model", 5/8 of them under appendfsync always and the rest under
# everysec, then one summary: cycles verified, operations acknowledged, operations in flight at the
# kills, failures, wall time. The test itself asserts; this script only runs it long and counts.
#
# usage: bench/torture.sh [options] [CYCLES]
#   CYCLES          cycles in all (default 500; the CI run of the test is 64)
#   --seed N        STRATA_TORTURE_SEED (default: a random one, printed; a failure replays with
#                   `bench/torture.sh --seed N CYCLES`, up to the thread timing)
#   --build DIR     the build tree with tests/test_server_torture (default build; configure it with
#                   -DSTRATA_TESTS=ON, Release for speed, -DSTRATA_SANITIZE=ON to hunt memory bugs)
#   --server BIN    another server binary (STRATA_IT_SERVER), e.g. /usr/bin/redis-server
#   --out FILE      the full log (default $TMPDIR/strata-torture-<seed>.log)
#   --timeout S     kill the run after S seconds (default 120 + 3 x CYCLES)
# Examples:
#   bench/torture.sh                          # 500 cycles, random seed
#   bench/torture.sh --seed 42 --build build-asan 100
# Takes about 0.3-0.4 s per cycle in Release on 2 cores (500 cycles: about 3-4 minutes), roughly
# twice that under ASan. Exit status: the test's (0 when every cycle verified), 124 on timeout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=torture
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$ROOT/bench/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

CYCLES=500
SEED=""
BUILD=$ROOT/build
SERVER=""
OUT=""
TIMEOUT=""
while [ "$#" -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --seed) need_arg "$@"; SEED=$2; shift 2 ;;
    --build) need_arg "$@"; BUILD=$2; shift 2 ;;
    --server) need_arg "$@"; SERVER=$2; shift 2 ;;
    --out) need_arg "$@"; OUT=$2; shift 2 ;;
    --timeout) need_arg "$@"; TIMEOUT=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) CYCLES=$1; shift ;;
    esac
done
[[ "$CYCLES" =~ ^[1-9][0-9]*$ ]] || die "CYCLES must be a positive integer (got '$CYCLES')"
[ -n "$SEED" ] || SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
[[ "$SEED" =~ ^[0-9]+$ ]] || die "--seed must be a decimal number (got '$SEED')"
[ -n "$TIMEOUT" ] || TIMEOUT=$((120 + 3 * CYCLES))
[ -n "$OUT" ] || OUT=${TMPDIR:-/tmp}/strata-torture-$SEED.log

BIN=$BUILD/tests/test_server_torture
[ -x "$BIN" ] || die "$BIN is missing; build it first:" \
    "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSTRATA_TESTS=ON && cmake --build build -j2"
warn_build "$BUILD/strata-server" "expect it to be slower"
[ -z "$SERVER" ] || [ -x "$SERVER" ] || die "--server $SERVER is not executable"

say "$CYCLES cycles, seed $SEED, binary $BIN${SERVER:+, server $SERVER}, log $OUT"
start=$(date +%s)
status=0
env STRATA_TORTURE_CYCLES="$CYCLES" STRATA_TORTURE_SEED="$SEED" ${SERVER:+STRATA_IT_SERVER="$SERVER"} \
    timeout --kill-after=30 "$TIMEOUT" "$BIN" >"$OUT" 2>&1 || status=$?
wall=$(($(date +%s) - start))

# Per-cycle lines: "<mode> cycle <n>: acked <ops> ops (...), ..." (only verified cycles print one).
verified=$(grep -cE '^(always|everysec) cycle [0-9]+: acked' "$OUT" || true)
acked=$(sed -nE 's/^(always|everysec) cycle [0-9]+: acked ([0-9]+) ops.*/\2/p' "$OUT" | awk '{ n += $1 } END { print n + 0 }')
inflight=$(sed -nE 's/.* ([0-9]+) in flight at kills.*/\1/p' "$OUT" | awk '{ n += $1 } END { print n + 0 }')
failed=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test\(s\).*/\1/p' "$OUT" | head -n 1)
grep -E ' summary: ' "$OUT" >&2 || true
if [ "$status" -ne 0 ]; then
    say "FAILED (exit $status): the first failure and the end of the log follow; full log in $OUT"
    grep -m1 -B2 -A30 -E 'ACKNOWLEDGED|no prefix|: error|failed|FAIL' "$OUT" >&2 || tail -n 40 "$OUT" >&2
fi
printf 'torture: seed %s: %s of %s cycles verified, %s ops acked, %s in flight at kills, %s failed tests, exit %s, %s s wall\n' \
    "$SEED" "$verified" "$CYCLES" "$acked" "$inflight" "${failed:-0}" "$status" "$wall"
exit "$status"
