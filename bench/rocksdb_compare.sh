#!/usr/bin/env bash
# rocksdb_compare.sh -- Strata's engine (strata-engine-bench) against RocksDB (db_bench from the
# Debian package rocksdb-tools) on the same workloads, one invocation.
#
# Both programs get the same settings, chosen here, passed explicitly and printed: 16-byte keys,
# 100-byte values compressible to half, --num keys, one codec on every level, a 64 MiB write
# buffer with 2 more full memtables allowed, 4 KiB blocks, 10 bloom bits per key, the same block
# cache with the open tables' indexes and filters charged to it (Strata always does; RocksDB with
# --charge_table_reader), WAL on without an fsync per write, one writer thread, one flush and one
# compaction thread, and the same leveled compaction: L0 trigger 4 (slowdown 20, stop 36), dynamic
# level sizing with a 256 MiB base and a multiplier of 10, 64 MiB files, 7 levels. Workloads, each
# a separate process, in db_bench's order with its --use_existing_db sequencing:
#   fillseq (new db), fillrandom (new db), overwrite (on the fillrandom db), readrandom with a big
#   cache (hot), readrandom with a small cache after dropping the OS page cache (cold), seekrandom
#   with 100 nexts per seek.
# Every write phase ends with an untimed flush and waitforcompaction (st_db_wait_for_compactions in
# Strata), so a write phase pays for all of its own writes (its compactions included) and reads
# start from a settled tree in both engines.
# All of RocksDB's phases run first, then all of Strata's, never both at once (2 cores here).
#
# Write amplification, the same way for both: each phase runs under a small python3 wrapper that
# waits for it with wait4() and keeps its rusage. ru_oublock counts the 512-byte blocks the
# process (all its threads) caused to be written to the block device (Linux task I/O accounting,
# charged when a page is dirtied, so a page rewritten while still dirty counts once). Write amp =
# the sum of those bytes over all phases (read phases included: they may flush or compact) / the
# user bytes written (num x (key + value) per write phase). The engines' own counters (RocksDB
# statistics: wal + flush + compaction bytes; Strata st_stats: wal + flush + compaction bytes)
# give a second figure.
#
# Output: the table on stdout; progress on stderr; results.csv, results.md, phases.csv, and each
# raw output and log in the output directory. The exit status says whether every run completed,
# never whether a target was met (benchmarks print, tests assert).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
usage: bench/rocksdb_compare.sh [options]
  --quick               smoke run: --num 200000 --reads 100000 --seeks 10000, and a 4 MiB write
                        buffer, 4 MiB files and a 16 MiB level base so that both engines flush
                        and compact (each unless given)
  --num N               keys in the key space and writes per write phase (default 5000000)
  --reads N             gets in each readrandom phase (default 1000000)
  --seeks N             seeks in seekrandom, each followed by --seek-nexts nexts (default 100000)
  --seek-nexts N        nexts after each seek (default 100)
  --compression C       none | lz4 | zstd on every level, both engines (default lz4; zstd at level 3)
  --cache-size BYTES    block cache for the hot phases (default 512M; K/M/G suffixes)
  --small-cache BYTES   block cache for the cold readrandom (default 8M)
  --write-buffer BYTES  memtable size (default 64M)
  --target-file-size BYTES
                        compaction output files (target_file_size_base; default 64M)
  --level-base BYTES    base level target (max_bytes_for_level_base; default 256M)
  --dynamic-level-bytes 0|1
                        level_compaction_dynamic_level_bytes, both engines (default 1)
  --seed S              base seed; phase i uses S+i in both programs (default 301)
  --engines LIST        which to run, in order, space or comma separated (default "rocksdb strata")
  --engine-bench PATH   strata-engine-bench (default build/strata-engine-bench; env STRATA_ENGINE_BENCH)
  --db-bench PATH       RocksDB's db_bench (default: db_bench on PATH; env DB_BENCH)
  --no-install          if db_bench is missing, stop instead of installing rocksdb-tools
  --data-dir DIR        where the databases go, wiped between runs (default \$TMPDIR or /tmp);
                        put it on the disk you mean to measure
  --out DIR             output directory (default bench/out/rocksdb_compare-<timestamp>)
  --bench-timeout S     limit for one phase, seconds (default 3600)
  -h, --help            this text
Needs python3 and db_bench (Debian package rocksdb-tools: apt-get install -y rocksdb-tools; run as
root, the script installs it itself). Dropping the page cache before the cold phase needs root.
EOF
}

say() { printf 'rocksdb_compare: %s\n' "$*" >&2; }
die() { printf 'rocksdb_compare: error: %s\n' "$*" >&2; exit 1; }

# to_bytes VALUE: 123, 64K, 64M, 1G, 64MiB -> bytes; empty output if malformed.
to_bytes() {
    local v=$1 n unit
    [[ $v =~ ^([0-9]+)([KkMmGg]?)(i?[Bb])?$ ]] || return 0
    n=${BASH_REMATCH[1]}
    unit=${BASH_REMATCH[2]}
    case "$unit" in
    K | k) n=$((n << 10)) ;;
    M | m) n=$((n << 20)) ;;
    G | g) n=$((n << 30)) ;;
    esac
    echo "$n"
}

# ---- options ------------------------------------------------------------------------------------

QUICK=0
NUM=""
READS=""
SEEKS=""
SEEK_NEXTS=100
COMPRESSION=lz4
ZSTD_LEVEL=3
CACHE_ARG=512M
SMALL_CACHE_ARG=8M
WRITE_BUFFER_ARG=""
TARGET_FILE_ARG=""
LEVEL_BASE_ARG=""
DYNAMIC_LEVEL_BYTES=1 # RocksDB's recommended setting and Strata's default (db_bench 7.8.3's is 0)
MAX_IMMUTABLE=2       # Strata: full memtables waiting for flush; RocksDB: max_write_buffer_number 3
# Compaction, the same for both (RocksDB's and Strata's defaults, passed explicitly anyway).
COMPACTION_THREADS=1  # RocksDB: max_background_compactions 1 (max_background_jobs 2, 1 flush)
L0_TRIGGER=4
L0_SLOWDOWN=20
L0_STOP=36
LEVEL_MULTIPLIER=10
NUM_LEVELS=7          # RocksDB's num_levels; Strata's ST_MAX_LEVELS
SOFT_PENDING_BYTES=$((64 << 30))
HARD_PENDING_BYTES=$((256 << 30))
KEY_BYTES=16
VALUE_BYTES=100
BLOCK_BYTES=4096
BLOOM_BITS=10
COMPRESSION_RATIO=0.5 # db_bench's value generator; engine_bench's values are built the same way
SEED=301
ENGINES="rocksdb strata"
ENGINE_BENCH=${STRATA_ENGINE_BENCH:-$ROOT/build/strata-engine-bench}
DB_BENCH=${DB_BENCH:-}
INSTALL=1
DATA_PARENT=${TMPDIR:-/tmp}
OUT=""
BENCH_TIMEOUT=3600

need_arg() { [ "$#" -ge 2 ] || die "$1 needs a value (see --help)"; }
while [ "$#" -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --num) need_arg "$@"; NUM=$2; shift ;;
    --reads) need_arg "$@"; READS=$2; shift ;;
    --seeks) need_arg "$@"; SEEKS=$2; shift ;;
    --seek-nexts) need_arg "$@"; SEEK_NEXTS=$2; shift ;;
    --compression) need_arg "$@"; COMPRESSION=$2; shift ;;
    --cache-size) need_arg "$@"; CACHE_ARG=$2; shift ;;
    --small-cache) need_arg "$@"; SMALL_CACHE_ARG=$2; shift ;;
    --write-buffer) need_arg "$@"; WRITE_BUFFER_ARG=$2; shift ;;
    --target-file-size) need_arg "$@"; TARGET_FILE_ARG=$2; shift ;;
    --level-base) need_arg "$@"; LEVEL_BASE_ARG=$2; shift ;;
    --dynamic-level-bytes) need_arg "$@"; DYNAMIC_LEVEL_BYTES=$2; shift ;;
    --seed) need_arg "$@"; SEED=$2; shift ;;
    --engines) need_arg "$@"; ENGINES=${2//,/ }; shift ;;
    --engine-bench) need_arg "$@"; ENGINE_BENCH=$2; shift ;;
    --db-bench) need_arg "$@"; DB_BENCH=$2; shift ;;
    --no-install) INSTALL=0 ;;
    --data-dir) need_arg "$@"; DATA_PARENT=$2; shift ;;
    --out) need_arg "$@"; OUT=$2; shift ;;
    --bench-timeout) need_arg "$@"; BENCH_TIMEOUT=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

if [ "$QUICK" -eq 1 ]; then
    NUM=${NUM:-200000}
    READS=${READS:-100000}
    SEEKS=${SEEKS:-10000}
    # 23 MB per write phase: small memtables, files and levels make both engines flush several
    # times and compact, so the quick run checks that path of the script too.
    WRITE_BUFFER_ARG=${WRITE_BUFFER_ARG:-4M}
    TARGET_FILE_ARG=${TARGET_FILE_ARG:-4M}
    LEVEL_BASE_ARG=${LEVEL_BASE_ARG:-16M}
else
    NUM=${NUM:-5000000}
    READS=${READS:-1000000}
    SEEKS=${SEEKS:-100000}
    WRITE_BUFFER_ARG=${WRITE_BUFFER_ARG:-64M}
    TARGET_FILE_ARG=${TARGET_FILE_ARG:-64M}
    LEVEL_BASE_ARG=${LEVEL_BASE_ARG:-256M}
fi
is_uint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_uint "$NUM" || die "--num: expected a positive integer, got '$NUM'"
is_uint "$READS" || die "--reads: expected a positive integer, got '$READS'"
is_uint "$SEEKS" || die "--seeks: expected a positive integer, got '$SEEKS'"
[[ $SEEK_NEXTS =~ ^[0-9]+$ ]] || die "--seek-nexts: expected a number, got '$SEEK_NEXTS'"
[[ $SEED =~ ^[0-9]+$ ]] || die "--seed: expected a number, got '$SEED'"
is_uint "$BENCH_TIMEOUT" || die "--bench-timeout: expected a positive integer, got '$BENCH_TIMEOUT'"
case "$COMPRESSION" in none | lz4 | zstd) ;; *) die "--compression: expected none, lz4 or zstd, got '$COMPRESSION'" ;; esac
CACHE_BYTES=$(to_bytes "$CACHE_ARG")
SMALL_CACHE_BYTES=$(to_bytes "$SMALL_CACHE_ARG")
WRITE_BUFFER_BYTES=$(to_bytes "$WRITE_BUFFER_ARG")
[ -n "$CACHE_BYTES" ] || die "--cache-size: expected bytes (e.g. 536870912 or 512M), got '$CACHE_ARG'"
[ -n "$SMALL_CACHE_BYTES" ] || die "--small-cache: expected bytes (e.g. 8M), got '$SMALL_CACHE_ARG'"
[[ $WRITE_BUFFER_BYTES =~ ^[1-9] ]] || die "--write-buffer: expected bytes (e.g. 64M), got '$WRITE_BUFFER_ARG'"
TARGET_FILE_BYTES=$(to_bytes "$TARGET_FILE_ARG")
LEVEL_BASE_BYTES=$(to_bytes "$LEVEL_BASE_ARG")
[[ $TARGET_FILE_BYTES =~ ^[1-9] ]] || die "--target-file-size: expected bytes (e.g. 64M), got '$TARGET_FILE_ARG'"
[[ $LEVEL_BASE_BYTES =~ ^[1-9] ]] || die "--level-base: expected bytes (e.g. 256M), got '$LEVEL_BASE_ARG'"
case "$DYNAMIC_LEVEL_BYTES" in 0 | 1) ;; *) die "--dynamic-level-bytes: expected 0 or 1, got '$DYNAMIC_LEVEL_BYTES'" ;; esac
# RocksDB's default for max_compaction_bytes (0) is 25 x target_file_size_base, as is Strata's.
MAX_COMPACTION_BYTES=$((25 * TARGET_FILE_BYTES))
COMPACTION_DESC="leveled compaction, $COMPACTION_THREADS compaction + 1 flush thread; L0 trigger $L0_TRIGGER, slowdown $L0_SLOWDOWN, stop $L0_STOP;\
 dynamic level bytes $DYNAMIC_LEVEL_BYTES, level base $((LEVEL_BASE_BYTES >> 20)) MiB x $LEVEL_MULTIPLIER, $NUM_LEVELS levels;\
 target files $((TARGET_FILE_BYTES >> 20)) MiB; max compaction $((MAX_COMPACTION_BYTES >> 20)) MiB;\
 pending compaction limits $((SOFT_PENDING_BYTES >> 30))/$((HARD_PENDING_BYTES >> 30)) GiB; $COMPRESSION on every level"
[ -n "${ENGINES// /}" ] || die "--engines is empty"
for e in $ENGINES; do
    case "$e" in rocksdb | strata) ;; *) die "--engines: '$e' is not rocksdb or strata" ;; esac
done
# Every key number below --num must fit in engine_bench's 16 decimal digits.
[ "${#NUM}" -le "$KEY_BYTES" ] || die "--num $NUM needs more than $KEY_BYTES key digits"

# ---- prerequisites ------------------------------------------------------------------------------

want() { case " $ENGINES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

command -v python3 >/dev/null 2>&1 || die "python3 not found (it measures each phase's disk writes): apt-get install -y python3"

if want strata; then
    [ -x "$ENGINE_BENCH" ] || die "$ENGINE_BENCH is missing or not executable; build it first:" \
        "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 --target strata-engine-bench"
    # A benchmark of a Debug or sanitizer build says nothing; say so loudly (and carry on).
    cache=$(dirname "$ENGINE_BENCH")/CMakeCache.txt
    if [ -f "$cache" ]; then
        btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
        sanitize=$(sed -n 's/^STRATA_SANITIZE:[A-Z]*=//p' "$cache")
        [ "$btype" = Release ] || say "WARNING: $ENGINE_BENCH is a '${btype:-unset}' build, not Release"
        case "$sanitize" in ON | on | 1 | TRUE | true) say "WARNING: $ENGINE_BENCH is built with sanitizers" ;; esac
    fi
fi

[ -n "$OUT" ] || OUT=$ROOT/bench/out/rocksdb_compare-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/raw" "$OUT/logs" || die "cannot create output directory $OUT"

if want rocksdb; then
    if [ -z "$DB_BENCH" ]; then
        DB_BENCH=$(command -v db_bench || command -v rocksdb_db_bench || true)
    fi
    if [ -z "$DB_BENCH" ]; then
        say "db_bench not found (it comes with the Debian package rocksdb-tools)"
        if [ "$INSTALL" -eq 1 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
            say "installing rocksdb-tools (apt-get install -y rocksdb-tools; log in $OUT/logs/apt-get.log)"
            if ! DEBIAN_FRONTEND=noninteractive apt-get install -y rocksdb-tools >"$OUT/logs/apt-get.log" 2>&1; then
                say "apt-get install failed; running apt-get update and trying again"
                { DEBIAN_FRONTEND=noninteractive apt-get update &&
                    DEBIAN_FRONTEND=noninteractive apt-get install -y rocksdb-tools; } >>"$OUT/logs/apt-get.log" 2>&1 ||
                    die "could not install rocksdb-tools; see $OUT/logs/apt-get.log"
            fi
            DB_BENCH=$(command -v db_bench || command -v rocksdb_db_bench || true)
            [ -n "$DB_BENCH" ] || die "rocksdb-tools installed but no db_bench on PATH (dpkg -L rocksdb-tools)"
        else
            die "install it as root: apt-get install -y rocksdb-tools (or pass --db-bench PATH)"
        fi
    fi
    [ -x "$DB_BENCH" ] || die "$DB_BENCH is missing or not executable"
fi

mkdir -p "$DATA_PARENT" || die "cannot create --data-dir $DATA_PARENT"
fstype=$(findmnt -n -o FSTYPE -T "$DATA_PARENT" 2>/dev/null || stat -f -c %T "$DATA_PARENT" 2>/dev/null || echo unknown)
case "$fstype" in
tmpfs | ramfs) say "WARNING: $DATA_PARENT is on $fstype: nothing reaches a disk, so the cold phase and write amp say little; use --data-dir" ;;
esac

# One database at a time, but both engines hold a compaction's inputs and outputs at once, and
# overwrite's new tables sit next to fillrandom's until they are merged: ask for twice the raw
# size.
USER_BYTES_PER_FILL=$((NUM * (KEY_BYTES + VALUE_BYTES)))
need_bytes=$((2 * USER_BYTES_PER_FILL))
avail_bytes=$(($(df -Pk "$DATA_PARENT" | awk 'NR == 2 { print $4 }') * 1024))
[ "$avail_bytes" -ge "$need_bytes" ] ||
    die "$DATA_PARENT has $((avail_bytes >> 20)) MiB free; --num $NUM needs $((need_bytes >> 20)) MiB (2 x raw size)"

WORK=$(mktemp -d "$DATA_PARENT/strata-rocksdb-compare.XXXXXX") || die "mktemp -d in $DATA_PARENT failed"

# ---- running one phase under wait4() ------------------------------------------------------------

# measure.py TIMEOUT STDOUT STDERR RESULT CMD...: runs CMD with its output in the two files, waits
# for it with os.wait4() and writes its status, wall time and rusage (the child's and its reaped
# descendants') to RESULT as key=value lines. SIGINT/SIGTERM are passed on to CMD as SIGTERM; after
# TIMEOUT seconds CMD gets SIGTERM, then SIGKILL 10 s later (status 124).
cat >"$WORK/measure.py" <<'PY'
import os, signal, subprocess, sys, time

timeout, out_path, err_path, res_path, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
with open(out_path, "wb") as out, open(err_path, "wb") as err:
    t0 = time.monotonic()
    child = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
state = {"timed_out": False}

def on_alarm(sig, frame):
    if state["timed_out"]:
        os.kill(child.pid, signal.SIGKILL)
        return
    state["timed_out"] = True
    os.kill(child.pid, signal.SIGTERM)
    signal.alarm(10)

def on_stop(sig, frame):
    os.kill(child.pid, signal.SIGTERM)

signal.signal(signal.SIGALRM, on_alarm)
signal.signal(signal.SIGINT, on_stop)
signal.signal(signal.SIGTERM, on_stop)
signal.alarm(timeout)
_, status, ru = os.wait4(child.pid, 0)
signal.alarm(0)
child.returncode = 0  # reaped here; keep Popen from waiting again
wall = time.monotonic() - t0
if state["timed_out"]:
    rc = 124
elif os.WIFSIGNALED(status):
    rc = 128 + os.WTERMSIG(status)
else:
    rc = os.WEXITSTATUS(status)
with open(res_path, "w") as f:
    f.write("status=%d\nwall_s=%.3f\nuser_s=%.3f\nsys_s=%.3f\n" % (rc, wall, ru.ru_utime, ru.ru_stime))
    f.write("write_bytes=%d\nread_bytes=%d\nmaxrss_kb=%d\n" % (ru.ru_oublock * 512, ru.ru_inblock * 512, ru.ru_maxrss))
sys.exit(rc)
PY

MEASURE_PID=""   # the wrapper running now, if any

cleanup() {
    local rc=$?
    if [ -n "$MEASURE_PID" ]; then
        kill -TERM "$MEASURE_PID" 2>/dev/null || true
        wait "$MEASURE_PID" 2>/dev/null || true
        MEASURE_PID=""
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

show_log() {
    say "---- $1 (last 30 lines) ----"
    tail -n 30 "$1" | tr '\r' '\n' | tail -n 30 >&2 || true
    say "---- end of $1 ----"
}

# kv FILE KEY: the value of KEY=... in FILE.
kv() { sed -n "s/^$2=//p" "$1" | head -1; }

# ops_of FILE BENCH: ops/sec on BENCH's db_bench-shaped result line ("name : ... N ops/sec ...").
ops_of() {
    awk -v b="$2" '$1 == b && $2 == ":" {
        for (i = 3; i <= NF; i++) if ($i ~ /^ops\/sec/) { print $(i - 1); exit }
    }' "$1"
}

# found_of FILE BENCH: "F of R" from "(F of R found)" on BENCH's result line, or empty.
found_of() {
    awk -v b="$2" '$1 == b && $2 == ":" && match($0, /\([0-9]+ of [0-9]+ found\)/) {
        s = substr($0, RSTART + 1, RLENGTH - 8); print s; exit
    }' "$1"
}

# ticker FILE NAME: a RocksDB statistics counter ("rocksdb.wal.bytes COUNT : 123").
ticker() { awk -v t="$2" '$1 == t && $2 == "COUNT" { print $4; exit }' "$1"; }

# total_of FILE NAME: NAME=N from engine_bench's "totals: key=value ..." line.
total_of() {
    awk -v k="$2" '$1 == "totals:" { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' "$1"
}

# The phases, in order: id, the benchmark name on the result line, write phase or not.
PHASES="fillseq fillrandom overwrite readrandom_hot readrandom_cold seekrandom"
bench_of() { case "$1" in readrandom_*) echo readrandom ;; *) echo "$1" ;; esac; }
is_write() { case "$1" in fillseq | fillrandom | overwrite) return 0 ;; *) return 1 ;; esac; }
label_of() {
    case "$1" in
    readrandom_hot) echo "readrandom (hot, $((CACHE_BYTES >> 20)) MiB cache)" ;;
    readrandom_cold) echo "readrandom (cold, $((SMALL_CACHE_BYTES >> 20)) MiB cache)" ;;
    seekrandom) echo "seekrandom ($SEEK_NEXTS nexts)" ;;
    *) echo "$1" ;;
    esac
}

DROPPED_CACHE=""   # what happened to the page cache before the cold phase, for the report

drop_page_cache() {
    sync
    if (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
        DROPPED_CACHE="dropped (sync; echo 3 > /proc/sys/vm/drop_caches)"
    else
        DROPPED_CACHE="NOT dropped (needs root): the cold phase read from the page cache"
        say "WARNING: could not drop the page cache (needs root); the cold readrandom reads from memory"
    fi
}

# Settings common to every db_bench run, compaction included, so no db_bench default decides
# anything the Strata side does not match. Memory: Strata keeps each open table's index and filter
# in the table reader and reserves their bytes in the block cache; RocksDB does the same with
# --cache_index_and_filter_blocks=0 --charge_table_reader=1. One codec on every level
# (--min_level_to_compress=-1; this db_bench has no --bottommost_compression).
rocksdb_args() {
    local seed=$1 cache=$2
    local a=(--num="$NUM" --key_size="$KEY_BYTES" --value_size="$VALUE_BYTES"
        --compression_type="$COMPRESSION" --min_level_to_compress=-1 --compression_ratio="$COMPRESSION_RATIO"
        --write_buffer_size="$WRITE_BUFFER_BYTES" --max_write_buffer_number=$((MAX_IMMUTABLE + 1))
        --block_size="$BLOCK_BYTES" --bloom_bits="$BLOOM_BITS" --cache_size="$cache"
        --cache_index_and_filter_blocks=0 --charge_table_reader=1
        --compaction_style=0 --num_levels="$NUM_LEVELS"
        --level0_file_num_compaction_trigger="$L0_TRIGGER" --level0_slowdown_writes_trigger="$L0_SLOWDOWN"
        --level0_stop_writes_trigger="$L0_STOP" --max_bytes_for_level_base="$LEVEL_BASE_BYTES"
        --max_bytes_for_level_multiplier="$LEVEL_MULTIPLIER"
        --level_compaction_dynamic_level_bytes="$([ "$DYNAMIC_LEVEL_BYTES" = 1 ] && echo true || echo false)"
        --target_file_size_base="$TARGET_FILE_BYTES" --target_file_size_multiplier=1
        --max_compaction_bytes="$MAX_COMPACTION_BYTES"
        --soft_pending_compaction_bytes_limit="$SOFT_PENDING_BYTES"
        --hard_pending_compaction_bytes_limit="$HARD_PENDING_BYTES"
        --max_background_jobs=$((COMPACTION_THREADS + 1)) --max_background_compactions="$COMPACTION_THREADS"
        --max_background_flushes=1 --subcompactions=1 --sync=0 --disable_wal=0 --threads=1 --seed="$seed"
        --statistics=1 --stats_level=1 --histogram=0)
    [ "$COMPRESSION" != zstd ] || a+=(--compression_level="$ZSTD_LEVEL")
    printf '%s\n' "${a[@]}"
}

# The same settings for engine_bench: --compression without --bottommost-compression puts that one
# codec on every level.
strata_args() {
    local seed=$1 cache=$2
    printf '%s\n' --num "$NUM" --key-size "$KEY_BYTES" --value-size "$VALUE_BYTES" \
        --compression "$COMPRESSION" --zstd-level "$ZSTD_LEVEL" \
        --write-buffer-size "$WRITE_BUFFER_BYTES" --max-immutable "$MAX_IMMUTABLE" \
        --block-size "$BLOCK_BYTES" --bloom-bits "$BLOOM_BITS" --cache-size "$cache" \
        --level0-file-num-compaction-trigger "$L0_TRIGGER" --level0-slowdown-writes-trigger "$L0_SLOWDOWN" \
        --level0-stop-writes-trigger "$L0_STOP" --max-bytes-for-level-base "$LEVEL_BASE_BYTES" \
        --max-bytes-for-level-multiplier "$LEVEL_MULTIPLIER" \
        --level-compaction-dynamic-level-bytes "$DYNAMIC_LEVEL_BYTES" \
        --target-file-size-base "$TARGET_FILE_BYTES" --max-compaction-bytes "$MAX_COMPACTION_BYTES" \
        --soft-pending-compaction-bytes-limit "$SOFT_PENDING_BYTES" \
        --hard-pending-compaction-bytes-limit "$HARD_PENDING_BYTES" \
        --max-background-compactions "$COMPACTION_THREADS" \
        --sync no --batch 1 --seed "$seed"
}

PHASES_CSV=$OUT/phases.csv
echo "engine,phase,ops_per_s,found,user_bytes,device_write_bytes,device_read_bytes,engine_write_bytes,wall_s,user_cpu_s,sys_cpu_s,max_rss_kb" >"$PHASES_CSV"
ROCKSDB_ASSERTS=0

# run_phase ENGINE PHASE INDEX: one phase as one process, measured; appends a row to phases.csv.
run_phase() {
    local engine=$1 phase=$2 idx=$3 db tag bench seed cache reads cmd=() rc ops found user_bytes
    local ewrite=0 wal flush comp opt
    db=$WORK/$engine
    tag=$engine-$phase
    bench=$(bench_of "$phase")
    seed=$((SEED + idx))
    cache=$CACHE_BYTES
    reads=$READS
    [ "$phase" != readrandom_cold ] || cache=$SMALL_CACHE_BYTES
    [ "$phase" != seekrandom ] || reads=$SEEKS
    case "$phase" in fillseq | fillrandom) rm -rf "$db" ;; esac

    case "$engine" in
    rocksdb)
        mapfile -t cmd < <(rocksdb_args "$seed" "$cache")
        cmd=("$DB_BENCH" --db="$db" "${cmd[@]}")
        case "$phase" in
        fillseq | fillrandom) cmd+=(--use_existing_db=0 --benchmarks="$bench,flush,waitforcompaction,stats") ;;
        overwrite) cmd+=(--use_existing_db=1 --benchmarks="$bench,flush,waitforcompaction,stats") ;;
        *) cmd+=(--use_existing_db=1 --reads="$reads" --seek_nexts="$SEEK_NEXTS" --benchmarks="$bench,stats") ;;
        esac
        ;;
    strata)
        mapfile -t cmd < <(strata_args "$seed" "$cache")
        cmd=("$ENGINE_BENCH" --db "$db" "${cmd[@]}")
        case "$phase" in
        fillseq | fillrandom) cmd+=(--keep --benchmarks "$bench,flush,waitforcompaction") ;;
        overwrite) cmd+=(--use-existing-db --benchmarks "$bench,flush,waitforcompaction") ;;
        *) cmd+=(--use-existing-db --reads "$reads" --seek-nexts "$SEEK_NEXTS" --benchmarks "$bench") ;;
        esac
        ;;
    esac

    # Dirty pages of the previous phase are written back now, not during this one.
    if [ "$phase" = readrandom_cold ]; then drop_page_cache; else sync; fi
    printf '%q ' "${cmd[@]}" >"$OUT/logs/$tag.cmd"
    echo >>"$OUT/logs/$tag.cmd"
    say "$tag: running (seed $seed, cache $((cache >> 20)) MiB)"
    rc=0
    python3 "$WORK/measure.py" "$BENCH_TIMEOUT" "$OUT/raw/$tag.out" "$OUT/logs/$tag.stderr" \
        "$OUT/logs/$tag.rusage" "${cmd[@]}" &
    MEASURE_PID=$!
    wait "$MEASURE_PID" || rc=$?
    MEASURE_PID=""
    [ "$rc" -ne 124 ] || say "$tag: hit --bench-timeout ${BENCH_TIMEOUT}s"
    if [ "$rc" -ne 0 ]; then
        show_log "$OUT/logs/$tag.stderr"
        show_log "$OUT/raw/$tag.out"
        die "$tag: exited with status $rc (command in $OUT/logs/$tag.cmd)"
    fi
    ops=$(ops_of "$OUT/raw/$tag.out" "$bench")
    [ -n "$ops" ] || die "$tag: no '$bench : ... ops/sec' line in $OUT/raw/$tag.out"
    found=$(found_of "$OUT/raw/$tag.out" "$bench")

    if [ "$engine" = rocksdb ]; then
        if grep -q 'Assertions are enabled' "$OUT/raw/$tag.out"; then ROCKSDB_ASSERTS=1; fi
        wal=$(ticker "$OUT/raw/$tag.out" rocksdb.wal.bytes)
        flush=$(ticker "$OUT/raw/$tag.out" rocksdb.flush.write.bytes)
        comp=$(ticker "$OUT/raw/$tag.out" rocksdb.compact.write.bytes)
        ewrite=$((${wal:-0} + ${flush:-0} + ${comp:-0}))
        [ ! -f "$db/LOG" ] || cp "$db/LOG" "$OUT/logs/$tag.LOG"
        if [ "$phase" = overwrite ]; then
            # shellcheck disable=SC2012 # names are RocksDB's OPTIONS-NNNNNN
            opt=$(ls -1 "$db"/OPTIONS-* 2>/dev/null | tail -1)
            [ -z "$opt" ] || cp "$opt" "$OUT/logs/rocksdb-OPTIONS"
        fi
    else
        wal=$(total_of "$OUT/raw/$tag.out" wal_bytes)
        flush=$(total_of "$OUT/raw/$tag.out" flush_bytes)
        comp=$(total_of "$OUT/raw/$tag.out" compaction_bytes_written)
        if [ -z "$wal" ] || [ -z "$flush" ] || [ -z "$comp" ]; then
            die "$tag: no 'totals: wal_bytes=... flush_bytes=... compaction_bytes_written=...' line in $OUT/raw/$tag.out"
        fi
        ewrite=$((wal + flush + comp))
    fi

    user_bytes=0
    if is_write "$phase"; then user_bytes=$USER_BYTES_PER_FILL; fi
    local r=$OUT/logs/$tag.rusage wb rb
    wb=$(kv "$r" write_bytes)
    rb=$(kv "$r" read_bytes)
    echo "$engine,$phase,$ops,${found:-},$user_bytes,$wb,$rb,$ewrite,$(kv "$r" wall_s),$(kv "$r" user_s),$(kv "$r" sys_s),$(kv "$r" maxrss_kb)" >>"$PHASES_CSV"
    say "$tag: $ops ops/s${found:+ ($found found)}; disk written $((wb >> 20)) MiB, read $((rb >> 20)) MiB; $(kv "$r" wall_s) s"
}

# ---- main ---------------------------------------------------------------------------------------

strata_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -1)" ]; then strata_rev="$strata_rev+dirty"; fi
rocksdb_version=n/a
if want rocksdb; then
    rocksdb_version=$("$DB_BENCH" --version 2>/dev/null | sed -n 's/.*version //p' | head -1)
    rocksdb_version=${rocksdb_version:-unknown}
fi
say "output in $OUT"
say "db_bench $rocksdb_version ($DB_BENCH), strata $strata_rev ($ENGINE_BENCH), $(nproc) CPUs, data dir $DATA_PARENT ($fstype)"
say "num $NUM, reads $READS, seeks $SEEKS x $SEEK_NEXTS nexts; key $KEY_BYTES B, value $VALUE_BYTES B (ratio $COMPRESSION_RATIO);" \
    "$COMPRESSION; write buffer $((WRITE_BUFFER_BYTES >> 20)) MiB (+$MAX_IMMUTABLE immutable); block $BLOCK_BYTES B;" \
    "bloom $BLOOM_BITS bits/key; cache $((CACHE_BYTES >> 20)) MiB hot, $((SMALL_CACHE_BYTES >> 20)) MiB cold; WAL on, no fsync per write"
say "both: $COMPACTION_DESC"
say "engines in order: $ENGINES; phases: $PHASES"

for engine in $ENGINES; do
    idx=0
    for phase in $PHASES; do
        idx=$((idx + 1))
        run_phase "$engine" "$phase" "$idx"
    done
    rm -rf "${WORK:?}/$engine"
done
if [ "$ROCKSDB_ASSERTS" -eq 1 ]; then
    say "WARNING: this db_bench was built with assertions enabled (it says so): RocksDB runs slower than a release build"
fi

# ---- report -------------------------------------------------------------------------------------

# col ENGINE PHASE COLUMN: a value from phases.csv (empty if that engine did not run).
col() {
    awk -F, -v e="$1" -v p="$2" -v c="$3" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
        $1 == e && $2 == p { print $k; exit }' "$PHASES_CSV"
}
# sum ENGINE COLUMN: the column summed over that engine's phases (empty if it did not run).
sum() {
    awk -F, -v e="$1" -v c="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
        $1 == e { s += $k; n++ } END { if (n) printf "%.0f", s }' "$PHASES_CSV"
}
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (a != "" && b != "" && b > 0) printf f, a / b; else print "n/a" }'; }

CSV=$OUT/results.csv
MD=$OUT/results.md
echo "kind,workload,strata,rocksdb,ratio_strata_over_rocksdb" >"$CSV"
for phase in $PHASES; do
    s=$(col strata "$phase" ops_per_s)
    r=$(col rocksdb "$phase" ops_per_s)
    echo "ops_per_s,$phase,${s:-n/a},${r:-n/a},$(div "$s" "$r")" >>"$CSV"
done
wa() { div "$(sum "$1" "$2")" "$(sum "$1" user_bytes)" "%.3f"; }
for m in device engine; do
    c=device_write_bytes
    [ "$m" = device ] || c=engine_write_bytes
    s=$(wa strata "$c")
    r=$(wa rocksdb "$c")
    [ "$s" != n/a ] || s=""
    [ "$r" != n/a ] || r=""
    echo "write_amp,$m,${s:-n/a},${r:-n/a},$(div "$s" "$r")" >>"$CSV"
done

print_table() {
    awk -F, -v cache_mb=$((CACHE_BYTES >> 20)) -v small_mb=$((SMALL_CACHE_BYTES >> 20)) -v nexts="$SEEK_NEXTS" -v md="$1" '
        function label(p) {
            if (p == "readrandom_hot") return "readrandom (hot, " cache_mb " MiB cache)"
            if (p == "readrandom_cold") return "readrandom (cold, " small_mb " MiB cache)"
            if (p == "seekrandom") return "seekrandom (" nexts " nexts)"
            return p
        }
        function num(v, f) { return v == "n/a" ? v : sprintf(f, v) }
        NR == 1 { next }
        $1 == "ops_per_s" {
            if (!h1++) {
                if (md) { print "| workload | strata ops/s | rocksdb ops/s | strata/rocksdb |"; print "|---|---:|---:|---:|" }
                else printf "%-32s %14s %14s %15s\n", "workload", "strata ops/s", "rocksdb ops/s", "strata/rocksdb"
            }
            if (md) printf "| %s | %s | %s | %s |\n", label($2), num($3, "%.0f"), num($4, "%.0f"), $5
            else printf "%-32s %14s %14s %15s\n", label($2), num($3, "%.0f"), num($4, "%.0f"), $5
        }
        $1 == "write_amp" {
            if (!h2++) {
                if (md) { print ""; print "| write amp (bytes written / user bytes) | strata | rocksdb | strata/rocksdb |"; print "|---|---:|---:|---:|" }
                else { print ""; printf "%-32s %14s %14s %15s\n", "write amp (written / user bytes)", "strata", "rocksdb", "strata/rocksdb" }
            }
            l = $2 == "device" ? "device (ru_oublock, all phases)" : "engine counters"
            if (md) printf "| %s | %s | %s | %s |\n", l, num($3, "%.2f"), num($4, "%.2f"), $5
            else printf "%-32s %14s %14s %15s\n", l, num($3, "%.2f"), num($4, "%.2f"), $5
        }' "$CSV"
}

{
    echo "# rocksdb_compare: Strata's engine vs RocksDB db_bench"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); host: $(nproc) CPUs; data dir: $DATA_PARENT ($fstype)"
    echo "- RocksDB: db_bench $rocksdb_version ($DB_BENCH)$([ "$ROCKSDB_ASSERTS" -eq 1 ] && echo ', **built with assertions enabled** (db_bench warns): slower than a release build')"
    echo "- Strata: $strata_rev ($ENGINE_BENCH)"
    echo "- same settings on both: num $NUM; key $KEY_BYTES B, value $VALUE_BYTES B compressible to $COMPRESSION_RATIO;" \
        "compression $COMPRESSION$([ "$COMPRESSION" = zstd ] && echo " level $ZSTD_LEVEL"); write buffer $WRITE_BUFFER_BYTES B, up to $MAX_IMMUTABLE more full" \
        "memtables (RocksDB max_write_buffer_number $((MAX_IMMUTABLE + 1))); block $BLOCK_BYTES B; bloom $BLOOM_BITS bits/key;" \
        "block cache $CACHE_BYTES B ($SMALL_CACHE_BYTES B for the cold readrandom), with the open tables' indexes and filters" \
        "held by the table readers and charged to it (RocksDB --cache_index_and_filter_blocks=0 --charge_table_reader=1);" \
        "WAL on, no fsync per write (db_bench --sync=0, engine_bench --sync no); one writer thread;" \
        "$COMPACTION_DESC"
    echo "- reads: $READS per readrandom; seekrandom: $SEEKS seeks x $SEEK_NEXTS nexts; phase i seeded $SEED+i in both"
    echo "- each phase is one process; fillseq and fillrandom start empty; write phases end with an untimed flush" \
        "and waitforcompaction in both; \`sync\` before each phase; page cache before the cold readrandom: ${DROPPED_CACHE:-n/a}"
    echo "- write amp = bytes the phase processes wrote to the block device (rusage ru_oublock x 512, all phases) /" \
        "user bytes ($NUM x $((KEY_BYTES + VALUE_BYTES)) B per write phase); engine counters: RocksDB wal + flush + compaction" \
        "bytes (statistics), Strata wal + flush + compaction bytes (st_stats)"
    echo "- issue targets (for the reader; the script judges nothing): every ops ratio >= 0.7; write amp ratio <= 1.3"
    echo
    print_table 1
    echo
    echo "Per phase (MiB written / read on the device, engine's own bytes written, wall seconds):"
    echo
    echo "| engine | phase | ops/s | found | written MiB | read MiB | engine written MiB | write amp | wall s |"
    echo "|---|---|---:|---|---:|---:|---:|---:|---:|"
    awk -F, 'NR > 1 {
        wa = $5 > 0 ? sprintf("%.2f", $6 / $5) : ""
        printf "| %s | %s | %.0f | %s | %.1f | %.1f | %.1f | %s | %s |\n", $1, $2, $3, $4, $6 / 1048576, $7 / 1048576, $8 / 1048576, wa, $9
    }' "$PHASES_CSV"
} >"$MD"

print_table 0
say "wrote $CSV, $MD and $PHASES_CSV"
