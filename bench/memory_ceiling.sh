#!/usr/bin/env bash
# memory_ceiling.sh -- does strata-server stay within its memory_limit while it holds 20x that much?
#
# Starts strata-server (--memory-limit 64MiB, --appendfsync everysec) on a free loopback port with a
# fresh data directory on disk, runs strata-memory-ceiling against it (load --bytes of random keys,
# read a random sample back and check every byte, sample the server's VmRSS every 100 ms and read
# VmHWM at the end), saves the server's INFO, stops the server and prints the summary. The issue's
# check is peak RSS < 1.5 x limit + 32 MiB: the summary's peak_rss_ok line says yes or NO.
#
# Output: the summary on stdout; progress on stderr; summary.txt, rss.csv (every RSS sample),
# info.txt (INFO after the run), server.log and client.stderr in the output directory. The exit
# status says whether the run completed and every value read back was right, never whether the
# RSS stayed under the bound (benchmarks print, tests assert).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=memory_ceiling
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$ROOT/bench/lib.sh"

usage() {
    cat <<EOF
usage: bench/memory_ceiling.sh [options]
  --quick            smoke run: --bytes 64MiB and --sample 20000 (unless given)
  --bytes SIZE       key + value payload to load (default 1280MiB, 20 x the default limit)
  --limit SIZE       the server's --memory-limit (default 64MiB); the bound is 1.5 x limit + 32 MiB
  --value-size SIZE  bytes per value (default 1000)
  --pipeline N       commands in flight (default 64)
  --sample N         random loaded keys read back and checked (default 100000)
  --strata PATH      strata-server binary (default build/strata-server; env STRATA_SERVER)
  --client PATH      strata-memory-ceiling binary (default: next to the server binary; env
                     STRATA_MEMORY_CEILING)
  --strata-arg ARG   extra argument for strata-server, repeatable (e.g. --strata-arg --write-buffer
                     --strata-arg 16MiB)
  --data-dir DIR     parent of the server's temporary data directory (default \$TMPDIR or /tmp);
                     use a disk, not tmpfs
  --keep             keep the data directory after the run
  --out DIR          output directory (default bench/out/memory_ceiling-<timestamp>)
  --timeout S        limit for the client's run, seconds (default 3600)
  -h, --help         this text
SIZE is bytes or a number with a unit, as strata-server reads sizes: k, m, g (decimal), kb, mb,
gb, kib, mib, gib (binary).
Needs redis-cli (Debian package redis-tools) and a build with hiredis (libhiredis-dev), which
builds strata-memory-ceiling.
EOF
}

# ---- options ------------------------------------------------------------------------------------

QUICK=0
BYTES=""
LIMIT=64MiB
VALUE_SIZE=1000
PIPELINE=64
SAMPLE=""
STRATA=${STRATA_SERVER:-$ROOT/build/strata-server}
CLIENT=${STRATA_MEMORY_CEILING:-}
STRATA_ARGS=()
DATA_PARENT=${TMPDIR:-/tmp}
KEEP=0
OUT=""
TIMEOUT=3600
START_TIMEOUT=30   # seconds for the server to answer PING
STOP_TIMEOUT=60    # seconds for the server to exit after SIGTERM, then SIGKILL
INFO_TIMEOUT=300   # INFO counts keys with a scan of the whole keyspace

while [ "$#" -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --bytes) need_arg "$@"; BYTES=$2; shift ;;
    --limit) need_arg "$@"; LIMIT=$2; shift ;;
    --value-size) need_arg "$@"; VALUE_SIZE=$2; shift ;;
    --pipeline) need_arg "$@"; PIPELINE=$2; shift ;;
    --sample) need_arg "$@"; SAMPLE=$2; shift ;;
    --strata) need_arg "$@"; STRATA=$2; shift ;;
    --client) need_arg "$@"; CLIENT=$2; shift ;;
    --strata-arg) need_arg "$@"; STRATA_ARGS+=("$2"); shift ;;
    --data-dir) need_arg "$@"; DATA_PARENT=$2; shift ;;
    --keep) KEEP=1 ;;
    --out) need_arg "$@"; OUT=$2; shift ;;
    --timeout) need_arg "$@"; TIMEOUT=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

# size_bytes OPTION SIZE: SIZE in bytes, with strata-server's units (net/config.c config_parse_size).
size_bytes() {
    local opt=$1 s=$2 n unit mul
    [[ $s =~ ^([0-9]+)\ *([A-Za-z]*)$ ]] || die "$opt: '$s' is not a size (bytes, or e.g. 64MiB, 1GiB)"
    [ "${#BASH_REMATCH[1]}" -le 15 ] || die "$opt: '$s' is too large"
    n=$((10#${BASH_REMATCH[1]}))
    unit=${BASH_REMATCH[2],,}
    case "$unit" in
    "" | b) mul=1 ;;
    k) mul=1000 ;;
    kb | kib) mul=$((1 << 10)) ;;
    m) mul=1000000 ;;
    mb | mib) mul=$((1 << 20)) ;;
    g) mul=1000000000 ;;
    gb | gib) mul=$((1 << 30)) ;;
    *) die "$opt: '$s': unknown unit '$unit' (k, m, g, kb, mb, gb, kib, mib, gib)" ;;
    esac
    [ "$n" -le $(((1 << 50) / mul)) ] || die "$opt: '$s' is too large"
    [ "$n" -gt 0 ] || die "$opt: '$s' must be more than 0 bytes"
    echo $((n * mul))
}
is_uint() { [[ $1 =~ ^[1-9][0-9]{0,11}$ ]]; }

if [ -z "$BYTES" ]; then
    if [ "$QUICK" -eq 1 ]; then BYTES=64MiB; else BYTES=1280MiB; fi
fi
if [ -z "$SAMPLE" ]; then
    if [ "$QUICK" -eq 1 ]; then SAMPLE=20000; else SAMPLE=100000; fi
fi
BYTES_B=$(size_bytes --bytes "$BYTES")
LIMIT_B=$(size_bytes --limit "$LIMIT")
VALUE_B=$(size_bytes --value-size "$VALUE_SIZE")
is_uint "$PIPELINE" || die "--pipeline: expected a positive integer, got '$PIPELINE'"
is_uint "$SAMPLE" || die "--sample: expected a positive integer, got '$SAMPLE'"
is_uint "$TIMEOUT" || die "--timeout: expected a positive integer, got '$TIMEOUT'"
BOUND_B=$((LIMIT_B + LIMIT_B / 2 + (32 << 20)))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# ---- prerequisites ------------------------------------------------------------------------------

missing=$(missing_tools redis-cli timeout awk)
[ -z "$missing" ] || die "not found: $missing. Install the Debian package: apt-get install -y redis-tools"
need_built "$STRATA"
[ -n "$CLIENT" ] || CLIENT=$(dirname "$STRATA")/strata-memory-ceiling
[ -x "$CLIENT" ] || die "$CLIENT is missing or not executable. It is built with the server when" \
    "hiredis is installed (apt-get install -y libhiredis-dev, then re-run cmake); or pass --client PATH"

# A Debug or sanitizer build has another memory profile altogether.
warn_build "$STRATA" "RSS means nothing"

mkdir -p "$DATA_PARENT" || die "cannot create --data-dir $DATA_PARENT"
fstype=$(fs_type "$DATA_PARENT")
case "$fstype" in
tmpfs | ramfs) say "WARNING: $DATA_PARENT is on $fstype: the data lives in RAM (outside the server's RSS); use --data-dir on a disk" ;;
esac
# The WAL, the tables and a compaction's output can be on disk at once.
need_kib=$((BYTES_B * 2 / 1024))
free_kib=$(df -Pk "$DATA_PARENT" | awk 'NR == 2 { print $4 }')
if [[ $free_kib =~ ^[0-9]+$ ]] && [ "$free_kib" -lt "$need_kib" ]; then
    die "$DATA_PARENT has $((free_kib / 1024)) MiB free; a run of --bytes $BYTES needs about $((need_kib / 1024)) MiB (use --data-dir)"
fi

[ -n "$OUT" ] || OUT=$ROOT/bench/out/memory_ceiling-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT" || die "cannot create output directory $OUT"

WORK=$(mktemp -d "$DATA_PARENT/strata-memory-ceiling.XXXXXX") || die "mktemp -d in $DATA_PARENT failed"

# ---- server lifecycle ---------------------------------------------------------------------------

SERVER_LOG=$OUT/server.log
CLIENT_PID=""

# Called first by bench/lib.sh cleanup (the EXIT trap), before it kills the server.
before_cleanup() {
    if [ -n "$CLIENT_PID" ]; then
        kill -TERM "$CLIENT_PID" 2>/dev/null || true # timeout(1) passes it on to the client
        wait "$CLIENT_PID" 2>/dev/null || true
        CLIENT_PID=""
    fi
}
install_traps

# vm_field NAME: the server's /proc status field NAME (VmHWM, VmRSS) in bytes, or empty.
vm_field() {
    awk -v f="$1:" '$1 == f { print $2 * 1024 }' "/proc/$SERVER_PID/status" 2>/dev/null || true
}

# ---- the run ------------------------------------------------------------------------------------

strata_rev=$(strata_revision)
say "output in $OUT"
say "strata $strata_rev, $(nproc) CPUs, data dir $WORK ($fstype)"
say "limit $(mib "$LIMIT_B"), bound $(mib "$BOUND_B"), loading $(mib "$BYTES_B") ($((BYTES_B / LIMIT_B))x the limit)"

start_server strata-server "$SERVER_LOG" "$WORK" "$STRATA" --memory-limit "$LIMIT_B" --appendfsync everysec \
    ${STRATA_ARGS[@]+"${STRATA_ARGS[@]}"}
say "strata-server pid $SERVER_PID on port $SERVER_PORT: $STRATA --memory-limit $LIMIT_B --appendfsync everysec${STRATA_ARGS[*]:+ ${STRATA_ARGS[*]}}"

CLIENT_CMD=("$CLIENT" --host 127.0.0.1 --port "$SERVER_PORT" --pid "$SERVER_PID" --bytes "$BYTES_B"
    --limit "$LIMIT_B" --value-size "$VALUE_B" --pipeline "$PIPELINE" --sample "$SAMPLE"
    --timeout "$TIMEOUT" --rss-csv "$OUT/rss.csv")
{
    echo "strata $strata_rev; $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) CPUs; data dir $WORK ($fstype)"
    echo "server: $STRATA --port $SERVER_PORT --bind 127.0.0.1 --dir $WORK --memory-limit $LIMIT_B --appendfsync everysec${STRATA_ARGS[*]:+ ${STRATA_ARGS[*]}}"
    echo "client: ${CLIENT_CMD[*]}"
} >"$OUT/command.txt"

client_rc=0
# The client stops itself at --timeout; timeout(1) only guards against a client that hangs. It
# runs in the background so that a signal to this script is handled at once (bash runs traps only
# between commands, and `wait` is interruptible); the EXIT trap then stops the client and server.
timeout --kill-after=10 $((TIMEOUT + 60)) "${CLIENT_CMD[@]}" \
    >"$OUT/summary.txt" 2> >(tee "$OUT/client.stderr" >&2) &
CLIENT_PID=$!
wait "$CLIENT_PID" || client_rc=$?
CLIENT_PID=""
case "$client_rc" in
124 | 137) say "strata-memory-ceiling hung past --timeout ${TIMEOUT}s and was killed" ;;
esac

failed=0
[ "$client_rc" -eq 0 ] || failed=1
server_alive=0
if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then server_alive=1; fi

hwm_at_stop=""
if [ "$server_alive" -eq 1 ]; then
    say "INFO (counts every key: may take a while)"
    if ! timeout "$INFO_TIMEOUT" redis-cli -p "$SERVER_PORT" INFO 2>&1 | tr -d '\r' >"$OUT/info.txt"; then
        say "WARNING: redis-cli INFO failed or took over ${INFO_TIMEOUT}s (see $OUT/info.txt)"
    fi
    hwm_at_stop=$(vm_field VmHWM)
    say "stopping strata-server (SIGTERM)"
    stop_server strata-server
    if [ "$STOP_STATUS" != 0 ]; then
        show_log "$SERVER_LOG"
        say "strata-server did not stop cleanly: exit status $STOP_STATUS"
        failed=1
    fi
else
    if [ -n "$SERVER_PID" ]; then
        STOP_STATUS=0
        wait "$SERVER_PID" 2>/dev/null || STOP_STATUS=$?
        SERVER_PID=""
    fi
    show_log "$SERVER_LOG"
    say "strata-server died during the run (exit status ${STOP_STATUS:-unknown})"
    failed=1
fi
data_bytes=$(du -sb "$WORK" 2>/dev/null | awk '{ print $1 }')

# ---- report -------------------------------------------------------------------------------------

# info FIELD: FIELD's value from the saved INFO, or n/a.
info() {
    local v
    v=$(awk -F: -v f="$1" '$1 == f { print $2; exit }' "$OUT/info.txt" 2>/dev/null || true)
    echo "${v:-n/a}"
}

{
    cat "$OUT/summary.txt"
    if [ -s "$OUT/info.txt" ]; then
        echo "info_used_memory_rss: $(info used_memory_rss)"
        echo "info_memtable_bytes: $(info engine_memtable_bytes)"
        echo "info_immutable_memtables: $(info engine_immutable_memtables)"
        echo "info_block_cache_usage: $(info block_cache_usage) of $(info block_cache_capacity)"
        echo "info_write_stalls: $(info engine_write_stalls) ($(info engine_write_stall_micros) us)"
        echo "info_flushes: $(info engine_flushes), compactions: $(info compactions)"
        echo "info_keyspace: $(info db0)"
    fi
    [ -z "$hwm_at_stop" ] || echo "vmhwm_at_stop: $hwm_at_stop ($(mib "$hwm_at_stop")), after INFO"
    [ -z "$data_bytes" ] || echo "data_dir_bytes: $data_bytes ($(mib "$data_bytes"))"
    echo "server_exit: ${STOP_STATUS:-n/a}"
} >"$OUT/summary.full.txt"
mv "$OUT/summary.full.txt" "$OUT/summary.txt"
cat "$OUT/summary.txt"
say "output files in $OUT"
if [ "$failed" -ne 0 ]; then
    [ "$client_rc" -eq 0 ] || say "strata-memory-ceiling exited with status $client_rc (see $OUT/client.stderr)"
    die "the run did not complete, or a value read back was wrong"
fi
