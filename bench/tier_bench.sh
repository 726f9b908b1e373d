#!/usr/bin/env bash
# tier_bench.sh -- storage tiers: point reads from a cold O_DIRECT tier with io_uring and with the
# pread fallback, and migration throughput against the disk's own sequential bandwidth.
#
# In one fresh directory on a real disk (tmpfs is refused: O_DIRECT and the device are the point),
# in this order, each step a separate process:
#   1. fio: sequential write, then read, of --fio-size with 1 MiB O_DIRECT requests, iodepth 4
#      (io_uring; libaio, then psync, if fio cannot use it): the disk's bandwidth in this run;
#   2. strata-tier-bench load: --num keys in random order, compacted into L6 in the cold tier;
#   3. --rounds rounds of readrandom (st_db_get) and multiget (st_db_multiget, --batch keys), each
#      under STRATA_IO_BACKEND=io_uring and =posix with --memory-limit (16 MiB: the cache is tiny
#      next to the data). Every run is its own process, with its own seed; odd rounds run
#      readrandom/io_uring, readrandom/posix, multiget/io_uring, multiget/posix, even rounds the
#      reverse, so neither backend always goes first;
#   4. strata-tier-bench migrate: L6 moved to a third, colder tier directory, unpaced, timed from
#      open until st_db_wait_for_compactions returns, then 10000 random keys read back.
# Output: the tables on stdout; progress on stderr; results.csv, results.md, fio-*.json and every
# program's output in logs/ in the output directory. The exit status says whether every step
# completed and every value read back was right, never whether any speed was reached.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=tier_bench
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$ROOT/bench/lib.sh"

usage() {
    cat <<EOF
usage: bench/tier_bench.sh [options]
  --quick              smoke run: --num 300000 --duration 3 (unless given)
  --num N              keys to load, 16-byte keys and 100-byte values (default 2000000)
  --duration S         seconds per read run (default 10), after 1 s of untimed warm-up
  --batch K            keys per st_db_multiget (default 32)
  --rounds R           rounds of the four read runs (default 2)
  --memory-limit SIZE  memory_limit_bytes of the read runs (default 16MiB)
  --cold-block-size N  data block bytes in the cold tier (default 16384; 65536 also makes sense)
  --fio-size SIZE      bytes fio writes and reads (default 1G)
  --dir D              parent of the temporary data directory (default bench/out, on the
                       repository's file system); must not be tmpfs
  --out DIR            output directory (default bench/out/tier_bench-<timestamp>)
  --keep               keep the data directory after the run
  --bench PATH         strata-tier-bench (default build/strata-tier-bench; env STRATA_TIER_BENCH)
  --timeout S          limit for each step, seconds (default 1800)
  -h, --help           this text
Needs fio (apt-get install -y fio) and python3 (to read fio's JSON).
EOF
}

# ---- options ------------------------------------------------------------------------------------

QUICK=0
NUM=""
DURATION=""
BATCH=32
ROUNDS=2
MEMORY_LIMIT=16MiB
COLD_BLOCK=16384
FIO_SIZE=1G
DATA_PARENT=$ROOT/bench/out
OUT=""
KEEP=0
BENCH=${STRATA_TIER_BENCH:-$ROOT/build/strata-tier-bench}
TIMEOUT=1800
WARMUP=1
VERIFY=10000

while [ "$#" -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --num) need_arg "$@"; NUM=$2; shift ;;
    --duration) need_arg "$@"; DURATION=$2; shift ;;
    --batch) need_arg "$@"; BATCH=$2; shift ;;
    --rounds) need_arg "$@"; ROUNDS=$2; shift ;;
    --memory-limit) need_arg "$@"; MEMORY_LIMIT=$2; shift ;;
    --cold-block-size) need_arg "$@"; COLD_BLOCK=$2; shift ;;
    --fio-size) need_arg "$@"; FIO_SIZE=$2; shift ;;
    --dir) need_arg "$@"; DATA_PARENT=$2; shift ;;
    --out) need_arg "$@"; OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    --bench) need_arg "$@"; BENCH=$2; shift ;;
    --timeout) need_arg "$@"; TIMEOUT=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

if [ -z "$NUM" ]; then
    if [ "$QUICK" -eq 1 ]; then NUM=300000; else NUM=2000000; fi
fi
if [ -z "$DURATION" ]; then
    if [ "$QUICK" -eq 1 ]; then DURATION=3; else DURATION=10; fi
fi
is_uint() { [[ $1 =~ ^[1-9][0-9]{0,11}$ ]]; }
is_uint "$NUM" || die "--num: expected a positive integer, got '$NUM'"
[[ $DURATION =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--duration: expected seconds, got '$DURATION'"
is_uint "$BATCH" || die "--batch: expected a positive integer, got '$BATCH'"
is_uint "$ROUNDS" || die "--rounds: expected a positive integer, got '$ROUNDS'"
is_uint "$COLD_BLOCK" || die "--cold-block-size: expected bytes, got '$COLD_BLOCK'"
is_uint "$TIMEOUT" || die "--timeout: expected a positive integer, got '$TIMEOUT'"
[[ $FIO_SIZE =~ ^[1-9][0-9]*[kKmMgG]?$ ]] || die "--fio-size: expected e.g. 1G or 256M, got '$FIO_SIZE'"

# ---- prerequisites ------------------------------------------------------------------------------

missing=$(missing_tools fio python3 timeout awk)
if [ -n "$missing" ]; then
    case " $missing " in
    *" fio "*) die "not found: $missing. fio is a bench-only dependency: apt-get install -y fio" ;;
    *) die "not found: $missing" ;;
    esac
fi
need_built "$BENCH" strata-tier-bench
warn_build "$BENCH" "latencies mean little"

mkdir -p "$DATA_PARENT" || die "cannot create --dir $DATA_PARENT"
# findmnt prints one line per mount when several are stacked on one path: the first is enough.
fstype=$(fs_type "$DATA_PARENT" | head -n 1)
case "$fstype" in
tmpfs | ramfs)
    die "$DATA_PARENT is on $fstype: its files live in RAM, so neither O_DIRECT nor the device is measured." \
        "Give --dir a directory on a disk"
    ;;
esac
fio_bytes=$(python3 -c 'import sys; s=sys.argv[1]; m={"k":1<<10,"m":1<<20,"g":1<<30}.get(s[-1].lower(),1); print(int(s.rstrip("kKmMgG"))*m)' "$FIO_SIZE")
# The tables (random values do not compress), the copy a compaction or a migration makes, fio's file.
need_kib=$(((NUM * 130 * 2 + fio_bytes) / 1024 + 65536))
free_kib=$(df -Pk "$DATA_PARENT" | awk 'NR == 2 { print $4 }')
if [[ $free_kib =~ ^[0-9]+$ ]] && [ "$free_kib" -lt "$need_kib" ]; then
    die "$DATA_PARENT has $((free_kib / 1024)) MiB free; this run needs about $((need_kib / 1024)) MiB (use --dir)"
fi

[ -n "$OUT" ] || OUT=$ROOT/bench/out/tier_bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/logs" || die "cannot create output directory $OUT"

WORK=$(mktemp -d "$DATA_PARENT/tier_bench-data.XXXXXX") || die "mktemp -d in $DATA_PARENT failed"
STEP_PID=""
# Called first by bench/lib.sh cleanup (the EXIT trap): stops a step still running.
before_cleanup() {
    if [ -n "$STEP_PID" ]; then
        kill -TERM "$STEP_PID" 2>/dev/null || true # timeout(1) passes it on
        wait "$STEP_PID" 2>/dev/null || true
        STEP_PID=""
    fi
}
install_traps

# run_step NAME ENV CMD...: runs CMD with the environment assignment ENV ("" for none), stdout to
# logs/NAME.out and stderr to logs/NAME.err (and to our stderr), bounded by --timeout. In the
# background, so that an interrupt is handled at once. Dies, showing the log, if it fails.
run_step() {
    local name=$1 env=$2 rc=0
    shift 2
    echo "${env:+$env }$*" >"$OUT/logs/$name.cmd"
    if [ -n "$env" ]; then
        env "$env" timeout --kill-after=10 "$TIMEOUT" "$@" >"$OUT/logs/$name.out" 2> >(tee "$OUT/logs/$name.err" >&2) &
    else
        timeout --kill-after=10 "$TIMEOUT" "$@" >"$OUT/logs/$name.out" 2> >(tee "$OUT/logs/$name.err" >&2) &
    fi
    STEP_PID=$!
    wait "$STEP_PID" || rc=$?
    STEP_PID=""
    if [ "$rc" -ne 0 ]; then
        show_log "$OUT/logs/$name.out"
        case "$rc" in 124 | 137) die "$name ran longer than --timeout ${TIMEOUT}s" ;; esac
        die "$name failed with exit status $rc (logs in $OUT/logs/$name.*)"
    fi
}

# summary NAME TEST: the summary line "TEST: backend=..." of logs/NAME.out; dies if there is none.
summary() {
    local line
    line=$(grep -m1 "^$2: backend=" "$OUT/logs/$1.out" || true)
    [ -n "$line" ] || die "no '$2:' summary line in $OUT/logs/$1.out"
    echo "$line"
}
# field LINE KEY: the value of KEY=value in a summary line.
field() { awk -v k="$2" '{ for (i = 2; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) { print substr($i, n + 1); exit } } }' <<<"$1"; }
# median FORMAT: the median of the numbers on stdin, printed with the printf FORMAT.
median() {
    sort -g | awk -v f="$1\n" '{ v[NR] = $1 } END {
        if (NR == 0) print "n/a"; else printf f, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

strata_rev=$(strata_revision)
device=$(findmnt -n -o SOURCE -T "$DATA_PARENT" 2>/dev/null | head -n 1 || true)
[ -n "$device" ] || device=unknown
say "output in $OUT"
say "strata $strata_rev, $(nproc) CPUs, data dir $WORK ($fstype on $device)"
CSV=$OUT/results.csv
echo "step,round,test,backend,keys_per_s,calls_per_s,p50_us,p99_us,p999_us,mib_per_s,secs,direct" >"$CSV"

# ---- 1. fio -------------------------------------------------------------------------------------

FIO_ENGINE=""
FIO_BPS=""
# fio_run RW: one sequential job over $WORK/fio/seqfile, JSON into fio-RW.json. Sets FIO_BPS
# (bytes/s) and FIO_ENGINE (the first engine fio could use; later jobs use it too).
fio_run() {
    local rw=$1 engine rc
    local engines=(io_uring libaio psync)
    [ -z "$FIO_ENGINE" ] || engines=("$FIO_ENGINE")
    for engine in "${engines[@]}"; do
        rc=0
        fio --name="seq$rw" --directory="$WORK/fio" --filename=seqfile --rw="$rw" --bs=1M --size="$FIO_SIZE" \
            --direct=1 --ioengine="$engine" --iodepth=4 --end_fsync=1 --output-format=json \
            --output="$OUT/fio-$rw.json" 2>"$OUT/logs/fio-$rw-$engine.err" || rc=$?
        if [ "$rc" -eq 0 ]; then
            FIO_ENGINE=$engine
            break
        fi
        say "fio --ioengine=$engine failed (exit status $rc): $(head -c 300 "$OUT/logs/fio-$rw-$engine.err" | tr '\n' ' ')"
    done
    [ -n "$FIO_ENGINE" ] || die "fio failed with io_uring, libaio and psync (logs in $OUT/logs/fio-*.err)"
    FIO_BPS=$(python3 -c 'import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):])
print(sum(job[sys.argv[2]]["bw_bytes"] for job in j["jobs"]))' "$OUT/fio-$rw.json" "$rw") ||
        die "cannot read the bandwidth from $OUT/fio-$rw.json"
    if ! [[ $FIO_BPS =~ ^[0-9]+$ ]] || [ "$FIO_BPS" -eq 0 ]; then die "fio $rw: no bandwidth in $OUT/fio-$rw.json"; fi
}
mkdir -p "$WORK/fio"
say "fio: sequential write of $FIO_SIZE, 1 MiB O_DIRECT requests, iodepth 4"
fio_run write
fio_write_bps=$FIO_BPS
say "fio: sequential read of $FIO_SIZE"
fio_run read
fio_read_bps=$FIO_BPS
rm -rf "$WORK/fio"
fio_write=$(awk -v b="$fio_write_bps" 'BEGIN { printf "%.1f", b / 1048576 }')
fio_read=$(awk -v b="$fio_read_bps" 'BEGIN { printf "%.1f", b / 1048576 }')
say "fio ($FIO_ENGINE): write $fio_write MiB/s, read $fio_read MiB/s"
echo "fio,,write,$FIO_ENGINE,,,,,,$fio_write,," >>"$CSV"
echo "fio,,read,$FIO_ENGINE,,,,,,$fio_read,," >>"$CSV"

# ---- 2. load ------------------------------------------------------------------------------------

DB=$WORK/run
say "load: $NUM keys, cold blocks of $COLD_BLOCK bytes"
run_step load "" "$BENCH" --db "$DB" load --num "$NUM" --cold-block-size "$COLD_BLOCK"
load_line=$(grep -m1 '^load: keys=' "$OUT/logs/load.out" || true)
[ -n "$load_line" ] || die "no 'load:' summary line in $OUT/logs/load.out"
grep -v '^load: keys=' "$OUT/logs/load.out" >&2 || true
cold_share=$(field "$load_line" cold_share)
deepest=$(field "$load_line" deepest_level)
[ "$(field "$load_line" cold_direct_files)" != 0 ] || say "WARNING: no cold table is open with O_DIRECT after load"

# ---- 3. reads -----------------------------------------------------------------------------------

RUNS=("readrandom io_uring" "readrandom posix" "multiget io_uring" "multiget posix")
seed=301
not_direct=0
backend_mismatch=0
for ((round = 1; round <= ROUNDS; round++)); do
    order=("${RUNS[@]}")
    if [ $((round % 2)) -eq 0 ]; then order=("${RUNS[3]}" "${RUNS[2]}" "${RUNS[1]}" "${RUNS[0]}"); fi
    for run in "${order[@]}"; do
        read -r test backend <<<"$run"
        name=$test-$backend-r$round
        seed=$((seed + 1))
        say "round $round/$ROUNDS: $test, STRATA_IO_BACKEND=$backend, $DURATION s"
        run_step "$name" "STRATA_IO_BACKEND=$backend" "$BENCH" --db "$DB" "$test" --duration "$DURATION" \
            --warmup "$WARMUP" --batch "$BATCH" --memory-limit "$MEMORY_LIMIT" --seed "$seed"
        line=$(summary "$name" "$test")
        got=$(field "$line" backend)
        if [ "$got" != "$backend" ]; then
            say "WARNING: $name asked for $backend but ran on $got (see $OUT/logs/$name.err)"
            backend_mismatch=1
        fi
        direct=$(field "$line" direct)
        [ "$direct" = yes ] || not_direct=1
        echo "read,$round,$test,$got,$(field "$line" keys_per_s),$(field "$line" ops_per_s),$(field "$line" p50_us),$(field "$line" p99_us),$(field "$line" p999_us),,$(field "$line" secs),$direct" >>"$CSV"
        say "  $(field "$line" keys_per_s) keys/s, p50 $(field "$line" p50_us) us, p99 $(field "$line" p99_us) us per call"
    done
done

# ---- 4. migrate ---------------------------------------------------------------------------------

say "migrate: L$deepest to a new tier directory, unpaced"
run_step migrate "" "$BENCH" --db "$DB" migrate --verify "$VERIFY"
mig=$(summary migrate migrate)
mig_mibs=$(field "$mig" mb_per_s)
mig_bytes=$(field "$mig" bytes)
echo "migrate,,migrate,$(field "$mig" backend),,,,,,$mig_mibs,$(field "$mig" secs),$(field "$mig" direct)" >>"$CSV"

# ---- report -------------------------------------------------------------------------------------

# col TEST BACKEND COLUMN: the median over rounds of a results.csv column (rates as integers).
col() {
    local fmt=%.1f
    case "$3" in *_per_s) fmt=%.0f ;; esac
    awk -F, -v t="$1" -v b="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
        $1 == "read" && $3 == t && $4 == b { print $k }' "$CSV" | median "$fmt"
}
fio_min=$(awk -v a="$fio_read" -v b="$fio_write" 'BEGIN { print (a < b ? a : b) }')
{
    echo "# tier_bench"
    echo
    echo "strata $strata_rev; $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) CPUs; $(uname -sr); data on $fstype ($device)"
    echo
    echo "$NUM keys (16 + 100 bytes, incompressible), $(awk -v s="$cold_share" 'BEGIN { printf "%.1f%%", s * 100 }') of table bytes in the cold tier (O_DIRECT, zstd, $COLD_BLOCK-byte blocks, L$deepest);"
    echo "reads under memory limit $MEMORY_LIMIT; $ROUNDS rounds of $DURATION s per run (medians over rounds); multiget batch $BATCH."
    echo
    echo "| test | backend | keys/s | calls/s | p50 us | p99 us | p99.9 us |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for test in readrandom multiget; do
        for backend in io_uring posix; do
            echo "| $test | $backend | $(col $test $backend keys_per_s) | $(col $test $backend calls_per_s) | $(col $test $backend p50_us) | $(col $test $backend p99_us) | $(col $test $backend p999_us) |"
        done
    done
    echo
    echo "Latency is per call: one key for readrandom, $BATCH keys for multiget."
    for test in readrandom multiget; do
        echo "io_uring / posix, $test: keys/s x$(ratio "$(col $test io_uring keys_per_s)" "$(col $test posix keys_per_s)"), p99 x$(ratio "$(col $test io_uring p99_us)" "$(col $test posix p99_us)")"
    done
    echo
    echo "| disk and migration | MiB/s | migration / this |"
    echo "|---|---:|---:|"
    echo "| fio sequential write ($FIO_ENGINE, O_DIRECT, 1 MiB, iodepth 4) | $fio_write | $(ratio "$mig_mibs" "$fio_write") |"
    echo "| fio sequential read (same) | $fio_read | $(ratio "$mig_mibs" "$fio_read") |"
    echo "| min(fio read, fio write) | $fio_min | $(ratio "$mig_mibs" "$fio_min") |"
    echo "| migration: $(field "$mig" tables) tables, $(awk -v b="$mig_bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }') in $(field "$mig" secs) s | $mig_mibs | |"
    echo
    echo "A migration reads each table, writes the copy, fdatasyncs it and reads it back to verify it:"
    echo "two reads and one write per byte moved, all on the same disk here, so the disk carried about"
    echo "$(awk -v m="$mig_mibs" 'BEGIN { printf "%.1f MiB/s (%.1f read, %.1f written)", 3 * m, 2 * m, m }') during the migration."
    echo "Migration failures: $(field "$mig" failures); tables left in the source tier: $(field "$mig" left_in_source);"
    echo "verify after migration: $(field "$mig" verify_keys) keys, $(field "$mig" verify_missing) missing, $(field "$mig" verify_wrong) wrong."
    if [ "$not_direct" -eq 1 ] || [ "$(field "$mig" direct)" != yes ]; then
        echo
        echo "NOTE: some run had no cold table open with O_DIRECT: its reads may be page-cache reads (see logs/)."
    fi
    if [ "$backend_mismatch" -eq 1 ]; then
        echo
        echo "NOTE: some run asked for io_uring but ran on posix (io_uring refused; see logs/*.err)."
    fi
} >"$OUT/results.md"
cat "$OUT/results.md"
say "output files in $OUT"
