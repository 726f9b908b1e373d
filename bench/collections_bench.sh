#!/usr/bin/env bash
# collections_bench.sh -- Redis data types on the LSM (issue 6): O(1) DEL of a huge collection with
# its space coming back, and a bounded leaderboard that does not decay.
#
# Two measurements, each on a fresh server with an empty data directory:
#
# 1. Big collections (--types, default hash,set). Load one hash of N fields (HSET bighash f<i>
#    <100 random bytes>, 100 fields per HSET, 100 HSETs per pipeline), or one set of N members of
#    100 bytes each (SADD). Then COMPACT (Strata's admin command: compacts the whole database) and
#    measure the data directory (du -sb) and the sum of the level*_bytes lines of INFO storage.
#    Then SLOWLOG RESET, DEL, and the DEL's time: the server's, from its SLOWLOG entry (the server
#    runs with --slowlog-log-slower-than 0, so every command is logged), and the client's wall
#    time. Then COMPACT again and measure the disk again: the elements should be gone. The issue's
#    targets: DEL under 1 ms of server time, and the elements' disk usage gone after compaction.
#
# 2. Leaderboard (--ops, default 100000). Each operation is ZADD board <random score>
#    player:<random id in 0..999999> then ZREMRANGEBYRANK board 0 -1001 (keep the top 1000), in
#    pipelined batches of 16 operations, after 1024 untimed ones on another key (so that the
#    client's start does not slow the first tenth). Throughput of the first and of the last 10% of
#    the operations, and their ratio: below 1 means the board gets slower as the tombstones of the
#    removed members pile up. A server that answers ZADD with "unknown command" is reported as
#    skipped, and the run carries on.
#
# --server strata (default), redis (Debian's redis-server, appendonly yes, appendfsync everysec,
# no RDB) or both. COMPACT does not exist on Redis and its AOF does not shrink on DEL, so the disk
# columns are left empty there; DEL's time comes from SLOWLOG as on Strata. With both, the servers
# run one after the other, never at the same time, and the ratios strata/redis are printed.
#
# Output: the tables on stdout; progress on stderr; results.md, results.csv (collections),
# leaderboard.csv, each step's JSON (raw/) and each server's log (logs/) in the output directory.
# The exit status says whether every run completed, never whether a target was met (benchmarks
# print, tests assert).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=collections_bench
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$ROOT/bench/lib.sh"

usage() {
    cat <<EOF
usage: bench/collections_bench.sh [options]
  --quick            smoke run: -n 100000 --ops 20000 (unless given)
  -n N               elements per collection (default 1000000)
  --types LIST       collections to load and delete, space or comma separated: hash, set
                     (default "hash,set"); "none" skips this part
  --ops N            leaderboard operations, each a ZADD and a ZREMRANGEBYRANK (default 100000;
                     0 skips the leaderboard)
  --keep K           leaderboard size: ZREMRANGEBYRANK board 0 -(K+1) (default 1000)
  --depth D          leaderboard operations per pipelined batch (default 16)
  --per-cmd F        elements per HSET/SADD (default 100)
  --pipeline P       HSET/SADD commands per round trip (default 100)
  --value-size B     bytes per hash value and per set member (default 100)
  --server WHICH     strata, redis or both (default strata); both runs them one after the other
  --strata PATH      strata-server binary (default build/strata-server; env STRATA_SERVER)
  --strata-arg ARG   extra argument for strata-server, repeatable
  --data-dir DIR     where the servers' temporary data directories go (default \$TMPDIR or /tmp);
                     must be on a disk, not tmpfs: the disk usage is the point
  --out DIR          output directory (default bench/out/collections-<timestamp>)
  --timeout S        limit for one step (a load, a COMPACT, the leaderboard), seconds (default 1800)
  --keep-data        keep the data directories (and say where they are)
  -h, --help         this text
Needs redis-cli (Debian package redis-tools), /usr/bin/python3 with redis-py (python3-redis),
and for --server redis or both, redis-server.
EOF
}

# ---- options ------------------------------------------------------------------------------------

N=""
OPS=""
QUICK=0
TYPES="hash set"
KEEP_TOP=1000
DEPTH=16
PER_CMD=100
PIPELINE=100
VALUE_SIZE=100
SERVERS=strata
server_option_defaults
LOADER=$ROOT/bench/collections_load.py

while [ "$#" -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    -n) need_arg "$@"; N=$2; shift ;;
    --types) need_arg "$@"; TYPES=${2//,/ }; shift ;;
    --ops) need_arg "$@"; OPS=$2; shift ;;
    --keep) need_arg "$@"; KEEP_TOP=$2; shift ;;
    --depth) need_arg "$@"; DEPTH=$2; shift ;;
    --per-cmd) need_arg "$@"; PER_CMD=$2; shift ;;
    --pipeline) need_arg "$@"; PIPELINE=$2; shift ;;
    --value-size) need_arg "$@"; VALUE_SIZE=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *)
        server_option "$@"
        [ "$OPT_TAKEN" -gt 0 ] || { usage >&2; die "unknown option '$1'"; }
        shift $((OPT_TAKEN - 1)) ;;
    esac
    shift
done

if [ -z "$N" ]; then
    if [ "$QUICK" -eq 1 ]; then N=100000; else N=1000000; fi
fi
if [ -z "$OPS" ]; then
    if [ "$QUICK" -eq 1 ]; then OPS=20000; else OPS=100000; fi
fi
is_uint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_uint "$N" || die "-n: expected a positive integer, got '$N'"
[[ $OPS =~ ^[0-9]+$ ]] || die "--ops: expected a non-negative integer, got '$OPS'"
for v in KEEP_TOP DEPTH PER_CMD PIPELINE VALUE_SIZE TIMEOUT; do
    is_uint "${!v}" || die "$(echo "$v" | tr 'A-Z_' 'a-z-'): expected a positive integer, got '${!v}'"
done
case "$TYPES" in none | "") TYPES="" ;; esac
for t in $TYPES; do
    case "$t" in hash | set) ;; *) die "--types: '$t' is not hash or set" ;; esac
done
case "$SERVERS" in
strata | redis) ;;
both) SERVERS="strata redis" ;;
*) die "--server: expected strata, redis or both, got '$SERVERS'" ;;
esac
[ -n "$TYPES" ] || [ "$OPS" -gt 0 ] || die "nothing to do: --types none and --ops 0"

# ---- prerequisites ------------------------------------------------------------------------------

need_tools="redis-cli timeout awk du"
case " $SERVERS " in *" redis "*) need_tools="$need_tools redis-server" ;; esac
# shellcheck disable=SC2086 # a list of names
missing=$(missing_tools $need_tools)
if [ -n "$missing" ]; then
    die "not found: $missing. Run tools/setup.sh, or install the Debian packages by hand:" \
        "apt-get install -y redis-server redis-tools"
fi
[ -x "$PY" ] || die "$PY not found (set PYTHON to another interpreter)"
"$PY" -c 'import redis' 2>/dev/null || die "$PY cannot import redis: apt-get install -y python3-redis"
[ -f "$LOADER" ] || die "$LOADER is missing"
case " $SERVERS " in
*" strata "*)
    need_built "$STRATA"
    warn_build "$STRATA"
    ;;
esac

mkdir -p "$DATA_PARENT" || die "cannot create --data-dir $DATA_PARENT"
fstype=$(fs_type "$DATA_PARENT")
case "$fstype" in
tmpfs | ramfs)
    die "$DATA_PARENT is on $fstype: its files live in RAM, and the disk usage is what this measures." \
        "Give --data-dir a directory on a disk"
    ;;
esac
# The loaded elements (key + value + per-element overhead), the copy a compaction makes, the WAL.
need_kib=$((N * (VALUE_SIZE + 40) * 3 / 1024 + 65536))
free_kib=$(df -Pk "$DATA_PARENT" | awk 'NR == 2 { print $4 }')
if [[ $free_kib =~ ^[0-9]+$ ]] && [ "$free_kib" -lt "$need_kib" ]; then
    die "$DATA_PARENT has $((free_kib / 1024)) MiB free; this run needs about $((need_kib / 1024)) MiB (use --data-dir)"
fi

[ -n "$OUT" ] || OUT=$ROOT/bench/out/collections-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/raw" "$OUT/logs" || die "cannot create output directory $OUT"

WORK=$(mktemp -d "$DATA_PARENT/strata-collections.XXXXXX") || die "mktemp -d in $DATA_PARENT failed"

# ---- server lifecycle ---------------------------------------------------------------------------

# start_named NAME LOG DATADIR: starts redis or strata (bench/lib.sh start_server), appendfsync
# everysec, every command in the slow log.
start_named() {
    local name=$1 log=$2 dir=$3
    case "$name" in
    redis)
        start_server redis "$log" "$dir" redis-server --appendonly yes --appendfsync everysec \
            --save '' --daemonize no --logfile '' --slowlog-log-slower-than 0
        ;;
    strata)
        start_server strata "$log" "$dir" "$STRATA" --appendfsync everysec \
            --slowlog-log-slower-than 0 ${STRATA_ARGS[@]+"${STRATA_ARGS[@]}"}
        ;;
    esac
}

install_traps

# ---- steps --------------------------------------------------------------------------------------

# cli ARG...: one redis-cli command against the running server, bounded by --timeout.
cli() { timeout --kill-after=10 "$TIMEOUT" redis-cli -p "$SERVER_PORT" "$@"; }

# check_alive TAG NAME: dies (showing the log) if the server has exited.
check_alive() {
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        show_log "$SERVER_LOG"
        die "$1: $2 died"
    fi
}

# py_step TAG NAME SUBCOMMAND ARG...: runs the loader, bounded by --timeout; its JSON goes to
# $OUT/raw/TAG.json and its stderr (progress, errors) to ours and to $OUT/logs/TAG.stderr. The
# client runs in the background and the script waits for it, so that an interrupt (SIGTERM to the
# script alone) is handled at once: before_cleanup then stops the client, cleanup the server.
CLIENT_PID=""
before_cleanup() {
    if [ -n "$CLIENT_PID" ]; then
        kill -TERM "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
        CLIENT_PID=""
    fi
}
py_step() {
    local tag=$1 name=$2 rc=0
    shift 2
    timeout --kill-after=10 "$TIMEOUT" "$PY" "$LOADER" "$@" --port "$SERVER_PORT" \
        >"$OUT/raw/$tag.json" 2> >(tee "$OUT/logs/$tag.stderr" >&2) &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    case "$rc" in
    0) ;;
    130 | 143) say "interrupted"; exit "$rc" ;;
    124 | 137) show_log "$SERVER_LOG"; die "$tag: the client hit --timeout ${TIMEOUT}s" ;;
    *) check_alive "$tag" "$name"; die "$tag: the client exited with status $rc (see $OUT/logs/$tag.stderr)" ;;
    esac
    check_alive "$tag" "$name"
}

# jget FILE FIELD: one field of a step's JSON ("" when null or absent).
jget() {
    "$PY" -c 'import json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print("" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1" "$2"
}

# compact TAG: COMPACT on the running strata server; prints its wall time in seconds.
compact() {
    local t0 t1 reply
    t0=$(date +%s.%N)
    reply=$(cli compact 2>&1) || { show_log "$SERVER_LOG"; die "$1: COMPACT failed or hit --timeout: $reply"; }
    [ "$reply" = OK ] || die "$1: COMPACT answered '$reply'"
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

# disk DIR: bytes under DIR (du -sb: apparent sizes, every file: tables, WAL, MANIFEST).
disk() { du -sb "$1" | awk '{ print $1 }'; }

# level_bytes: the sum of the level<N>_bytes lines of INFO storage ("" when there are none).
level_bytes() {
    cli info storage | tr -d '\r' | awk -F: '/^level[0-9]+_bytes:/ { s += $2; n++ } END { if (n) print s }'
}

COLL_CSV=$OUT/results.csv
BOARD_CSV=$OUT/leaderboard.csv
echo "server,type,elements,value_size,load_s,load_elems_per_s,disk_empty_bytes,disk_loaded_bytes,disk_before_del_bytes,levels_before_del_bytes,del_server_us,del_client_ms,disk_after_bytes,levels_after_bytes,after_over_before,compact1_s,compact2_s" >"$COLL_CSV"
echo "server,ops,keep,depth,secs,ops_per_s,first10_ops_per_s,last10_ops_per_s,last_over_first,zcard,skipped,tenths_ops_per_s" >"$BOARD_CSV"

# run_collection NAME TYPE: fresh server; load, COMPACT, measure, DEL, COMPACT, measure; stop.
run_collection() {
    local name=$1 type=$2 tag dir key load_json del_json
    local empty="" loaded="" before="" lv_before="" after="" lv_after="" ratio="" c1="" c2=""
    tag=$name-$type
    dir=$WORK/$tag
    key=big$type
    mkdir -p "$dir"
    start_named "$name" "$OUT/logs/$tag.server.log" "$dir"
    say "$tag: port $SERVER_PORT; loading $N elements into $key ($PER_CMD per command, $PIPELINE commands per pipeline, $VALUE_SIZE-byte values)"
    if [ "$name" = strata ]; then
        compact "$tag" >/dev/null
        empty=$(disk "$dir")
    fi
    py_step "$tag-load" "$name" "load-$type" --key "$key" -n "$N" --per-cmd "$PER_CMD" \
        --pipeline "$PIPELINE" --value-size "$VALUE_SIZE" --timeout "$TIMEOUT"
    load_json=$OUT/raw/$tag-load.json
    say "$tag: loaded in $(jget "$load_json" secs) s, $(jget "$load_json" elems_per_s) elements/s"
    if [ "$name" = strata ]; then
        loaded=$(disk "$dir")
        c1=$(compact "$tag")
        before=$(disk "$dir")
        lv_before=$(level_bytes)
        say "$tag: COMPACT $c1 s; disk $loaded bytes after the load, $before after COMPACT (levels $lv_before)"
    fi
    py_step "$tag-del" "$name" del --key "$key" --timeout "$TIMEOUT"
    del_json=$OUT/raw/$tag-del.json
    say "$tag: DEL $key: server $(jget "$del_json" server_us) us, client $(jget "$del_json" client_ms) ms"
    if [ "$name" = strata ]; then
        c2=$(compact "$tag")
        after=$(disk "$dir")
        lv_after=$(level_bytes)
        ratio=$(awk -v a="$after" -v b="$before" 'BEGIN { if (b > 0) printf "%.3g", a / b }')
        say "$tag: COMPACT $c2 s; disk $after bytes after DEL + COMPACT (levels $lv_after), after/before $ratio"
    fi
    check_alive "$tag" "$name"
    stop_server "$name"
    [ "$STOP_STATUS" = 0 ] || say "WARNING: $tag: $name exited with status $STOP_STATUS on SIGTERM"
    echo "$name,$type,$N,$VALUE_SIZE,$(jget "$load_json" secs),$(jget "$load_json" elems_per_s),$empty,$loaded,$before,$lv_before,$(jget "$del_json" server_us),$(jget "$del_json" client_ms),$after,$lv_after,$ratio,$c1,$c2" >>"$COLL_CSV"
    [ "$KEEP" -eq 1 ] || rm -rf "$dir"
}

# run_leaderboard NAME: fresh server; the leaderboard workload; stop.
run_leaderboard() {
    local name=$1 tag dir json skipped
    tag=$name-leaderboard
    dir=$WORK/$tag
    mkdir -p "$dir"
    start_named "$name" "$OUT/logs/$tag.server.log" "$dir"
    say "$tag: port $SERVER_PORT; $OPS operations (ZADD + ZREMRANGEBYRANK 0 -$((KEEP_TOP + 1))), $DEPTH per batch"
    py_step "$tag" "$name" leaderboard --ops "$OPS" --keep "$KEEP_TOP" --depth "$DEPTH" --timeout "$TIMEOUT"
    json=$OUT/raw/$tag.json
    skipped=$(jget "$json" skipped)
    stop_server "$name"
    [ "$STOP_STATUS" = 0 ] || say "WARNING: $tag: $name exited with status $STOP_STATUS on SIGTERM"
    if [ "$skipped" = true ]; then
        say "leaderboard: skipped (this server has no sorted sets yet): $(jget "$json" reason)"
        echo "$name,$OPS,$KEEP_TOP,$DEPTH,,,,,,,yes," >>"$BOARD_CSV"
    else
        say "$tag: $(jget "$json" ops_per_s) ops/s; first 10% $(jget "$json" first10_ops_per_s), last 10% $(jget "$json" last10_ops_per_s), ZCARD $(jget "$json" zcard)"
        echo "$name,$OPS,$KEEP_TOP,$DEPTH,$(jget "$json" secs),$(jget "$json" ops_per_s),$(jget "$json" first10_ops_per_s),$(jget "$json" last10_ops_per_s),$(jget "$json" last_over_first),$(jget "$json" zcard),no,\"$(jget "$json" tenths_ops_per_s | tr -d '[] ')\"" >>"$BOARD_CSV"
    fi
    [ "$KEEP" -eq 1 ] || rm -rf "$dir"
}

# ---- main ---------------------------------------------------------------------------------------

strata_rev=$(strata_revision)
redis_version=$(redis-server --version 2>/dev/null | sed -n 's/.*v=\([^ ]*\).*/\1/p')
say "output in $OUT"
say "servers: $SERVERS; strata $strata_rev; redis-server ${redis_version:-absent}; $(nproc) CPUs; data dir $DATA_PARENT ($fstype)"
say "collections: [${TYPES:-none}] of $N elements; leaderboard: $OPS operations, top $KEEP_TOP, $DEPTH per batch"

for name in $SERVERS; do
    for t in $TYPES; do run_collection "$name" "$t"; done
    if [ "$OPS" -gt 0 ]; then run_leaderboard "$name"; fi
done

# ---- report -------------------------------------------------------------------------------------

# Human units: bytes as MiB, or KiB under 1 MiB (so that the few KiB left after DEL + COMPACT
# show); an empty field stays "-".
report_collections() {
    awk -F, -v md="$1" 'function mib(b) {
            if (b == "") return "-"
            return b >= 1048576 ? sprintf("%.1f MiB", b / 1048576) : sprintf("%.1f KiB", b / 1024)
        }
        function d(x) { return x == "" ? "-" : x }
        NR > 1 {
            rate = $6 == "" ? "-" : sprintf("%.0f", $6)
            srv = $11 == "" ? "-" : $11
            if (md) printf "| %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $5, rate, mib($9), mib($10), srv, d($12), mib($13), mib($14), d($15)
            else printf "%-6s %-4s %9s %8.2f %10s %11s %11s %9s %9s %11s %11s %9s\n", $1, $2, $3, $5, rate, mib($9), mib($10), srv, d($12), mib($13), mib($14), d($15)
        }' "$COLL_CSV"
}

report_board() {
    awk -F, -v md="$1" 'function d(x) { return x == "" ? "-" : x }
        NR > 1 {
            if ($11 == "yes") {
                if (md) printf "| %s | %s | skipped (this server has no sorted sets yet) | | | | | |\n", $1, $2
                else printf "%-6s %8s  skipped (this server has no sorted sets yet)\n", $1, $2
                next
            }
            if (md) printf "| %s | %s | %.2f | %.0f | %.0f | %.0f | %s | %s |\n", $1, $2, $5, $6, $7, $8, d($9), d($10)
            else printf "%-6s %8s %8.2f %10.0f %10.0f %10.0f %10s %7s\n", $1, $2, $5, $6, $7, $8, d($9), d($10)
        }' "$BOARD_CSV"
}

# ratios PREFIX: strata/redis lines, when both ran.
ratios() {
    awk -F, -v pre="$1" -v bf="$BOARD_CSV" '
        NR > 1 { load[$1, $2] = $6; del[$1, $2] = $11; if (!($2 in seen)) { seen[$2] = 1; types[++nt] = $2 } }
        END {
            for (i = 1; i <= nt; i++) {
                t = types[i]
                if (load["strata", t] != "" && load["redis", t] > 0)
                    printf "%s%s load elements/s strata/redis: %.2f\n", pre, t, load["strata", t] / load["redis", t]
                if (del["strata", t] != "" && del["redis", t] > 0)
                    printf "%s%s DEL server time strata/redis: %.3g (%s us vs %s us)\n", pre, t, del["strata", t] / del["redis", t], del["strata", t], del["redis", t]
            }
            while ((getline line < bf) > 0) {
                n = split(line, f, ",")
                if (f[1] == "strata" || f[1] == "redis") { ops[f[1]] = f[6]; lf[f[1]] = f[9] }
            }
            if (ops["strata"] != "" && ops["redis"] > 0)
                printf "%sleaderboard ops/s strata/redis: %.2f (last/first: strata %s, redis %s)\n", pre, ops["strata"] / ops["redis"], lf["strata"], lf["redis"]
        }' "$COLL_CSV"
}

MD=$OUT/results.md
{
    echo "# collections_bench: big collections and a bounded leaderboard (issue 6)"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); host: $(nproc) CPUs; data dir: $DATA_PARENT ($fstype)"
    echo "- strata $strata_rev ($STRATA --appendfsync everysec --slowlog-log-slower-than 0${STRATA_ARGS[*]:+ ${STRATA_ARGS[*]}})"
    case " $SERVERS " in *" redis "*) echo "- redis-server $redis_version (appendonly yes, appendfsync everysec, save '', slowlog-log-slower-than 0)" ;; esac
    echo "- servers run one at a time, each fresh on an empty dir per measurement"
    if [ -n "$TYPES" ]; then
        echo
        echo "## Big collections: load, DEL, space back"
        echo
        echo "$N elements of $VALUE_SIZE random bytes (hash: fields f<i>; set: members m<i>: padded to"
        echo "$VALUE_SIZE bytes), $PER_CMD per HSET/SADD, $PIPELINE commands per pipeline. Disk: du -sb of the data dir"
        echo "after COMPACT (before) and after DEL + COMPACT (after); levels: sum of INFO storage level*_bytes."
        echo "DEL server time: the DEL's SLOWLOG duration; client: wall time of the DEL round trip."
        echo "Targets (issue 6): DEL < 1 ms server time; the elements' disk usage gone after compaction."
        echo "Redis has no COMPACT, and its AOF does not shrink on DEL: no disk figures there."
        echo
        echo "| server | type | elements | load s | load elems/s | disk before | levels before | DEL server us | DEL client ms | disk after | levels after | after/before |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        report_collections 1
        awk -F, 'NR > 1 && $1 == "strata" { printf "\nstrata %s: disk %d bytes empty (after COMPACT), %d after the load (before COMPACT); COMPACT took %s s before DEL, %s s after.\n", $2, $7, $8, $16, $17 }' "$COLL_CSV"
    fi
    if [ "$OPS" -gt 0 ]; then
        echo
        echo "## Leaderboard: ZADD + ZREMRANGEBYRANK 0 -$((KEEP_TOP + 1))"
        echo
        echo "$OPS operations, each ZADD board <random score> player:<random id in 0..999999> then"
        echo "ZREMRANGEBYRANK board 0 -$((KEEP_TOP + 1)), $DEPTH operations per pipelined batch. first/last 10%: ops/s over"
        echo "the first and the last tenth of the operations; last/first < 1 means the board slows down."
        echo
        echo "| server | ops | secs | ops/s | first 10% ops/s | last 10% ops/s | last/first | ZCARD |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
        report_board 1
        if awk -F, 'NR > 1 && $11 == "no" { found = 1 } END { exit !found }' "$BOARD_CSV"; then
            echo
            echo "ops/s of each tenth, in order (leaderboard.csv, last column):"
            echo
            awk -F, 'NR > 1 && $11 == "no" { line = $0; sub(/^[^"]*"/, "", line); sub(/"$/, "", line); gsub(/,/, " ", line); printf "- %s: %s\n", $1, line }' "$BOARD_CSV"
        fi
    fi
    r=$(ratios "- ")
    if [ -n "$r" ]; then
        echo
        echo "## strata/redis"
        echo
        echo "$r"
    fi
} >"$MD"

if [ -n "$TYPES" ]; then
    printf '%-6s %-4s %9s %8s %10s %11s %11s %9s %9s %11s %11s %9s\n' server type elements "load s" "elems/s" \
        "disk" "levels" "DEL us" "DEL ms" "disk after" "lvl after" "after/bef"
    report_collections 0
fi
if [ "$OPS" -gt 0 ]; then
    [ -z "$TYPES" ] || echo
    printf '%-6s %8s %8s %10s %10s %10s %10s %7s\n' server ops secs "ops/s" "first10%" "last10%" "last/first" ZCARD
    report_board 0
fi
r=$(ratios "")
if [ -n "$r" ]; then
    echo
    echo "$r"
fi
say "disk / levels: after COMPACT, before DEL (du -sb; INFO storage level*_bytes); DEL us: server time (SLOWLOG); DEL ms: client wall time"
say "wrote $MD, $COLL_CSV and $BOARD_CSV"
