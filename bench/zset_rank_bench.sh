#!/usr/bin/env bash
# zset_rank_bench.sh -- sorted-set rank operations cost O(log n + k), not O(n): their server time
# at growing set sizes, on Strata and on Redis in the same run.
#
# Strata keeps a counted rank index for sorted sets of more than 2 * ZRANK_LEAF = 256 members
# (net/zrank.h). With it, ZRANK, ZREVRANK, ZRANGE/ZREVRANGE at a deep rank, a long LIMIT offset and
# ZCOUNT read O(log n) entries; without it they would walk O(rank) entries. This prints how the time of
# each operation grows with the set's size: from 10k to 1M members O(log n) grows a little, O(n)
# about 100x.
#
# For each size N (--sizes, default 10000,100000,1000000) and each server (--server), on a fresh
# server with an empty data directory:
#
# 1. Load one sorted set `zset` of N members m0..m(N-1), each with a random double score in [0, 1)
#    (the same seed for every server, so both hold the same set): ZADD with 100 members per
#    command, written once per size as raw RESP by bench/zset_rank_load.py and sent with
#    `redis-cli --pipe` (the fastest loader here: no client-side round trips). ZCARD must then be N.
#    On Strata, COMPACT follows (unless --no-compact), so that no flush or compaction of the load
#    runs during the timing on a 2-core machine.
# 2. Time, for each operation, --warmup (100) untimed then --ops (2000) timed commands at random
#    positions (one seeded sequence, the same on both servers), one command per round trip:
#      zrank          ZRANK zset m<random i>
#      zrevrank       ZREVRANK zset m<random i>
#      zrange         ZRANGE zset s s+9 (s random rank; k = 10)
#      zrevrange      ZREVRANGE zset s s+9
#      zrangebyscore  ZRANGEBYSCORE zset -inf +inf LIMIT s 10
#      zcount         ZCOUNT zset a b (two random scores)
#      zadd_new       ZADD zset <random score> new:<j> (a new member), then
#      zrem           ZREM zset new:<j> (the write cost of keeping the index; the size stays N)
#    An operation kind that takes longer than --budget (60) seconds at one size stops early; the
#    notes under the table say how many of its commands were timed. (Seen: Redis 7.0.15's
#    ZRANGEBYSCORE ... LIMIT s 10 steps over the s skipped members one by one, about 130 ms a
#    command at 1M members, so it stops after a few hundred.)
#
# The method: SERVER time from SLOWLOG. The script turns on slowlog-log-slower-than 0 (every
# command logged, after the load) and the client reads and resets the slow log every --chunk
# commands, keeping the duration of each timed command's entry. Both servers measure that duration
# around the command's execution alone, excluding the network, the parsing and the reply's write,
# which a Python client's round trip (about 50-100 us here) would otherwise add to every figure and
# hide the difference between 5 us and 50 us. The durations have 1 us resolution, so Redis's
# figures for its fastest commands (1-3 us) are coarse, and their ratios too. The client's
# round-trip times are recorded as well (results.csv, client_* columns) for reference.
#
# Output: the table on stdout: per operation and size, Strata's median and p99 us, Redis's median
# and p99 us, strata/redis (medians), and growth: the median at this size / the median at the
# smallest size, for each server (O(log n) grows slowly; O(n) 100x from 10k to 1M). Progress on
# stderr. In the output directory: results.md, results.csv, raw/ (each step's JSON, with every
# duration) and logs/ (servers and clients).
#
# Noise: the 2-core VM this was written on varies by +-25% from run to run (more when other work
# runs); read growths and ratios within a factor of 1.5 as equal. The table says so.
#
# The exit status says whether every run completed (a failed run is reported and the others go
# on; the status is then 1), never whether the figures look like O(log n): benchmarks print,
# tests assert.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=zset_rank_bench
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$ROOT/bench/lib.sh"

usage() {
    cat <<EOF
usage: bench/zset_rank_bench.sh [options]
  --sizes LIST       set sizes, comma or space separated (default 10000,100000,1000000)
  --quick            smoke run: --sizes 10000,100000 --ops 500 (unless given)
  --ops N            timed operations of each kind per size (default 2000)
  --warmup N         untimed operations of each kind first (default 100)
  --chunk N          operations between two reads of the slow log (default 100)
  --budget S         seconds one operation kind may take at one size before it stops early
                     (default 60; the table's notes say which stopped and after how many)
  --per-cmd N        members per ZADD while loading (default 100)
  --seed N           seed of the scores and of the positions (default 1)
  --no-compact       do not COMPACT Strata after the load
  --server WHICH     strata, redis or both (default both); they run one after the other
  --strata PATH      strata-server binary (default build/strata-server; env STRATA_SERVER)
  --strata-arg ARG   extra argument for strata-server, repeatable
  --data-dir DIR     where the servers' temporary data directories go (default \$TMPDIR or /tmp)
  --out DIR          output directory (default bench/out/zset_rank-<timestamp>)
  --timeout S        limit for one step (generating, loading, COMPACT, measuring), seconds
                     (default 1800)
  --keep-data        keep the data directories (and say where they are)
  -h, --help         this text
Needs redis-cli (Debian package redis-tools), /usr/bin/python3 with redis-py (python3-redis),
and for --server redis or both, redis-server.
EOF
}

# ---- options ------------------------------------------------------------------------------------

SIZES=""
OPS=""
QUICK=0
WARMUP=100
CHUNK=100
BUDGET=60
PER_CMD=100
SEED=1
COMPACT=1
SERVERS=both
server_option_defaults
CLIENT=$ROOT/bench/zset_rank_load.py

while [ "$#" -gt 0 ]; do
    case "$1" in
    --sizes) need_arg "$@"; SIZES=${2//,/ }; shift ;;
    --quick) QUICK=1 ;;
    --ops) need_arg "$@"; OPS=$2; shift ;;
    --warmup) need_arg "$@"; WARMUP=$2; shift ;;
    --chunk) need_arg "$@"; CHUNK=$2; shift ;;
    --budget) need_arg "$@"; BUDGET=$2; shift ;;
    --per-cmd) need_arg "$@"; PER_CMD=$2; shift ;;
    --seed) need_arg "$@"; SEED=$2; shift ;;
    --no-compact) COMPACT=0 ;;
    -h | --help) usage; exit 0 ;;
    *)
        server_option "$@"
        [ "$OPT_TAKEN" -gt 0 ] || { usage >&2; die "unknown option '$1'"; }
        shift $((OPT_TAKEN - 1)) ;;
    esac
    shift
done

if [ -z "$SIZES" ]; then
    if [ "$QUICK" -eq 1 ]; then SIZES="10000 100000"; else SIZES="10000 100000 1000000"; fi
fi
if [ -z "$OPS" ]; then
    if [ "$QUICK" -eq 1 ]; then OPS=500; else OPS=2000; fi
fi
is_uint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
for s in $SIZES; do
    is_uint "$s" || die "--sizes: expected positive integers, got '$s'"
    [ "$s" -ge 10 ] || die "--sizes: $s is too small (ZRANGE s s+9 needs at least 10 members)"
done
[ -n "$SIZES" ] || die "--sizes: empty"
# Ascending and unique: growth is relative to the smallest size.
# shellcheck disable=SC2086 # a list of numbers
SIZES=$(printf '%s\n' $SIZES | sort -n -u | tr '\n' ' ')
SIZES=${SIZES% }
for v in OPS CHUNK BUDGET PER_CMD SEED TIMEOUT; do
    is_uint "${!v}" || die "$(echo "$v" | tr 'A-Z_' 'a-z-'): expected a positive integer, got '${!v}'"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "--warmup: expected a non-negative integer, got '$WARMUP'"
case "$SERVERS" in
strata | redis) ;;
both) SERVERS="strata redis" ;;
*) die "--server: expected strata, redis or both, got '$SERVERS'" ;;
esac

# ---- prerequisites ------------------------------------------------------------------------------

need_tools="redis-cli timeout awk sort"
case " $SERVERS " in *" redis "*) need_tools="$need_tools redis-server" ;; esac
# shellcheck disable=SC2086 # a list of names
missing=$(missing_tools $need_tools)
if [ -n "$missing" ]; then
    die "not found: $missing. Run tools/setup.sh, or install the Debian packages by hand:" \
        "apt-get install -y redis-server redis-tools"
fi
[ -x "$PY" ] || die "$PY not found (set PYTHON to another interpreter)"
"$PY" -c 'import redis' 2>/dev/null || die "$PY cannot import redis: apt-get install -y python3-redis"
[ -f "$CLIENT" ] || die "$CLIENT is missing"
case " $SERVERS " in
*" strata "*)
    need_built "$STRATA" strata-server
    warn_build "$STRATA"
    ;;
esac

mkdir -p "$DATA_PARENT" || die "cannot create --data-dir $DATA_PARENT"
fstype=$(fs_type "$DATA_PARENT")
[ -n "$OUT" ] || OUT=$ROOT/bench/out/zset_rank-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/raw" "$OUT/logs" || die "cannot create output directory $OUT"

WORK=$(mktemp -d "$DATA_PARENT/strata-zset-rank.XXXXXX") || die "mktemp -d in $DATA_PARENT failed"

# ---- server lifecycle ---------------------------------------------------------------------------

# start_named NAME LOG DATADIR: starts redis or strata (bench/lib.sh start_server), appendfsync
# everysec, slow log off (the client turns it on for the timing, after the load).
start_named() {
    local name=$1 log=$2 dir=$3
    case "$name" in
    redis)
        start_server redis "$log" "$dir" redis-server --appendonly yes --appendfsync everysec \
            --save '' --daemonize no --logfile '' --slowlog-log-slower-than -1
        ;;
    strata)
        start_server strata "$log" "$dir" "$STRATA" --appendfsync everysec \
            --slowlog-log-slower-than -1 ${STRATA_ARGS[@]+"${STRATA_ARGS[@]}"}
        ;;
    esac
}

install_traps

# ---- steps --------------------------------------------------------------------------------------

# cli ARG...: one redis-cli command against the running server, bounded by --timeout.
cli() { timeout --kill-after=10 "$TIMEOUT" redis-cli -p "$SERVER_PORT" "$@"; }

# A step that fails sets STEP_ERR and returns 1; the run is abandoned, the others go on.
STEP_ERR=""
server_alive() { [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; }

# bg_step TAG CMD...: runs CMD bounded by --timeout, stdout to $OUT/raw/TAG.json, stderr to ours
# and to $OUT/logs/TAG.stderr. In the background, waited for, so that an interrupt (SIGTERM to the
# script alone) is handled at once: before_cleanup then stops the client, cleanup the server.
CLIENT_PID=""
before_cleanup() {
    if [ -n "$CLIENT_PID" ]; then
        kill -TERM "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
        CLIENT_PID=""
    fi
}
bg_step() {
    local tag=$1 rc=0
    shift
    timeout --kill-after=10 "$TIMEOUT" "$@" >"$OUT/raw/$tag.json" 2> >(tee "$OUT/logs/$tag.stderr" >&2) &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    case "$rc" in
    0) return 0 ;;
    130 | 143) say "interrupted"; exit "$rc" ;;
    124 | 137) STEP_ERR="$tag: hit --timeout ${TIMEOUT}s" ;;
    *) STEP_ERR="$tag: exited with status $rc (see $OUT/logs/$tag.stderr)" ;;
    esac
    return 1
}

# jget FILE FIELD: one field of a step's JSON ("" when null or absent).
jget() {
    "$PY" -c 'import json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print("" if v is None else v)' "$1" "$2"
}

# gen_resp N: the RESP file of the load of N members (made once per size, shared by the servers).
gen_resp() {
    local n=$1 file=$WORK/load-$1.resp
    if [ ! -f "$file" ]; then
        say "size $n: writing the ZADD load ($PER_CMD members per command) as RESP"
        bg_step "gen-$n" "$PY" "$CLIENT" gen-resp -n "$n" --per-cmd "$PER_CMD" --seed "$SEED" --out "$file" ||
            return 1
    fi
    RESP_FILE=$file
}

# load_set TAG: redis-cli --pipe of $RESP_FILE; sets LOAD_S to the load's wall time in seconds.
# (Helpers set globals rather than print: STEP_ERR would not leave a $(...) subshell.)
LOAD_S=""
load_set() {
    local tag=$1 t0 t1 rc=0 out
    t0=$(date +%s.%N)
    timeout --kill-after=10 "$TIMEOUT" redis-cli -p "$SERVER_PORT" --pipe <"$RESP_FILE" >"$OUT/logs/$tag-load.out" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    out=$(tr -d '\r' <"$OUT/logs/$tag-load.out")
    if [ "$rc" -ne 0 ] || ! grep -q '^errors: 0,' <<<"$out"; then
        STEP_ERR="$tag: redis-cli --pipe failed (status $rc): $(tail -n 3 <<<"$out" | tr '\n' ' ')"
        return 1
    fi
    LOAD_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# compact TAG: COMPACT on the running strata server; sets COMPACT_S to its wall time in seconds.
COMPACT_S=""
compact() {
    local t0 t1 reply rc=0
    t0=$(date +%s.%N)
    reply=$(cli compact 2>&1) || rc=$?
    [ "$rc" -eq 0 ] || { STEP_ERR="$1: COMPACT failed or hit --timeout (status $rc): $reply"; return 1; }
    [ "$reply" = OK ] || { STEP_ERR="$1: COMPACT answered '$reply'"; return 1; }
    t1=$(date +%s.%N)
    COMPACT_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

CSV=$OUT/results.csv
echo "server,size,op,ops,stopped_early,server_median_us,server_p99_us,server_mean_us,server_max_us,client_median_us,client_p99_us,load_s,compact_s,status" >"$CSV"
FAILED=0

# run_one NAME N: fresh server; load N members; COMPACT (strata); measure; stop. Returns 1 (with
# STEP_ERR set) on a failure, the server stopped.
run_one() {
    local name=$1 n=$2 tag dir load_s="" compact_s="" card json
    tag=$name-$n
    dir=$WORK/$tag
    mkdir -p "$dir"
    start_named "$name" "$OUT/logs/$tag.server.log" "$dir"
    say "$tag: port $SERVER_PORT; loading $n members"
    load_set "$tag" || return 1
    load_s=$LOAD_S
    card=$(cli zcard zset 2>&1) || true
    [ "$card" = "$n" ] || { STEP_ERR="$tag: ZCARD zset is '$card' after the load; expected $n"; return 1; }
    say "$tag: loaded in $load_s s ($(awk -v n="$n" -v s="$load_s" 'BEGIN { if (s > 0) printf "%.0f", n / s }') members/s)"
    if [ "$name" = strata ] && [ "$COMPACT" -eq 1 ]; then
        compact "$tag" || return 1
        compact_s=$COMPACT_S
        say "$tag: COMPACT $compact_s s"
    fi
    bg_step "$tag-measure" "$PY" "$CLIENT" measure --port "$SERVER_PORT" -n "$n" --ops "$OPS" \
        --warmup "$WARMUP" --chunk "$CHUNK" --budget "$BUDGET" --seed "$((SEED + 1))" --timeout "$TIMEOUT" ||
        return 1
    server_alive || { STEP_ERR="$tag: $name died"; return 1; }
    stop_server "$name"
    [ "$STOP_STATUS" = 0 ] || say "WARNING: $tag: $name exited with status $STOP_STATUS on SIGTERM"
    json=$OUT/raw/$tag-measure.json
    "$PY" - "$json" "$name" "$n" "$load_s" "$compact_s" >>"$CSV" <<'EOF'
import json, sys
path, name, n, load_s, compact_s = sys.argv[1:6]
res = json.load(open(path))["results"]
for op, r in res.items():
    s, c = r["server_us"], r["client_us"]
    print(",".join(str(x) for x in (name, n, op, r["ops"], "yes" if r["stopped_early"] else "no",
                                    s["median"], s["p99"], s["mean"], s["max"], c["median"], c["p99"],
                                    load_s, compact_s, "ok")))
EOF
    [ "$KEEP" -eq 1 ] || rm -rf "$dir"
}

# ---- main ---------------------------------------------------------------------------------------

strata_rev=$(strata_revision)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
redis_version=$(redis-server --version 2>/dev/null | sed -n 's/.*v=\([^ ]*\).*/\1/p')
say "output in $OUT"
say "servers: $SERVERS; strata $strata_rev; redis-server ${redis_version:-absent}; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg); data dir $DATA_PARENT ($fstype)"
say "sizes: $SIZES; $OPS timed ops of each kind per size ($WARMUP untimed first); server time from SLOWLOG"

for n in $SIZES; do
    if ! gen_resp "$n"; then
        say "FAILED: $STEP_ERR"
        FAILED=1
        for name in $SERVERS; do echo "$name,$n,,,,,,,,,,,,failed" >>"$CSV"; done
        continue
    fi
    for name in $SERVERS; do
        STEP_ERR=""
        if ! run_one "$name" "$n"; then
            say "FAILED: $STEP_ERR"
            if [ -n "$SERVER_LOG" ] && ! server_alive; then show_log "$SERVER_LOG"; fi
            FAILED=1
            echo "$name,$n,,,,,,,,,,,,failed" >>"$CSV"
            stop_server "$name"
            [ "$KEEP" -eq 1 ] || rm -rf "${WORK:?}/$name-$n"
        fi
    done
    [ "$KEEP" -eq 1 ] || rm -f "$WORK/load-$n.resp"
done

# ---- report -------------------------------------------------------------------------------------

# report MD: the table, one row per (op, size): strata median/p99, redis median/p99, strata/redis
# (medians), growth of each server's median against its median at the smallest size. A median of
# 0 us (below SLOWLOG's resolution) counts as 0.5 us in the ratios. MD=1: markdown.
report() {
    awk -F, -v md="$1" -v ops_order="zrank zrevrank zrange zrevrange zrangebyscore zcount zadd_new zrem" '
        function f(x) { return x == "" ? "-" : x }
        function r(a, b, x) {
            if (a == "" || b == "") return "-"
            if (a == 0) a = 0.5
            if (b == 0) b = 0.5
            x = a / b
            return x >= 100 ? sprintf("%.0f", x) : x >= 0.01 ? sprintf("%.2f", x) : sprintf("%.2g", x)
        }
        NR > 1 && $14 == "ok" {
            med[$1, $3, $2] = $6; p99[$1, $3, $2] = $7; cnt[$1, $3, $2] = $4
            if (!($2 in seen)) { seen[$2] = 1; sizes[++ns] = $2 }
        }
        NR > 1 && $14 == "failed" { failed[$1, $2] = 1 }
        END {
            # sizes in ascending order (the CSV has them so, but be sure)
            for (i = 1; i <= ns; i++) for (j = i + 1; j <= ns; j++) if (sizes[j] + 0 < sizes[i] + 0) { t = sizes[i]; sizes[i] = sizes[j]; sizes[j] = t }
            no = split(ops_order, ops, " ")
            if (md) {
                print "| op | size | strata med us | strata p99 us | redis med us | redis p99 us | strata/redis | strata growth | redis growth |"
                print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
            } else {
                printf "%-14s %8s %9s %9s %9s %9s %9s %9s %9s\n", "op", "size", "strata", "s p99", "redis", "r p99", "s/r", "s growth", "r growth"
            }
            for (o = 1; o <= no; o++) {
                op = ops[o]
                for (i = 1; i <= ns; i++) {
                    n = sizes[i]; b = sizes[1]
                    sm = med["strata", op, n]; rm = med["redis", op, n]
                    if (sm == "" && rm == "") continue
                    sg = (sm != "" && med["strata", op, b] != "") ? r(sm, med["strata", op, b]) : "-"
                    rg = (rm != "" && med["redis", op, b] != "") ? r(rm, med["redis", op, b]) : "-"
                    if (md) printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", op, n, f(sm), f(p99["strata", op, n]), f(rm), f(p99["redis", op, n]), r(sm, rm), sg, rg
                    else printf "%-14s %8s %9s %9s %9s %9s %9s %9s %9s\n", op, n, f(sm), f(p99["strata", op, n]), f(rm), f(p99["redis", op, n]), r(sm, rm), sg, rg
                }
            }
        }' "$CSV"
}

# early: one line per operation that stopped after --budget seconds, with how many ops ran.
early() {
    awk -F, -v ops="$OPS" -v budget="$BUDGET" 'NR > 1 && $5 == "yes" {
        printf "%s %s, %s members: %s of %s ops timed (stopped after --budget %s s)\n", $1, $3, $2, $4, ops, budget }' "$CSV"
}

notes() {
    echo "Server time per command from SLOWLOG (1 us resolution; a 0 counts as 0.5 in the ratios), $OPS timed"
    echo "commands of each kind at random positions after $WARMUP untimed, one per round trip."
    echo "strata/redis: ratio of the medians. growth: the median at this size / the median at the smallest"
    echo "size ($(echo "$SIZES" | cut -d' ' -f1)), per server: O(log n) grows slowly, O(n) would grow like the size."
    awk -v s="$SIZES" 'BEGIN { k = split(s, z, " "); if (k > 1) printf "From %d to %d members the size grows %gx and log2(n) %.2fx.\n", z[1], z[k], z[k] / z[1], log(z[k]) / log(z[1]) }'
    echo "Noisy machine: $(nproc) CPUs, a VM whose timings vary by about +-25% from run to run (load average"
    echo "$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end); treat ratios within 1.5x of each other as equal."
}

MD=$OUT/results.md
{
    echo "# zset_rank_bench: sorted-set rank operations at growing sizes"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); host: $(nproc) CPUs; data dir: $DATA_PARENT ($fstype)"
    case " $SERVERS " in *" strata "*) echo "- strata $strata_rev ($STRATA --appendfsync everysec${STRATA_ARGS[*]:+ ${STRATA_ARGS[*]}}); COMPACT after the load: $([ "$COMPACT" -eq 1 ] && echo yes || echo no)" ;; esac
    case " $SERVERS " in *" redis "*) echo "- redis-server $redis_version (appendonly yes, appendfsync everysec, save '')" ;; esac
    echo "- sizes: $SIZES; one set of N members m<i>, random double scores, loaded with ZADD ($PER_CMD members"
    echo "  each) through redis-cli --pipe; servers run one at a time, each fresh on an empty dir"
    echo "- ops: ZRANK/ZREVRANK of a random member; ZRANGE/ZREVRANGE s s+9 at a random rank s;"
    echo "  ZRANGEBYSCORE -inf +inf LIMIT s 10; ZCOUNT between two random scores; ZADD of a new member"
    echo "  (zadd_new) then ZREM of it (zrem)"
    echo
    notes | sed 's/^/> /'
    echo
    report 1
    early | awk '{ printf "%s- %s\n", (n++ ? "" : "\n"), $0 }'
    awk -F, 'NR > 1 && $14 == "ok" && !seen[$1, $2]++ { printf "%s- %s, %s members: loaded in %s s%s\n", (n++ ? "" : "\n"), $1, $2, $12, ($13 == "" ? "" : ", COMPACT " $13 " s") }' "$CSV"
    awk -F, 'NR > 1 && $14 == "failed" { printf "%s- FAILED: %s, %s members (see the logs)\n", (n++ ? "" : "\n"), $1, $2 }' "$CSV"
    echo
    echo "Client round trips (median us, Python redis-py, loopback) are in results.csv (client_median_us)."
} >"$MD"

report 0
echo
early
notes
awk -F, 'NR > 1 && $14 == "failed" { printf "FAILED: %s, %s members\n", $1, $2 }' "$CSV"
say "wrote $MD and $CSV (raw JSON in $OUT/raw, logs in $OUT/logs)"
if [ "$FAILED" -ne 0 ]; then
    say "some runs failed"
    exit 1
fi
