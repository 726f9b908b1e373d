#!/usr/bin/env bash
# test_redis_cli.sh ST_ITSERVER -- drives strata-server with the real redis-cli: arguments,
# --no-raw and --raw output, commands piped on stdin, -x, -n, -r, --pipe (mass insertion),
# --scan, -3 (RESP3) and -a (AUTH). Servers come from st_itserver (the C harness: free loopback
# port, temporary directory, clean SIGTERM stop), so nothing is left behind.
# Exit: 0 all passed, 1 a check failed, 77 redis-cli is not installed (CTest SKIP).
set -uo pipefail

launcher=${1:?usage: test_redis_cli.sh ST_ITSERVER}
if ! command -v redis-cli >/dev/null 2>&1; then
    echo "SKIP: redis-cli not found (Debian package redis-tools)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-it-cli-XXXXXX")
failures=0
declare -A srv_pid srv_fd srv_port

# start_server NAME [SERVER ARGS...]: runs st_itserver with its stdin on a FIFO we hold open.
start_server() {
    local name=$1
    shift
    mkfifo "$tmp/$name.in"
    "$launcher" "$@" <"$tmp/$name.in" >"$tmp/$name.out" &
    srv_pid[$name]=$!
    local fd
    exec {fd}>"$tmp/$name.in"
    srv_fd[$name]=$fd
    local deadline=$((SECONDS + 30))
    while [ ! -s "$tmp/$name.out" ]; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "${srv_pid[$name]}" 2>/dev/null; then
            echo "FAIL: server $name did not start"
            exit 1
        fi
        sleep 0.05
    done
    read -r port _ <"$tmp/$name.out"
    srv_port[$name]=$port
}

# stop_server NAME: closes its stdin; st_itserver stops the server and reports how it ended.
stop_server() {
    local name=$1
    exec {srv_fd[$name]}>&-
    local rc=0
    wait "${srv_pid[$name]}" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: server $name did not stop cleanly (st_itserver exit $rc)"
        failures=$((failures + 1))
    fi
}

cleanup() {
    for name in "${!srv_pid[@]}"; do
        exec {srv_fd[$name]}>&- 2>/dev/null
        wait "${srv_pid[$name]}" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# cli ARGS...: redis-cli against the main server, bounded in time
cli() { timeout 20 redis-cli -h 127.0.0.1 -p "${srv_port[main]}" "$@"; }

# check DESCRIPTION EXPECTED ACTUAL
check() {
    if [ "$2" == "$3" ]; then
        echo "ok: $1"
    else
        echo "FAIL: $1"
        echo "  want: $(printf '%q' "$2")"
        echo "  got:  $(printf '%q' "$3")"
        failures=$((failures + 1))
    fi
}

start_server main
echo "server on port ${srv_port[main]}"

# ---- arguments and output formats -------------------------------------------------------------
check "PING" "PONG" "$(cli PING)"
check "SET with a spaced argument" "OK" "$(cli SET greeting 'hello world')"
check "GET (raw, stdout not a tty)" "hello world" "$(cli GET greeting)"
check "GET --raw" "hello world" "$(cli --raw GET greeting)"
check "GET --no-raw" '"hello world"' "$(cli --no-raw GET greeting)"
check "GET missing --no-raw" "(nil)" "$(cli --no-raw GET missing)"
check "INCR --no-raw" "(integer) 1" "$(cli --no-raw INCR counter)"
check "INCRBYFLOAT" "1.5" "$(cli INCRBYFLOAT counter 0.5)"
check "unknown command --no-raw" "(error) ERR unknown command 'GETT', with args beginning with: 'x' " "$(cli --no-raw GETT x)"
check "wrong arity --no-raw" "(error) ERR wrong number of arguments for 'get' command" "$(cli --no-raw GET)"
check "MSET" "OK" "$(cli MSET a 1 b 2 c 3)"
check "MGET --no-raw" $'1) "1"\n2) (nil)\n3) "3"' "$(cli --no-raw MGET a nosuch c)"
check "EXPIRE" "1" "$(cli EXPIRE a 100)"
ttl=$(cli TTL a)
if [ "$ttl" -ge 98 ] && [ "$ttl" -le 100 ]; then echo "ok: TTL"; else check "TTL in 98..100" "100" "$ttl"; fi
check "TYPE" "string" "$(cli TYPE b)"
check "-r 3 repeats" $'1\n2\n3' "$(cli -r 3 INCR repeated)"

# ---- a pipe of commands on stdin -----------------------------------------------------------------
check "commands piped on stdin" $'OK\n2\n2\nOK' "$(printf 'SET p 1\nINCR p\nGET p\nSET "q r" "s t"\n' | cli)"
check "quoted key from the pipe" "s t" "$(cli GET 'q r')"

# ---- -x: the last argument from stdin, binary-safe ------------------------------------------------
head -c 5000 /dev/urandom >"$tmp/blob"
check "-x SET from a binary file" "OK" "$(cli -x SET blob <"$tmp/blob")"
cli --raw GET blob >"$tmp/blob.out"
printf '\n' >>"$tmp/blob"
if cmp -s "$tmp/blob" "$tmp/blob.out"; then echo "ok: binary value round trip"; else
    echo "FAIL: binary value round trip (GET --raw differs from the file)"
    failures=$((failures + 1))
fi
check "STRLEN of the blob" "5000" "$(cli STRLEN blob)"

# ---- -n: another database -------------------------------------------------------------------------
check "-n 2 SET" "OK" "$(cli -n 2 SET dbkey in-db-2)"
check "-n 2 GET" "in-db-2" "$(cli -n 2 GET dbkey)"
check "db 0 does not see db 2" "0" "$(cli EXISTS dbkey)"
check "-n 2 DBSIZE" "1" "$(cli -n 2 DBSIZE)"

# ---- --pipe: mass insertion of 1000 SETs in the raw protocol ----------------------------------------
for i in $(seq 1 1000); do
    printf '*3\r\n$3\r\nSET\r\n$%d\r\nmass:%d\r\n$%d\r\nv%d\r\n' $((5 + ${#i})) "$i" $((1 + ${#i})) "$i"
done >"$tmp/mass.resp"
pipe_out=$(cli --pipe <"$tmp/mass.resp" 2>&1)
case "$pipe_out" in
*"errors: 0, replies: 1000"*) echo "ok: --pipe mass insertion" ;;
*) check "--pipe mass insertion" "... errors: 0, replies: 1000" "$pipe_out" ;;
esac
check "a mass-inserted key" "v777" "$(cli GET mass:777)"

# ---- --scan ------------------------------------------------------------------------------------------
check "--scan --pattern counts every key once" "1000" "$(cli --scan --pattern 'mass:*' | sort -u | wc -l | tr -d ' ')"
check "--scan --pattern, no duplicates" "1000" "$(cli --scan --pattern 'mass:*' | wc -l | tr -d ' ')"
check "KEYS with a pattern" "mass:1000" "$(cli KEYS 'mass:100?')"
check "DBSIZE" "1009" "$(cli DBSIZE)"

# ---- RESP3 (-3) ----------------------------------------------------------------------------------------
check "-3 HELLO is a map" '1# "server" => "redis"' "$(cli -3 --no-raw HELLO 3 | head -n 1)"
check "-3 proto field" '3# "proto" => (integer) 3' "$(cli -3 --no-raw HELLO 3 | sed -n 3p)"
check "-3 GET missing is null" "(nil)" "$(cli -3 --no-raw GET missing)"
check "-3 CONFIG GET is a map" '1# "maxclients" => "10000"' "$(cli -3 --no-raw CONFIG GET maxclients)"
check "-3 MGET with a null" $'1) "1"\n2) (nil)' "$(cli -3 --no-raw MGET a nosuch)"
check "-3 INFO (verbatim) text" "# Server" "$(cli -3 --no-raw INFO server | head -n 1 | tr -d '\r')"

# ---- server commands through redis-cli ------------------------------------------------------------------
check "INFO has redis_version" "1" "$(cli INFO server | grep -c '^redis_version:')"
check "CLIENT SETNAME in a pipe" $'OK\ncli-test' "$(printf 'CLIENT SETNAME cli-test\nCLIENT GETNAME\n' | cli)"
check "CONFIG SET / GET" $'OK\ntimeout\n0' "$(printf 'CONFIG SET timeout 0\nCONFIG GET timeout\n' | cli)"
check "FLUSHDB" "OK" "$(cli -n 2 FLUSHDB)"
check "-n 2 after FLUSHDB" "0" "$(cli -n 2 DBSIZE)"

# ---- AUTH: -a against --requirepass ------------------------------------------------------------------------
start_server auth --requirepass 's3cret pw'
acli() { timeout 20 redis-cli -h 127.0.0.1 -p "${srv_port[auth]}" "$@"; }
check "no password: NOAUTH" "(error) NOAUTH Authentication required." "$(acli --no-raw PING)"
check "-a wrong" "AUTH failed: WRONGPASS invalid username-password pair or user is disabled." \
    "$(acli --no-auth-warning -a wrong PING 2>&1 >/dev/null)"
check "-a right" "PONG" "$(acli --no-auth-warning -a 's3cret pw' PING)"
check "--user default --pass" "PONG" "$(acli --no-auth-warning --user default --pass 's3cret pw' PING)"
check "AUTH in a pipe" $'OK\nOK\nv' "$(printf 'AUTH "s3cret pw"\nSET k v\nGET k\n' | acli)"
stop_server auth

# ---- the main server stops cleanly ---------------------------------------------------------------------------
stop_server main

if [ "$failures" -ne 0 ]; then
    echo "test_redis_cli: $failures check(s) FAILED"
    exit 1
fi
echo "test_redis_cli: all checks passed"
