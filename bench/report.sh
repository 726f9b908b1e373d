#!/usr/bin/env bash
# report.sh -- one command, one benchmark report directory (issue 8).
#
# Three sections, each optional, in this order:
#  1. Strata vs Redis. For each fsync policy (always, everysec, no) and each redis-benchmark
#     configuration (-c 1 and -c 50, by -P 1 and -P 16), strata-server --appendfsync POLICY and
#     redis-server --appendonly yes --appendfsync POLICY --save '' each run
#       redis-benchmark -t ping,get,set,incr,mset,lpush,hset,sadd,zadd -n N -r 100000 -d 100
#         -c C -P P --csv
#     once per round (--rounds R, default 3). A measurement is: a fresh server on an empty data
#     directory and a free port, one short warm-up run of the same command (kept in raw/, not
#     counted), the measured run, the server stopped. As in redis_compare.sh, never two servers at
#     once: on 2 cores they would fight each other and redis-benchmark for the CPUs, and the
#     second would inherit the first's writeback. "Side by side" means the two runs of a round are
#     adjacent, under the same conditions: Redis first in odd rounds, Strata first in even ones,
#     and each round's ratio strata/redis pairs those two runs. Rounds are the outer loop, so an
#     interrupted run still has whole rounds of every policy. N depends on the policy and (c, P)
#     so that a test lasts a second or a few (c=1 P=1 under always does about 4k writes/s here);
#     --scale multiplies it.
#  2. Engine vs RocksDB: bench/rocksdb_compare.sh (strata-engine-bench next to --strata, db_bench
#     from rocksdb-tools, installed on demand) with a --num sized for this report, its output in
#     rocksdb/ and its table in summary.md.
#  3. Larger than memory, Strata only (Redis keeps every key in RAM, so it cannot run this in the
#     same memory): strata-server --memory-limit 32MiB (--quick: 16MiB) gets 21x that many bytes
#     of 1 KiB incompressible values under keys key:000000000000.. written once each (report.py
#     ltm-gen | redis-cli --pipe), a byte-for-byte check of a random sample, then uniform random
#     GETs over all keys (redis-benchmark -t get -r KEYS: __rand_int__ spells exactly those keys)
#     at -c 1 and -c 50: ops/s, p50, p99; peak RSS (VmHWM) against the limit, and INFO.
#
# Output (--out DIR, default bench/out/report-<timestamp>): results.csv and results.jsonl (one row
# per test and run, appended as each run finishes), results.json, summary.md (machine, versions,
# medians with min..max, ratios), charts/<policy>.svg (gnuplot, installed on demand as
# gnuplot-nox), raw/ (every redis-benchmark CSV, server logs), rocksdb/, ltm/. Progress goes to
# stderr. On INT or TERM the running benchmark and server are stopped and summary.md, results.json
# and the charts are written from what finished, marked PARTIAL. The exit status says whether
# every run completed, never whether a figure met a target (benchmarks print, tests assert). The
# Python half (aggregation, summary, charts, the loader) is bench/report.py.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=report
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$ROOT/bench/lib.sh"

usage() {
    cat <<EOF
usage: bench/report.sh [options]
  --quick            smoke run, about 5 minutes: 1 round, --scale 0.1, RocksDB --quick with
                     --num 100000, larger-than-memory with a 16 MiB limit
  --medium           the full matrix in 2 rounds instead of 3 (--rounds 2): about 20-25 minutes
  --rounds R         rounds of the Strata/Redis matrix (default 3; quick 1)
  --scale F          multiplies every redis-benchmark -n (default 1; quick 0.1). The full run
                     (--scale 1 --rounds 3) takes 30-45 minutes on a 2-core VM
  --policies LIST    appendfsync policies, space or comma separated (default "always everysec no")
  --configs LIST     clients:pipeline pairs (default "1:1 1:16 50:1 50:16")
  --server WHICH     strata, redis or both (default both) for the matrix
  --skip-rocksdb     no engine-vs-RocksDB section
  --rocksdb-num N    rocksdb_compare.sh --num (default 1000000; quick 100000)
  --skip-ltm         no larger-than-memory section
  --ltm-limit MIB    its --memory-limit in MiB (default 32; quick 16)
  --ltm-times X      data = X times the limit, in values alone (default 21, at least 20)
  --no-install       do not apt-get install gnuplot-nox or rocksdb-tools when missing (charts
                     are then left as gnuplot scripts; the RocksDB section fails without db_bench)
  --strata PATH      strata-server binary (default build/strata-server; env STRATA_SERVER);
                     strata-engine-bench is taken from the same directory
  --strata-arg ARG   extra argument for strata-server, repeatable
  --data-dir DIR     parent of the servers' temporary data directories (default \$TMPDIR or /tmp);
                     put it on the disk you mean to measure, not tmpfs
  --out DIR          report directory (default bench/out/report-<timestamp>)
  --timeout S        limit for one benchmark step, seconds (default 1800)
  --keep-data        keep the temporary data directories at exit
  -h, --help         this text
Needs redis-server, redis-benchmark, redis-cli (Debian redis-server, redis-tools) and python3.
EOF
}

# ---- options ------------------------------------------------------------------------------------

server_option_defaults
SERVERS=both
QUICK=0
MEDIUM=0
ROUNDS=""
SCALE=""
POLICIES="always everysec no"
CONFIGS="1:1 1:16 50:1 50:16"
SKIP_ROCKSDB=0
ROCKSDB_NUM=""
SKIP_LTM=0
LTM_LIMIT_MIB=""
LTM_TIMES=21
LTM_VALUE_BYTES=1024
INSTALL=1
TESTS=ping,get,set,incr,mset,lpush,hset,sadd,zadd
KEYSPACE=100000
VALUE_BYTES=100
ARGS_GIVEN="$*"

while [ "$#" -gt 0 ]; do
    server_option "$@"
    if [ "$OPT_TAKEN" -gt 0 ]; then
        shift "$OPT_TAKEN"
        continue
    fi
    case "$1" in
    --quick) QUICK=1 ;;
    --medium) MEDIUM=1 ;;
    --rounds) need_arg "$@"; ROUNDS=$2; shift ;;
    --scale) need_arg "$@"; SCALE=$2; shift ;;
    --policies) need_arg "$@"; POLICIES=${2//,/ }; shift ;;
    --configs) need_arg "$@"; CONFIGS=${2//,/ }; shift ;;
    --skip-rocksdb) SKIP_ROCKSDB=1 ;;
    --rocksdb-num) need_arg "$@"; ROCKSDB_NUM=$2; shift ;;
    --skip-ltm) SKIP_LTM=1 ;;
    --ltm-limit) need_arg "$@"; LTM_LIMIT_MIB=$2; shift ;;
    --ltm-times) need_arg "$@"; LTM_TIMES=$2; shift ;;
    --no-install) INSTALL=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

is_uint() { [[ $1 =~ ^[1-9][0-9]{0,11}$ ]]; }
if [ "$QUICK" -eq 1 ]; then
    ROUNDS=${ROUNDS:-1}
    SCALE=${SCALE:-0.1}
    ROCKSDB_NUM=${ROCKSDB_NUM:-100000}
    LTM_LIMIT_MIB=${LTM_LIMIT_MIB:-16}
elif [ "$MEDIUM" -eq 1 ]; then
    ROUNDS=${ROUNDS:-2}
fi
ROUNDS=${ROUNDS:-3}
SCALE=${SCALE:-1}
ROCKSDB_NUM=${ROCKSDB_NUM:-1000000}
LTM_LIMIT_MIB=${LTM_LIMIT_MIB:-32}

is_uint "$ROUNDS" || die "--rounds: expected a positive integer, got '$ROUNDS'"
if ! [[ $SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }'; then
    die "--scale: expected a positive number, got '$SCALE'"
fi
is_uint "$ROCKSDB_NUM" || die "--rocksdb-num: expected a positive integer, got '$ROCKSDB_NUM'"
is_uint "$LTM_LIMIT_MIB" || die "--ltm-limit: expected MiB as a positive integer, got '$LTM_LIMIT_MIB'"
[ "$LTM_LIMIT_MIB" -ge 4 ] || die "--ltm-limit: strata-server needs at least 4 MiB"
if ! [[ $LTM_TIMES =~ ^[0-9]{1,4}$ ]] || [ "$LTM_TIMES" -lt 20 ]; then
    die "--ltm-times: expected an integer >= 20, got '$LTM_TIMES'"
fi
is_uint "$TIMEOUT" || die "--timeout: expected a positive integer, got '$TIMEOUT'"
[ -n "${POLICIES// /}" ] || die "--policies is empty"
for p in $POLICIES; do
    case "$p" in always | everysec | no) ;; *) die "--policies: '$p' is not always, everysec or no" ;; esac
done
[ -n "${CONFIGS// /}" ] || die "--configs is empty"
for cp in $CONFIGS; do
    [[ $cp =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || die "--configs: '$cp' is not CLIENTS:PIPELINE"
done
case "$SERVERS" in
both) SERVER_LIST="redis strata" ;;
strata | redis) SERVER_LIST=$SERVERS ;;
*) die "--server: expected strata, redis or both, got '$SERVERS'" ;;
esac

# ---- prerequisites ------------------------------------------------------------------------------

missing=$(missing_tools redis-server redis-benchmark redis-cli timeout awk python3)
[ -z "$missing" ] || die "not found: $missing. Install: apt-get install -y redis-server redis-tools python3"
need_built "$STRATA"
warn_build "$STRATA"
ENGINE_BENCH=$(dirname "$STRATA")/strata-engine-bench
REPORT_PY=$ROOT/bench/report.py

mkdir -p "$DATA_PARENT" || die "cannot create --data-dir $DATA_PARENT"
DATA_PARENT=$(cd "$DATA_PARENT" && pwd)
fstype=$(fs_type "$DATA_PARENT")
case "$fstype" in
tmpfs | ramfs) say "WARNING: $DATA_PARENT is on $fstype: fsync is free there; use --data-dir on a disk" ;;
esac

[ -n "$OUT" ] || OUT=$ROOT/bench/out/report-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/raw" "$OUT/charts" || die "cannot create output directory $OUT"
OUT=$(cd "$OUT" && pwd)
[ ! -e "$OUT/results.csv" ] || die "$OUT already holds a report (results.csv); pick another --out"

# install_pkg PACKAGE: apt-get install, once, as root, unless --no-install. Log in raw/.
install_pkg() {
    [ "$INSTALL" -eq 1 ] || return 1
    [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    say "installing $1 (apt-get install -y $1; log in $OUT/raw/apt-get.log)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >>"$OUT/raw/apt-get.log" 2>&1 && return 0
    say "apt-get install failed; running apt-get update and trying again"
    { DEBIAN_FRONTEND=noninteractive apt-get update &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$1"; } >>"$OUT/raw/apt-get.log" 2>&1
}

GNUPLOT=$(command -v gnuplot || true)
if [ -z "$GNUPLOT" ]; then
    if install_pkg gnuplot-nox; then GNUPLOT=$(command -v gnuplot || true); fi
    [ -n "$GNUPLOT" ] || say "WARNING: no gnuplot (apt-get install -y gnuplot-nox): charts are left as charts/*.gp"
fi

WORK=$(mktemp -d "$DATA_PARENT/strata-report.XXXXXX") || die "mktemp -d in $DATA_PARENT failed"

# ---- state, traps, meta -------------------------------------------------------------------------

CHILD_PID=""      # the benchmark or loader running now (timeout(1) or rocksdb_compare.sh)
SERVER_NAME=""
FINALIZED=0
RUN_STATUS="stopped by an error"
FAILURES=0
T0=$SECONDS

# set_meta KEY VALUE: one line of meta.txt (report.py reads it), replacing an earlier KEY.
set_meta() {
    local f=$OUT/meta.txt
    touch "$f"
    grep -v "^$1=" "$f" >"$f.tmp" || true
    printf '%s=%s\n' "$1" "$2" >>"$f.tmp"
    mv "$f.tmp" "$f"
}

finalize() {
    set_meta status "$RUN_STATUS"
    set_meta elapsed "$(((SECONDS - T0) / 60)) min $(((SECONDS - T0) % 60)) s"
    set_meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
    python3 "$REPORT_PY" finalize "$OUT" >&2 || say "WARNING: report.py finalize failed"
    FINALIZED=1
}

# Called first by bench/lib.sh cleanup (the EXIT trap): stop what runs, write the report from
# what finished. cleanup then removes $WORK.
before_cleanup() {
    if [ -n "$CHILD_PID" ]; then
        kill -TERM "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
        CHILD_PID=""
    fi
    if [ -n "$SERVER_PID" ]; then
        STOP_TIMEOUT=15
        stop_server "${SERVER_NAME:-server}"
    fi
    if [ "$FINALIZED" -eq 0 ] && [ -d "$OUT" ]; then
        say "writing the partial report ($RUN_STATUS)"
        finalize
        say "partial report: $OUT/summary.md"
    fi
}
install_traps
trap 'RUN_STATUS="interrupted after $(((SECONDS - T0) / 60)) min $(((SECONDS - T0) % 60)) s"; say "interrupted"; exit 130' INT TERM

# run_child TIMEOUT_S STDOUT STDERR CMD...: CMD in the background under timeout(1), so that a
# signal to this script is handled at once (bash runs traps between commands; `wait` is
# interruptible). Returns CMD's status (124 when it ran out of time).
run_child() {
    local t=$1 so=$2 se=$3 rc=0
    shift 3
    timeout --kill-after=10 "$t" "$@" >"$so" 2>"$se" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

# n_for POLICY CLIENTS PIPELINE: redis-benchmark -n for that case. Measured on the 2-core VM
# (2026-12): a write test then lasts 1-3 s, MSET and ZADD up to 5-8 s, PING under 1 s.
n_for() {
    local base
    case "$1:$2:$3" in
    always:1:1) base=8000 ;;
    always:1:16) base=60000 ;;
    always:50:1) base=30000 ;;
    always:50:16) base=150000 ;;
    *:1:1) base=30000 ;;
    *:1:16) base=200000 ;;
    *:50:1) base=80000 ;;
    *:50:16) base=200000 ;;
    *) base=$((20000 * $2 * $3 > 300000 ? 300000 : 20000 * $2 * $3)) ;;
    esac
    awk -v b="$base" -v s="$SCALE" -v c="$2" -v p="$3" 'BEGIN {
        n = int(b * s); f = 10 * c * p; if (f < 1000) f = 1000; if (n < f) n = f; print n }'
}
# est_for POLICY CLIENTS PIPELINE: seconds one measurement takes at --scale 1 (both servers'
# average, warm-up and restart included), for the estimate.
est_for() {
    case "$1:$2:$3" in
    always:1:1) echo 18 ;; always:1:16) echo 13 ;; always:50:1) echo 17 ;; always:50:16) echo 17 ;;
    *:1:1) echo 18 ;; *:1:16) echo 22 ;; *:50:1) echo 23 ;; *:50:16) echo 21 ;; *) echo 20 ;;
    esac
}

LTM_LIMIT_BYTES=$((LTM_LIMIT_MIB << 20))
LTM_KEYS=$(((LTM_LIMIT_BYTES * LTM_TIMES + LTM_VALUE_BYTES - 1) / LTM_VALUE_BYTES))

n_servers=$(wc -w <<<"$SERVER_LIST")
TOTAL=$((ROUNDS * $(wc -w <<<"$POLICIES") * $(wc -w <<<"$CONFIGS") * n_servers))
est=0
for p in $POLICIES; do
    for cp in $CONFIGS; do
        est=$((est + $(awk -v e="$(est_for "$p" "${cp%%:*}" "${cp##*:}")" -v s="$SCALE" \
            'BEGIN { printf "%d", e * s + 2.5 }') * ROUNDS * n_servers))
    done
done
[ "$SKIP_ROCKSDB" -eq 1 ] || est=$((est + 20 + ROCKSDB_NUM * 70 / 1000000))
[ "$SKIP_LTM" -eq 1 ] || est=$((est + 40 + LTM_KEYS * LTM_VALUE_BYTES / (20 << 20)))

redis_version=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
strata_rev=$(strata_revision)
matrix_desc="redis-benchmark -t $TESTS -n N -r $KEYSPACE -d $VALUE_BYTES -c C -P P --csv; policies [$POLICIES]; (c:P) [$CONFIGS]; $ROUNDS round(s); N per case:"
for p in $POLICIES; do
    matrix_desc+=" $p"
    for cp in $CONFIGS; do matrix_desc+=" c${cp%%:*}P${cp##*:}=$(n_for "$p" "${cp%%:*}" "${cp##*:}")"; done
    matrix_desc+=";"
done
matrix_desc+=" warm-up: the same command with N/10 (at least 1000) requests, discarded"

: >"$OUT/meta.txt"
set_meta date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
set_meta command "bench/report.sh${ARGS_GIVEN:+ $ARGS_GIVEN}"
set_meta host "$(hostname), $(nproc) CPUs"
set_meta cpu "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
set_meta kernel "$(uname -srm)"
set_meta memory "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
set_meta data_dir "$DATA_PARENT ($fstype)"
set_meta strata_rev "$strata_rev"
set_meta strata "$STRATA"
set_meta strata_args "${STRATA_ARGS[*]:-}"
set_meta redis_version "$redis_version (/usr/bin/redis-server: appendonly yes, save '')"
set_meta redis_benchmark "$(redis-benchmark --version 2>/dev/null | head -1)"
set_meta gnuplot "$GNUPLOT"
set_meta gnuplot_version "$([ -z "$GNUPLOT" ] || "$GNUPLOT" --version 2>/dev/null)"
set_meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
set_meta policies "$POLICIES"
set_meta keyspace "$KEYSPACE"
set_meta matrix_desc "$matrix_desc"
set_meta skip_rocksdb "$SKIP_ROCKSDB"
set_meta skip_ltm "$SKIP_LTM"

say "report in $OUT"
say "strata $strata_rev ($STRATA), redis-server $redis_version, $(nproc) CPUs, data dir $DATA_PARENT ($fstype)"
say "matrix: $TOTAL measurements ($ROUNDS round(s) x policies [$POLICIES] x (c:P) [$CONFIGS] x [$SERVER_LIST]), --scale $SCALE"
say "sections: matrix$([ "$SKIP_ROCKSDB" -eq 1 ] || echo ", engine vs RocksDB (--num $ROCKSDB_NUM)")$([ "$SKIP_LTM" -eq 1 ] || echo ", larger than memory ($LTM_KEYS x $LTM_VALUE_BYTES B into --memory-limit ${LTM_LIMIT_MIB}MiB)")"
say "estimated time: about $(((est + 59) / 60)) minutes on a quiet 2-core VM"

# ---- section 1: Strata vs Redis -----------------------------------------------------------------

# start_named NAME LOG DIR POLICY [ARG...]: a fresh redis-server or strata-server (lib.sh).
start_named() {
    local name=$1 log=$2 dir=$3 policy=$4
    shift 4
    SERVER_NAME=$name
    case "$name" in
    redis)
        start_server redis "$log" "$dir" redis-server --appendonly yes --appendfsync "$policy" \
            --save '' --daemonize no --logfile '' "$@"
        ;;
    strata)
        start_server strata "$log" "$dir" "$STRATA" --appendfsync "$policy" \
            ${STRATA_ARGS[@]+"${STRATA_ARGS[@]}"} "$@"
        ;;
    esac
}

# fail TAG MESSAGE: a run that did not complete; noted in raw/failures.txt, the report goes on.
fail() {
    FAILURES=$((FAILURES + 1))
    say "FAILED: $1: $2"
    printf '%s: %s\n' "$1" "$2" >>"$OUT/raw/failures.txt"
}

# rb PORT C P N CSV: one redis-benchmark run of the matrix's tests.
rb() {
    run_child "$TIMEOUT" "$5" "${5%.csv}.stderr" redis-benchmark -h 127.0.0.1 -p "$1" -t "$TESTS" \
        -n "$4" -r "$KEYSPACE" -d "$VALUE_BYTES" -c "$2" -P "$3" --csv
}

DONE=0
# measure SERVER POLICY C P ROUND FIRST: one measurement, appended to results.csv/jsonl.
measure() {
    local name=$1 policy=$2 c=$3 p=$4 round=$5 first=$6 tag dir n nw rc=0 line eta
    tag=$policy-$name-c$c-P$p-r$round
    dir=$WORK/$tag
    n=$(n_for "$policy" "$c" "$p")
    nw=$((n / 10 > 1000 ? n / 10 : 1000))
    DONE=$((DONE + 1))
    eta=""
    if [ "$DONE" -gt 1 ]; then
        eta=", matrix ETA $(((SECONDS - T0) * (TOTAL - DONE + 1) / (DONE - 1) / 60)) min"
    fi
    say "[$DONE/$TOTAL] $policy $name c=$c P=$p round $round/$ROUNDS: n=$n (warm-up $nw)$eta"
    mkdir -p "$dir"
    start_named "$name" "$OUT/raw/$tag.server.log" "$dir" "$policy"
    rb "$SERVER_PORT" "$c" "$p" "$nw" "$OUT/raw/$tag-warmup.csv" || rc=$?
    [ "$rc" -ne 0 ] || rb "$SERVER_PORT" "$c" "$p" "$n" "$OUT/raw/$tag.csv" || rc=$?
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        show_log "$SERVER_LOG"
        fail "$tag" "$name died during the run"
        stop_server "$name"
        rm -rf "$dir"
        return 0
    fi
    stop_server "$name"
    rm -rf "$dir"
    if [ "$rc" -ne 0 ]; then
        show_log "$OUT/raw/$tag.stderr"
        fail "$tag" "redis-benchmark exited with status $rc$([ "$rc" -ne 124 ] || echo " (--timeout ${TIMEOUT}s)")"
        return 0
    fi
    if line=$(python3 "$REPORT_PY" append "$OUT/raw/$tag.csv" --csv "$OUT/results.csv" \
        --jsonl "$OUT/results.jsonl" --section matrix --policy "$policy" --server "$name" \
        --clients "$c" --pipeline "$p" --round "$round" --requests "$n" --first "$first" \
        --keys "$KEYSPACE"); then
        say "[$DONE/$TOTAL] $policy $name c=$c P=$p round $round: $line"
    else
        fail "$tag" "no results in $OUT/raw/$tag.csv"
    fi
}

for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2 == 1)); then order="redis strata"; else order="strata redis"; fi
    order=$(for s in $order; do case " $SERVER_LIST " in *" $s "*) echo "$s" ;; esac; done | xargs)
    first=${order%% *}
    for policy in $POLICIES; do
        for cp in $CONFIGS; do
            for name in $order; do
                measure "$name" "$policy" "${cp%%:*}" "${cp##*:}" "$round" "$first"
            done
        done
    done
    # A summary after every round: a long run has a readable report early.
    set_meta status "running: round $round of $ROUNDS done"
    python3 "$REPORT_PY" finalize "$OUT" --no-charts >/dev/null 2>&1 || true
done

# ---- section 2: engine vs RocksDB ---------------------------------------------------------------

if [ "$SKIP_ROCKSDB" -eq 0 ]; then
    rcmd=("$ROOT/bench/rocksdb_compare.sh" --num "$ROCKSDB_NUM" --engine-bench "$ENGINE_BENCH"
        --data-dir "$DATA_PARENT" --out "$OUT/rocksdb" --bench-timeout "$TIMEOUT")
    if [ "$QUICK" -eq 1 ]; then
        rcmd+=(--quick)
    else
        # 1M keys: a 116 MB database per write phase, so flushes and compactions happen with the
        # default 64 MiB write buffer; fewer reads than its default to fit the report's budget.
        rcmd+=(--reads $((ROCKSDB_NUM / 2)) --seeks $((ROCKSDB_NUM / 20)))
    fi
    [ "$INSTALL" -eq 1 ] || rcmd+=(--no-install)
    ROCKS_STATUS=$OUT/rocksdb.status
    printf 'command=%s\nresult=running\n' "${rcmd[*]#"$ROOT/"}" >"$ROCKS_STATUS"
    say "engine vs RocksDB: ${rcmd[*]} (progress in $OUT/raw/rocksdb_compare.stderr)"
    rc=0
    if [ ! -x "$ENGINE_BENCH" ]; then
        rc=1
        say "$ENGINE_BENCH is missing: build it (cmake --build $(dirname "$STRATA") --target strata-engine-bench)"
    else
        run_child $((TIMEOUT * 8)) "$OUT/raw/rocksdb_compare.stdout" "$OUT/raw/rocksdb_compare.stderr" "${rcmd[@]}" || rc=$?
    fi
    if [ "$rc" -eq 0 ]; then
        printf 'command=%s\nresult=ok\n' "${rcmd[*]#"$ROOT/"}" >"$ROCKS_STATUS"
        say "engine vs RocksDB: done"
        cat "$OUT/raw/rocksdb_compare.stdout" >&2
    else
        printf 'command=%s\nresult=failed (exit status %s)\n' "${rcmd[*]#"$ROOT/"}" "$rc" >"$ROCKS_STATUS"
        [ ! -f "$OUT/raw/rocksdb_compare.stderr" ] || show_log "$OUT/raw/rocksdb_compare.stderr"
        fail rocksdb_compare "exit status $rc"
    fi
fi

# ---- section 3: larger than memory (Strata only) ------------------------------------------------

# vm_field NAME: the running server's /proc status field (VmHWM, VmRSS) in bytes, or empty.
vm_field() { awk -v f="$1:" '$1 == f { print $2 * 1024 }' "/proc/$SERVER_PID/status" 2>/dev/null || true; }
# info_field FILE NAME: a field of a saved INFO.
info_field() { awk -F: -v f="$2" '$1 == f { print $2; exit }' "$1" 2>/dev/null || true; }

ltm_run() {
    local d=$OUT/ltm dir=$WORK/ltm kv rc=0 t1 load_s errors replies dbsize c n
    kv=$d/ltm.txt
    mkdir -p "$d" "$dir"
    local need_kib=$((LTM_KEYS * LTM_VALUE_BYTES * 2 / 1024)) free_kib
    free_kib=$(df -Pk "$DATA_PARENT" | awk 'NR == 2 { print $4 }')
    if [[ $free_kib =~ ^[0-9]+$ ]] && [ "$free_kib" -lt "$need_kib" ]; then
        fail ltm "$DATA_PARENT has $((free_kib / 1024)) MiB free, needs $((need_kib / 1024)) MiB"
        return 0
    fi
    {
        echo "limit=${LTM_LIMIT_MIB}MiB"
        echo "limit_bytes=$LTM_LIMIT_BYTES"
        echo "policy=everysec"
        echo "keys=$LTM_KEYS"
        echo "value_bytes=$LTM_VALUE_BYTES"
        echo "value_total_bytes=$((LTM_KEYS * LTM_VALUE_BYTES))"
        echo "times_limit=$(awk -v a="$((LTM_KEYS * LTM_VALUE_BYTES))" -v b="$LTM_LIMIT_BYTES" 'BEGIN { printf "%.1f", a / b }')"
    } >"$kv"
    say "larger than memory: strata-server --memory-limit ${LTM_LIMIT_MIB}MiB; loading $LTM_KEYS keys x $LTM_VALUE_BYTES B ($(((LTM_KEYS * LTM_VALUE_BYTES) >> 20)) MiB, ${LTM_TIMES}x the limit)"
    start_named strata "$d/server.log" "$dir" everysec --memory-limit "$LTM_LIMIT_BYTES"
    t1=$SECONDS
    python3 "$REPORT_PY" ltm-gen --keys "$LTM_KEYS" --value-bytes "$LTM_VALUE_BYTES" 2>"$d/gen.stderr" |
        timeout --kill-after=10 "$TIMEOUT" redis-cli -p "$SERVER_PORT" --pipe --pipe-timeout 0 >"$d/load.out" 2>&1 &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    load_s=$((SECONDS - t1 > 0 ? SECONDS - t1 : 1))
    errors=$(sed -n 's/.*errors: \([0-9]*\), replies: \([0-9]*\).*/\1/p' "$d/load.out" | tail -1)
    replies=$(sed -n 's/.*errors: \([0-9]*\), replies: \([0-9]*\).*/\2/p' "$d/load.out" | tail -1)
    dbsize=$(redis-cli -p "$SERVER_PORT" dbsize 2>/dev/null || echo "?")
    {
        echo "load_secs=$load_s"
        echo "load_keys_per_s=$((LTM_KEYS / load_s))"
        echo "load_errors=${errors:-?}"
        echo "load_replies=${replies:-?}"
        echo "dbsize=$dbsize"
        echo "vmhwm_after_load=$(vm_field VmHWM)"
    } >>"$kv"
    if [ "$rc" -ne 0 ] || [ "${errors:-1}" != 0 ] || [ "$dbsize" != "$LTM_KEYS" ]; then
        show_log "$d/load.out"
        echo "result=failed: load (status $rc, errors ${errors:-?}, DBSIZE $dbsize of $LTM_KEYS)" >>"$kv"
        fail ltm "load failed (status $rc, errors ${errors:-?}, DBSIZE $dbsize of $LTM_KEYS)"
        stop_server strata
        return 0
    fi
    say "larger than memory: loaded in ${load_s}s ($((LTM_KEYS / load_s)) keys/s), DBSIZE $dbsize; peak RSS so far $(($(vm_field VmHWM) >> 20)) MiB"
    rc=0
    run_child "$TIMEOUT" "$d/verify.txt" "$d/verify.stderr" python3 "$REPORT_PY" ltm-verify --port "$SERVER_PORT" \
        --keys "$LTM_KEYS" --value-bytes "$LTM_VALUE_BYTES" --sample $((QUICK ? 5000 : 20000)) || rc=$?
    cat "$d/verify.txt" >>"$kv"
    [ "$rc" -eq 0 ] || fail ltm "sample read back: missing or wrong values (status $rc, see $d/verify.stderr)"
    # Uniform random GETs over every key: -c 1 for the latency of one request at a time, -c 50
    # for throughput; a short warm-up first (discarded).
    rb_get() { run_child "$TIMEOUT" "$4" "${4%.csv}.stderr" redis-benchmark -h 127.0.0.1 -p "$SERVER_PORT" \
        -t get -r "$LTM_KEYS" -n "$3" -c "$1" -P "$2" --csv; }
    rb_get 50 1 $((QUICK ? 5000 : 20000)) "$d/get-warmup.csv" || true
    for c in 1 50; do
        if [ "$c" -eq 1 ]; then n=$((QUICK ? 10000 : 50000)); else n=$((QUICK ? 50000 : 300000)); fi
        say "larger than memory: uniform random GET, c=$c, n=$n over $LTM_KEYS keys"
        rc=0
        rb_get "$c" 1 "$n" "$d/get-c$c.csv" || rc=$?
        if [ "$rc" -ne 0 ]; then
            fail ltm "redis-benchmark GET c=$c exited with status $rc"
            continue
        fi
        say "larger than memory: c=$c: $(python3 "$REPORT_PY" append "$d/get-c$c.csv" --csv "$OUT/results.csv" \
            --jsonl "$OUT/results.jsonl" --section ltm --policy everysec --server strata --clients "$c" \
            --pipeline 1 --round 1 --requests "$n" --keys "$LTM_KEYS") ops/s"
    done
    timeout 300 redis-cli -p "$SERVER_PORT" INFO 2>/dev/null | tr -d '\r' >"$d/info.txt" || true
    {
        echo "vmhwm_end=$(vm_field VmHWM)"
        echo "vmrss_end=$(vm_field VmRSS)"
        for f in engine_memory_bytes block_cache_usage block_cache_capacity engine_table_readers_bytes \
            engine_memtable_bytes block_cache_hit_ratio engine_write_stalls compactions used_memory_rss; do
            echo "$f=$(info_field "$d/info.txt" "$f")"
        done
    } >>"$kv"
    stop_server strata
    echo "data_dir_bytes=$(du -sb "$dir" 2>/dev/null | awk '{ print $1 }')" >>"$kv"
    if grep -q '^verify_missing=0$' "$kv" && grep -q '^verify_wrong=0$' "$kv"; then
        echo "result=ok" >>"$kv"
    else
        echo "result=failed: sample check" >>"$kv"
    fi
    say "larger than memory: peak RSS $(($(sed -n 's/^vmhwm_end=//p' "$kv") >> 20)) MiB for a ${LTM_LIMIT_MIB} MiB limit"
    rm -rf "$dir"
}
[ "$SKIP_LTM" -eq 1 ] || ltm_run

# ---- report -------------------------------------------------------------------------------------

if [ "$FAILURES" -eq 0 ]; then RUN_STATUS=complete; else RUN_STATUS="complete, $FAILURES failed step(s): raw/failures.txt"; fi
finalize
say "report: $OUT/summary.md ($(((SECONDS - T0) / 60)) min $(((SECONDS - T0) % 60)) s)"
[ "$FAILURES" -eq 0 ] || die "$FAILURES step(s) did not complete (see $OUT/raw/failures.txt)"
