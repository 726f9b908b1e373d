# shellcheck shell=bash
# bench/lib.sh -- shell functions shared by the benchmark scripts that drive a server
# (redis_compare.sh, memory_ceiling.sh). Sourced, never run: `. "$ROOT/bench/lib.sh"`.
#
# Offers:
#   say MSG..., die MSG...     progress and fatal errors on stderr, prefixed with "$PROG: "
#   need_arg OPT ARGS...       in an option loop: dies unless OPT has a value after it
#   missing_tools TOOL...      prints the TOOLs not on PATH (space separated; nothing if none)
#   need_built BIN [TARGET]    dies unless BIN is executable, saying how to build it (TARGET: the
#                              cmake target, when the default build does not make it)
#   warn_build BIN [NOTE]      warns (and carries on) when BIN's build directory is not Release or
#                              has sanitizers; NOTE ends the sanitizer warning
#   fs_type DIR                the file system type DIR is on (tmpfs, ext4, ...), or "unknown"
#   strata_revision            the short git revision of $ROOT, "+dirty" if the tree has changes
#   free_port                  a loopback TCP port nobody listens on
#   show_log FILE              the last 40 lines of FILE on stderr, between markers
#   start_server NAME LOG DIR BIN [ARG...]
#                              starts `BIN --port P --bind 127.0.0.1 --dir DIR ARG...` on a free
#                              port P and waits (bounded) until it answers redis-cli PING
#   stop_server NAME           SIGTERM, a bounded wait, then SIGKILL; sets STOP_STATUS
#   install_traps              EXIT runs cleanup (kills the server, removes $WORK); INT and TERM
#                              say "interrupted" and exit 130
#
# Expects, from the script that sources it:
#   PROG           the script's name for messages (e.g. redis_compare); set before sourcing
#   ROOT           the repository root (strata_revision)
#   WORK           the temporary data directory that cleanup removes (set before install_traps)
#   KEEP           optional: 1 keeps $WORK at exit (and says where it is)
#   before_cleanup optional function: cleanup calls it first (e.g. to stop a client)
#   START_TIMEOUT  seconds for a server to answer PING (default 30; set after sourcing to change)
#   STOP_TIMEOUT   seconds for a server to exit after SIGTERM, then SIGKILL (default 60)
#
# Sets: SERVER_PID (the one server running now, empty if none), SERVER_PORT, SERVER_LOG and
# STOP_STATUS (the last stopped server's exit status, "killed" when SIGKILL was needed).
# One server at a time: start_server overwrites SERVER_PID.
#
# Every loop is bounded; every wait on a server has a deadline. Meant for `set -euo pipefail`.

: "${PROG:?set PROG before sourcing bench/lib.sh}"

START_TIMEOUT=30
STOP_TIMEOUT=60
SERVER_PID=""
SERVER_PORT=""
SERVER_LOG=""
STOP_STATUS=""

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

need_arg() { [ "$#" -ge 2 ] || die "$1 needs a value (see --help)"; }

# The defaults of the options every server benchmark takes (server_option parses them).
server_option_defaults() {
    STRATA=${STRATA_SERVER:-$ROOT/build/strata-server}
    STRATA_ARGS=()
    DATA_PARENT=${TMPDIR:-/tmp}
    OUT=""
    TIMEOUT=1800
    KEEP=0
    PY=${PYTHON:-/usr/bin/python3}
    START_TIMEOUT=30 # seconds for a server to answer PING
    STOP_TIMEOUT=60  # seconds for a server to exit after SIGTERM, then SIGKILL
}

# One of those options at $1 (its value in $2): sets OPT_TAKEN to the arguments it used, 0 when $1
# is not one of them.
server_option() {
    OPT_TAKEN=2
    case "$1" in
    --server | --peer) need_arg "$@"; SERVERS=$2 ;;
    --strata) need_arg "$@"; STRATA=$2 ;;
    --strata-arg) need_arg "$@"; STRATA_ARGS+=("$2") ;;
    --data-dir) need_arg "$@"; DATA_PARENT=$2 ;;
    --out) need_arg "$@"; OUT=$2 ;;
    --timeout) need_arg "$@"; TIMEOUT=$2 ;;
    --keep-data) KEEP=1; OPT_TAKEN=1 ;;
    *) OPT_TAKEN=0 ;;
    esac
}

missing_tools() {
    local tool absent=()
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || absent+=("$tool")
    done
    [ "${#absent[@]}" -eq 0 ] || echo "${absent[*]}"
}

need_built() {
    [ -x "$1" ] || die "$1 is missing or not executable; build it first:" \
        "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2${2:+ --target $2}"
}

# A benchmark of a Debug or sanitizer build says nothing; say so loudly (and carry on).
warn_build() {
    local cache btype sanitize
    cache=$(dirname "$1")/CMakeCache.txt
    [ -f "$cache" ] || return 0
    btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
    sanitize=$(sed -n 's/^STRATA_SANITIZE:[A-Z]*=//p' "$cache")
    [ "$btype" = Release ] || say "WARNING: $1 is a '${btype:-unset}' build, not Release"
    case "$sanitize" in ON | on | 1 | TRUE | true) say "WARNING: $1 is built with sanitizers${2:+: $2}" ;; esac
}

fs_type() {
    # findmnt prints one line per mount stacked on the path (seen: two tmpfs on /dev/shm): the
    # first is what the path is on.
    local t
    t=$(findmnt -n -o FSTYPE -T "$1" 2>/dev/null | head -n 1) || t=
    [ -n "$t" ] || t=$(stat -f -c %T "$1" 2>/dev/null) || t=
    echo "${t:-unknown}"
}

strata_revision() {
    local rev
    rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -1)" ]; then rev="$rev+dirty"; fi
    echo "$rev"
}

# A loopback port nobody listens on: bind port 0 and read what the kernel gave. Without python3,
# probe random high ports with bash's /dev/tcp until one refuses a connection.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local tries p
    for ((tries = 0; tries < 100; tries++)); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free loopback port found in 100 tries"
}

show_log() {
    say "---- $1 (last 40 lines) ----"
    tail -n 40 "$1" >&2 || true
    say "---- end of $1 ----"
}

# start_server NAME LOG DIR BIN [ARG...]: runs `BIN --port P --bind 127.0.0.1 --dir DIR ARG...` in
# the background, stdout and stderr to LOG, on a free port P, and waits up to START_TIMEOUT seconds
# until it answers PING. Retries on a new port if P was taken between probe and bind (3 tries).
# Sets SERVER_PID (the server itself, not a subshell), SERVER_PORT and SERVER_LOG. Dies, showing
# LOG, if the server exits during startup or does not answer in time. NAME is for messages.
start_server() {
    local name=$1 log=$2 dir=$3 bin=$4 tries deadline
    shift 4
    for ((tries = 0; tries < 3; tries++)); do
        SERVER_PORT=$(free_port)
        # shellcheck disable=SC2034 # read by the scripts that source this file
        SERVER_LOG=$log
        "$bin" --port "$SERVER_PORT" --bind 127.0.0.1 --dir "$dir" "$@" >"$log" 2>&1 &
        SERVER_PID=$!
        deadline=$((SECONDS + START_TIMEOUT))
        while [ "$SECONDS" -lt "$deadline" ]; do
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                wait "$SERVER_PID" 2>/dev/null || true
                SERVER_PID=""
                break
            fi
            if [ "$(redis-cli -p "$SERVER_PORT" ping 2>/dev/null)" = PONG ]; then
                return 0
            fi
            sleep 0.1
        done
        if [ -n "$SERVER_PID" ]; then
            show_log "$log"
            die "$name did not answer PING on port $SERVER_PORT within ${START_TIMEOUT}s"
        fi
        if grep -qi 'address already in use' "$log"; then
            say "$name: port $SERVER_PORT was taken meanwhile; trying another"
            continue
        fi
        show_log "$log"
        die "$name exited during startup (port $SERVER_PORT, dir $dir)"
    done
    show_log "$log"
    die "$name: no usable port after 3 tries"
}

# stop_server NAME: stops the running server, if any: SIGTERM, up to STOP_TIMEOUT seconds, then
# SIGKILL. Sets STOP_STATUS to its exit status ("killed" when SIGKILL was needed).
stop_server() {
    local name=$1 deadline rc=0
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$SERVER_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        say "WARNING: $name did not exit within ${STOP_TIMEOUT}s of SIGTERM; killing it"
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        STOP_STATUS=killed
    else
        wait "$SERVER_PID" 2>/dev/null || rc=$?
        # shellcheck disable=SC2034 # read by the scripts that source this file
        STOP_STATUS=$rc
    fi
    SERVER_PID=""
}

# The EXIT trap: before_cleanup (if the script defines it), SIGKILL to a server still running,
# then $WORK removed (kept if KEEP=1). Exits with the status the script was exiting with.
cleanup() {
    local rc=$?
    if declare -F before_cleanup >/dev/null; then before_cleanup; fi
    if [ -n "$SERVER_PID" ]; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
    if [ "${KEEP:-0}" -eq 1 ]; then
        say "data directory kept: ${WORK:-}"
    else
        rm -rf "${WORK:-}"
    fi
    exit "$rc"
}

install_traps() {
    trap cleanup EXIT
    trap 'say "interrupted"; exit 130' INT TERM
}
