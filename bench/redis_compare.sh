#!/usr/bin/env bash
# redis_compare.sh -- redis-benchmark against Debian's redis-server and strata-server, same settings.
#
# For each fsync policy (everysec, always) and pipeline depth (-P 1, -P 16) it runs
#   redis-benchmark -t set,get,incr,mset -n N -r 1000000 -d 100 -c 50 -P P --csv
# against redis-server (appendonly yes, the same appendfsync, no RDB snapshots) and against
# strata-server (the same appendfsync), and prints ops/s of each and the ratio strata/redis.
#
# One server at a time, never both at once: on a small machine (2 cores) two servers side by side
# would fight each other and redis-benchmark for the CPUs, and whichever ran second in a pair would
# inherit the other's page-cache and writeback load. Each server starts fresh on an empty data
# directory and is stopped before the next one starts.
#
# Rounds (--rounds R, default 1): a case is R rounds, each one fresh Redis run and one fresh Strata
# run, back to back. On a virtual machine the disk's fsync latency and the CPU on offer drift over
# minutes (Redis alone has measured 22k-40k ops/s on the same test in consecutive runs), so one
# pair gives a ratio that can be 20% off either way. Round 1 runs Redis first, round 2 Strata
# first, and so on, so that neither server always gets the earlier (or later) slot. Each round
# gives its own ratio strata/redis, taken from two runs seconds apart; the figure to quote is the
# median of these per-round ratios, which a single slow round cannot move. The median ops/s of
# each server are printed too, with the smallest and largest per-round ratio for the spread.
# Compare ratios from one run of the script only, never absolute ops/s across machines or runs.
#
# Output: the table on stdout; progress on stderr; results.csv, results.md, rounds.csv (one row
# per test and round), each raw redis-benchmark CSV and each server log (named with the round) in
# the output directory. The exit status says whether every run completed, never whether a target
# was met (benchmarks print, tests assert).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=redis_compare
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$ROOT/bench/lib.sh"

usage() {
    cat <<EOF
usage: bench/redis_compare.sh [options]
  --quick            smoke run: -n 100000 (unless -n is given)
  -n N               requests per test (default 1000000, as issue #3 asks)
  --policies LIST    appendfsync policies, space or comma separated (default "everysec always")
  --pipelines LIST   redis-benchmark -P depths (default "1 16")
  --tests LIST       redis-benchmark -t list (default set,get,incr,mset)
  --clients C        redis-benchmark -c (default 50)
  --rounds R         rounds per case (default 1). Each round runs a fresh redis-server and a fresh
                     strata-server, Redis first in odd rounds and Strata first in even ones, so
                     neither always benefits from drift in the machine; the table then gives the
                     median ops/s of each server, the median of the per-round ratios strata/redis
                     (the figure to quote) and their min and max. The run takes R times as long.
  --strata PATH      strata-server binary (default build/strata-server; env STRATA_SERVER)
  --strata-arg ARG   extra argument for strata-server, repeatable (e.g. --strata-arg --workers
                     --strata-arg 2)
  --data-dir DIR     where the servers' temporary data directories go (default \$TMPDIR or /tmp);
                     put it on the disk you mean to measure: fsync on tmpfs costs nothing
  --out DIR          output directory (default bench/out/redis_compare-<timestamp>)
  --bench-timeout S  limit for one redis-benchmark run, seconds (default 3600)
  -h, --help         this text
Needs redis-server, redis-benchmark and redis-cli (Debian packages redis-server, redis-tools).
EOF
}

# ---- options ------------------------------------------------------------------------------------

N=""
QUICK=0
POLICIES="everysec always"
PIPELINES="1 16"
TESTS="set,get,incr,mset"
CLIENTS=50
ROUNDS=1
KEYSPACE=1000000
VALUE_BYTES=100
STRATA=${STRATA_SERVER:-$ROOT/build/strata-server}
STRATA_ARGS=()
DATA_PARENT=${TMPDIR:-/tmp}
OUT=""
BENCH_TIMEOUT=3600
START_TIMEOUT=30   # seconds for a server to answer PING
STOP_TIMEOUT=60    # seconds for a server to exit after SIGTERM, then SIGKILL

while [ "$#" -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    -n) need_arg "$@"; N=$2; shift ;;
    --policies) need_arg "$@"; POLICIES=${2//,/ }; shift ;;
    --pipelines) need_arg "$@"; PIPELINES=${2//,/ }; shift ;;
    --tests) need_arg "$@"; TESTS=$2; shift ;;
    --clients) need_arg "$@"; CLIENTS=$2; shift ;;
    --rounds) need_arg "$@"; ROUNDS=$2; shift ;;
    --strata) need_arg "$@"; STRATA=$2; shift ;;
    --strata-arg) need_arg "$@"; STRATA_ARGS+=("$2"); shift ;;
    --data-dir) need_arg "$@"; DATA_PARENT=$2; shift ;;
    --out) need_arg "$@"; OUT=$2; shift ;;
    --bench-timeout) need_arg "$@"; BENCH_TIMEOUT=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

if [ -z "$N" ]; then
    if [ "$QUICK" -eq 1 ]; then N=100000; else N=1000000; fi
fi
is_uint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_uint "$N" || die "-n: expected a positive integer, got '$N'"
is_uint "$CLIENTS" || die "--clients: expected a positive integer, got '$CLIENTS'"
is_uint "$ROUNDS" || die "--rounds: expected a positive integer, got '$ROUNDS'"
is_uint "$BENCH_TIMEOUT" || die "--bench-timeout: expected a positive integer, got '$BENCH_TIMEOUT'"
for p in $POLICIES; do
    case "$p" in always | everysec | no) ;; *) die "--policies: '$p' is not always, everysec or no" ;; esac
done
for p in $PIPELINES; do is_uint "$p" || die "--pipelines: '$p' is not a positive integer"; done
[ -n "${POLICIES// /}" ] || die "--policies is empty"
[ -n "${PIPELINES// /}" ] || die "--pipelines is empty"

# ---- prerequisites ------------------------------------------------------------------------------

missing=$(missing_tools redis-server redis-benchmark redis-cli timeout awk)
if [ -n "$missing" ]; then
    die "not found: $missing. Run tools/setup.sh, or install the Debian packages by hand:" \
        "apt-get install -y redis-server redis-tools"
fi
need_built "$STRATA"
warn_build "$STRATA"

mkdir -p "$DATA_PARENT" || die "cannot create --data-dir $DATA_PARENT"
fstype=$(fs_type "$DATA_PARENT")
case "$fstype" in
tmpfs | ramfs) say "WARNING: $DATA_PARENT is on $fstype: fsync is free there, so 'always' measures nothing; use --data-dir" ;;
esac

[ -n "$OUT" ] || OUT=$ROOT/bench/out/redis_compare-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/raw" "$OUT/logs" || die "cannot create output directory $OUT"

WORK=$(mktemp -d "$DATA_PARENT/strata-redis-compare.XXXXXX") || die "mktemp -d in $DATA_PARENT failed"

# ---- server lifecycle ---------------------------------------------------------------------------

# start_named NAME LOG DATADIR POLICY: starts redis or strata (bench/lib.sh start_server) with the
# given appendfsync policy.
start_named() {
    local name=$1 log=$2 dir=$3 policy=$4
    case "$name" in
    redis)
        start_server redis "$log" "$dir" redis-server --appendonly yes --appendfsync "$policy" \
            --save '' --daemonize no --logfile ''
        ;;
    strata)
        start_server strata "$log" "$dir" "$STRATA" --appendfsync "$policy" \
            ${STRATA_ARGS[@]+"${STRATA_ARGS[@]}"}
        ;;
    esac
}

install_traps

# ---- one measurement ----------------------------------------------------------------------------

# case_tag NAME POLICY PIPELINE ROUND: the name of one run's files, e.g. redis-always-P16-r2.
case_tag() { printf '%s-%s-P%s-r%s' "$1" "$2" "$3" "$4"; }

# run_case NAME POLICY PIPELINE ROUND: fresh server, one redis-benchmark run, stop. Leaves the raw
# CSV in $OUT/raw/<case_tag>.csv and the logs in $OUT/logs/<case_tag>.*.
run_case() {
    local name=$1 policy=$2 pipe=$3 round=$4 tag dir raw errlog rc keys
    tag=$(case_tag "$name" "$policy" "$pipe" "$round")
    dir=$WORK/$tag
    raw=$OUT/raw/$tag.csv
    errlog=$OUT/logs/$tag.benchmark.stderr
    mkdir -p "$dir"
    start_named "$name" "$OUT/logs/$tag.server.log" "$dir" "$policy"
    say "$tag (round $round/$ROUNDS): port $SERVER_PORT, redis-benchmark -t $TESTS -n $N -r $KEYSPACE -d $VALUE_BYTES -c $CLIENTS -P $pipe"
    rc=0
    timeout --foreground --kill-after=10 "$BENCH_TIMEOUT" \
        redis-benchmark -h 127.0.0.1 -p "$SERVER_PORT" -t "$TESTS" -n "$N" -r "$KEYSPACE" \
        -d "$VALUE_BYTES" -c "$CLIENTS" -P "$pipe" --csv >"$raw" 2>"$errlog" || rc=$?
    case "$rc" in
    130 | 143) say "interrupted"; exit "$rc" ;; # SIGINT/SIGTERM: the EXIT trap stops the server
    124 | 137) say "$tag: redis-benchmark hit --bench-timeout ${BENCH_TIMEOUT}s" ;;
    esac
    if [ "$rc" -ne 0 ]; then
        show_log "$errlog"
        show_log "$SERVER_LOG"
        stop_server "$name"
        die "$tag: redis-benchmark exited with status $rc"
    fi
    # redis-benchmark stops at the first error reply; this also catches a server that said OK to
    # everything and stored nothing.
    keys=$(redis-cli -p "$SERVER_PORT" dbsize 2>/dev/null || echo "?")
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        show_log "$SERVER_LOG"
        die "$tag: $name died during the benchmark"
    fi
    stop_server "$name"
    [[ $keys =~ ^[0-9]+$ && $keys -gt 0 ]] || say "WARNING: $tag: DBSIZE after the run is '$keys'"
    say "$tag: done, DBSIZE $keys, $(awk -F'","' 'NR > 1 { gsub(/"/, "", $1); printf "%s%s %s", sep, $1, $2; sep = ", " }' "$raw") ops/s"
    rm -rf "$dir"
}

# rps CSV TEST: requests/s of TEST (set, get, incr, mset) from a redis-benchmark --csv file.
# redis-benchmark names its rows "SET", "GET", "INCR", "MSET (10 keys)": match the first word.
rps() {
    awk -F'","' -v t="$2" 'NR > 1 {
        name = $1; gsub(/"/, "", name); split(name, w, " ");
        if (tolower(w[1]) == t) { print $2; exit }
    }' "$1"
}

# ---- main ---------------------------------------------------------------------------------------

redis_version=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
strata_rev=$(strata_revision)
say "output in $OUT"
say "redis-server $redis_version, strata $strata_rev, $(nproc) CPUs, data dir $DATA_PARENT ($fstype)"
if [ "$ROUNDS" -eq 1 ]; then
    order_note="one round each: Redis, then Strata"
else
    order_note="$ROUNDS rounds each, Redis first in odd rounds, Strata first in even ones"
fi
say "n=$N per test; cases: policies [$POLICIES] x pipelines [$PIPELINES]; $order_note"

for policy in $POLICIES; do
    for pipe in $PIPELINES; do
        for ((round = 1; round <= ROUNDS; round++)); do
            # Alternate the order so that drift in the machine (fsync latency, CPU steal) does
            # not always favour the same server; the per-round ratio pairs two adjacent runs.
            if ((round % 2 == 1)); then order="redis strata"; else order="strata redis"; fi
            for name in $order; do
                run_case "$name" "$policy" "$pipe" "$round"
            done
        done
    done
done

# ---- report -------------------------------------------------------------------------------------

# rounds.csv: one row per case, test and round, with the ratio of that round's two runs.
# results.csv: one row per case and test: the median ops/s of each server over the rounds, the
# median of the per-round ratios, their min and max, and the number of rounds. The first six
# columns are those of a one-round run (a median of one value is that value).
ROUNDS_CSV=$OUT/rounds.csv
CSV=$OUT/results.csv
MD=$OUT/results.md
echo "policy,pipeline,test,round,first,redis_ops_per_s,strata_ops_per_s,ratio_strata_over_redis" >"$ROUNDS_CSV"
for policy in $POLICIES; do
    for pipe in $PIPELINES; do
        for t in ${TESTS//,/ }; do
            for ((round = 1; round <= ROUNDS; round++)); do
                if ((round % 2 == 1)); then first=redis; else first=strata; fi
                rraw=$OUT/raw/$(case_tag redis "$policy" "$pipe" "$round").csv
                sraw=$OUT/raw/$(case_tag strata "$policy" "$pipe" "$round").csv
                r=$(rps "$rraw" "$t")
                s=$(rps "$sraw" "$t")
                if [ -z "$r" ] || [ -z "$s" ]; then
                    die "no '$t' row in $rraw or $sraw"
                fi
                ratio=$(awk -v r="$r" -v s="$s" 'BEGIN { if (r > 0) printf "%.4f", s / r; else print "n/a" }')
                echo "$policy,$pipe,$t,$round,$first,$r,$s,$ratio" >>"$ROUNDS_CSV"
            done
        done
    done
done

echo "policy,pipeline,test,redis_ops_per_s,strata_ops_per_s,ratio_strata_over_redis,ratio_min,ratio_max,rounds" >"$CSV"
awk -F, '
    # median of a[1..n]: sorts a copy (n is the number of rounds, small).
    function median(a, n,    b, i, j, v) {
        for (i = 1; i <= n; i++) b[i] = a[i]
        for (i = 2; i <= n; i++) {
            v = b[i]
            for (j = i - 1; j >= 1 && b[j] > v; j--) b[j + 1] = b[j]
            b[j + 1] = v
        }
        return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
    }
    NR > 1 {
        k = $1 "," $2 "," $3
        if (!(k in cnt)) { order[++nk] = k; cnt[k] = 0; nq[k] = 0 }
        i = ++cnt[k]
        red[k, i] = $6; str[k, i] = $7
        if ($8 != "n/a") qs[k, ++nq[k]] = $8
    }
    END {
        for (o = 1; o <= nk; o++) {
            k = order[o]
            split("", a); for (i = 1; i <= cnt[k]; i++) a[i] = red[k, i]; rmed = median(a, cnt[k])
            split("", a); for (i = 1; i <= cnt[k]; i++) a[i] = str[k, i]; smed = median(a, cnt[k])
            if (nq[k] == 0) {
                qmed = qmin = qmax = "n/a"
            } else {
                split("", a); qmin = qmax = qs[k, 1] + 0
                for (i = 1; i <= nq[k]; i++) {
                    a[i] = qs[k, i] + 0
                    if (a[i] < qmin) qmin = a[i]
                    if (a[i] > qmax) qmax = a[i]
                }
                qmed = sprintf("%.2f", median(a, nq[k]))
                qmin = sprintf("%.2f", qmin); qmax = sprintf("%.2f", qmax)
            }
            printf "%s,%.2f,%.2f,%s,%s,%s,%d\n", k, rmed, smed, qmed, qmin, qmax, cnt[k]
        }
    }' "$ROUNDS_CSV" >>"$CSV"

{
    echo "# redis_compare: Strata vs Redis, redis-benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); host: $(nproc) CPUs; data dir: $DATA_PARENT ($fstype)"
    echo "- redis-server $redis_version (appendonly yes, save ''); strata $strata_rev ($STRATA${STRATA_ARGS[*]:+ ${STRATA_ARGS[*]}})"
    echo "- redis-benchmark -t $TESTS -n $N -r $KEYSPACE -d $VALUE_BYTES -c $CLIENTS -P <pipeline> --csv"
    if [ "$ROUNDS" -eq 1 ]; then
        echo "- one server at a time, each fresh on an empty dir; one round: Redis, then Strata, in each"
        echo "  case. mset ops/s are MSET commands (10 keys each) per second."
        echo
        echo "| policy | pipeline | test | redis ops/s | strata ops/s | strata/redis |"
        echo "|---|---:|---|---:|---:|---:|"
        awk -F, 'NR > 1 { printf "| %s | %s | %s | %.0f | %.0f | %s |\n", $1, $2, $3, $4, $5, $6 }' "$CSV"
    else
        echo "- one server at a time, each fresh on an empty dir; $ROUNDS rounds per case, Redis first in"
        echo "  odd rounds and Strata first in even ones. ops/s are medians over the rounds; ratio_med is"
        echo "  the median of the per-round ratios strata/redis (the figure to quote), ratio_min and"
        echo "  ratio_max their spread; per-round figures are in rounds.csv. mset ops/s are MSET"
        echo "  commands (10 keys each) per second."
        echo
        echo "| policy | pipeline | test | redis ops/s (med) | strata ops/s (med) | ratio_med | ratio_min | ratio_max | rounds |"
        echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
        awk -F, 'NR > 1 { printf "| %s | %s | %s | %.0f | %.0f | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$CSV"
    fi
} >"$MD"

if [ "$ROUNDS" -eq 1 ]; then
    printf '%-9s %8s %-5s %14s %14s %13s\n' policy pipeline test "redis ops/s" "strata ops/s" "strata/redis"
    awk -F, 'NR > 1 { printf "%-9s %8s %-5s %14.0f %14.0f %13s\n", $1, $2, $3, $4, $5, $6 }' "$CSV"
else
    printf '%-9s %8s %-5s %14s %14s %9s %9s %9s %6s\n' policy pipeline test "redis ops/s" "strata ops/s" \
        ratio_med ratio_min ratio_max rounds
    awk -F, 'NR > 1 { printf "%-9s %8s %-5s %14.0f %14.0f %9s %9s %9s %6s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$CSV"
    say "ops/s are medians over $ROUNDS rounds; quote ratio_med (per-round figures: $ROUNDS_CSV)"
fi
say "wrote $CSV, $MD and $ROUNDS_CSV"
