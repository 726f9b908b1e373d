#!/usr/bin/python3
"""bench/collections_load.py -- the client side of bench/collections_bench.sh (issue 6).

Subcommands, each printing one JSON object on stdout (progress on stderr):

  load-hash    HSET KEY f<i> <value> for i in 0..N-1: --per-cmd fields per HSET, --pipeline HSETs
               per round trip. Values are --value-size random bytes (seeded), so they do not
               compress and the disk figures are the data's. Then HLEN KEY must be N.
  load-set     the same with SADD KEY m<i>..., members "m<i>" padded with random bytes to
               --value-size, so a set's disk footprint is comparable to a hash's.
  del          SLOWLOG RESET, DEL KEY (timed by the client), then SLOWLOG GET 10: the server's
               time of that DEL in microseconds (the duration field of its entry), and whether
               KEY is gone. Needs the server to log every command (slowlog-log-slower-than 0).
  leaderboard  --ops operations, each `ZADD KEY <random score> player:<random id in 0..999999>`
               then `ZREMRANGEBYRANK KEY 0 -(keep+1)` (keeps the top --keep), sent in pipelined
               batches of --depth operations (2 x depth commands per round trip), after
               --warmup untimed operations on KEY:warmup (deleted before the timed run).
               Throughput of the first and last 10% of the operations and of each tenth. A
               server without sorted sets (ZADD answered "unknown command") gives
               {"skipped": true}.

Exit status: 0 when the step ran to the end (or was skipped as above), 1 on an error reply, a
wrong count or a lost connection (the message goes to stderr). Only the standard library and
redis-py (Debian's python3-redis).
"""

import argparse
import json
import random
import sys
import time

import redis


def log(msg):
    print("collections_load: " + msg, file=sys.stderr, flush=True)


def fail(msg):
    log("error: " + msg)
    sys.exit(1)


def connect(a):
    return redis.Redis(host=a.host, port=a.port, socket_timeout=a.timeout, socket_connect_timeout=10)


def is_unknown_command(err):
    return "unknown command" in str(err).lower()


def load(a, kind):
    """HSET/SADD a.n elements into a.key in pipelined batches; returns the result dict."""
    r = connect(a)
    rng = random.Random(a.seed)
    cmd = "HSET" if kind == "hash" else "SADD"
    if a.fresh:
        r.delete(a.key)
    batch_elems = a.per_cmd * a.pipeline
    t0 = time.monotonic()
    next_note = t0 + 5
    added = 0
    i = 0
    while i < a.n:
        pipe = r.pipeline(transaction=False)
        end_batch = min(a.n, i + batch_elems)
        while i < end_batch:
            end_cmd = min(end_batch, i + a.per_cmd)
            args = [cmd, a.key]
            if kind == "hash":
                vals = rng.randbytes(a.value_size * (end_cmd - i))
                off = 0
                for j in range(i, end_cmd):
                    args.append("f%d" % j)
                    args.append(vals[off:off + a.value_size])
                    off += a.value_size
            else:
                for j in range(i, end_cmd):
                    name = b"m%d:" % j
                    pad = max(0, a.value_size - len(name))
                    args.append(name + rng.randbytes(pad))
            pipe.execute_command(*args)
            i = end_cmd
        replies = pipe.execute(raise_on_error=False)
        for rep in replies:
            if isinstance(rep, Exception):
                fail("%s answered %r" % (cmd, rep))
            added += int(rep)
        now = time.monotonic()
        if now >= next_note:
            log("%s %s: %d/%d elements, %.0f/s" % (cmd, a.key, i, a.n, i / (now - t0)))
            next_note = now + 5
    secs = time.monotonic() - t0
    card = int(r.execute_command("HLEN" if kind == "hash" else "SCARD", a.key))
    if card != a.n:
        fail("%s %s holds %d elements after the load; expected %d" % (kind, a.key, card, a.n))
    if added != a.n:
        fail("%s replies added %d elements; expected %d (the key was not empty?)" % (cmd, added, a.n))
    return {
        "step": "load-" + kind,
        "key": a.key,
        "n": a.n,
        "value_size": a.value_size,
        "per_cmd": a.per_cmd,
        "pipeline": a.pipeline,
        "secs": round(secs, 4),
        "elems_per_s": round(a.n / secs, 1) if secs > 0 else None,
        "card": card,
    }


def delete(a):
    r = connect(a)
    typ = r.type(a.key).decode()
    r.execute_command("SLOWLOG", "RESET")
    t0 = time.perf_counter()
    n = r.execute_command("DEL", a.key)
    client_ms = (time.perf_counter() - t0) * 1000.0
    entries = r.execute_command("SLOWLOG", "GET", "10")
    server_us = None
    for e in entries:  # newest first: [id, time, duration_us, argv, addr, name]
        argv = [x.decode(errors="replace") if isinstance(x, bytes) else str(x) for x in e[3]]
        if argv and argv[0].lower() == "del" and argv[1:2] == [a.key]:
            server_us = int(e[2])
            break
    if server_us is None:
        log("no DEL entry in SLOWLOG GET 10 (is slowlog-log-slower-than 0?): %r" % (entries,))
    exists = int(r.exists(a.key))
    if int(n) != 1:
        fail("DEL %s answered %r; expected 1" % (a.key, n))
    if exists:
        fail("%s still exists after DEL" % a.key)
    return {
        "step": "del",
        "key": a.key,
        "type": typ,
        "deleted": int(n),
        "server_us": server_us,
        "client_ms": round(client_ms, 3),
    }


def leaderboard(a):
    r = connect(a)
    rng = random.Random(a.seed)
    # Probe: does this server have sorted sets? Outside the timing, on a scratch key.
    probe = a.key + ":probe"
    try:
        r.execute_command("ZADD", probe, 1, "x")
        r.execute_command("ZREMRANGEBYRANK", probe, 0, -1)
    except redis.ResponseError as e:
        if is_unknown_command(e):
            return {"step": "leaderboard", "skipped": True, "reason": str(e)}
        fail("probe: %r" % (e,))
    r.delete(probe, a.key)
    stop = -(a.keep + 1)
    # Warm-up, untimed, on another key: the first batches would otherwise pay for the client's and
    # the connection's start, and a slow start would hide a decay in last/first.
    warm = a.key + ":warmup"
    for _ in range(a.warmup // a.depth):
        pipe = r.pipeline(transaction=False)
        for _ in range(a.depth):
            pipe.execute_command("ZADD", warm, rng.randrange(1_000_000_000), "player:%d" % rng.randrange(1_000_000))
            pipe.execute_command("ZREMRANGEBYRANK", warm, 0, stop)
        for rep in pipe.execute(raise_on_error=False):
            if isinstance(rep, Exception):
                fail("leaderboard warm-up: error reply %r" % (rep,))
    r.delete(warm)
    tenth = max(1, a.ops // 10)
    marks = []  # (ops done, monotonic time) after each batch
    t0 = time.monotonic()
    next_note = t0 + 5
    done = 0
    while done < a.ops:
        k = min(a.depth, a.ops - done)
        pipe = r.pipeline(transaction=False)
        for _ in range(k):
            pipe.execute_command("ZADD", a.key, rng.randrange(1_000_000_000), "player:%d" % rng.randrange(1_000_000))
            pipe.execute_command("ZREMRANGEBYRANK", a.key, 0, stop)
        replies = pipe.execute(raise_on_error=False)
        for rep in replies:
            if isinstance(rep, Exception):
                fail("leaderboard: error reply %r after %d operations" % (rep, done))
        done += k
        now = time.monotonic()
        marks.append((done, now))
        if now >= next_note:
            log("leaderboard: %d/%d operations, %.0f ops/s" % (done, a.ops, done / (now - t0)))
            next_note = now + 5
    total = marks[-1][1] - t0
    card = int(r.execute_command("ZCARD", a.key))

    def time_at(ops):
        """Time when the batch holding operation number `ops` completed (0 -> start)."""
        if ops <= 0:
            return t0
        for d, t in marks:
            if d >= ops:
                return t
        return marks[-1][1]

    def ops_done_at(ops):
        for d, _ in marks:
            if d >= ops:
                return d
        return marks[-1][0]

    def rate(lo, hi):
        """ops/s from (the batch ending at or after) lo to (the batch ending at or after) hi."""
        d0 = ops_done_at(lo) if lo > 0 else 0
        d1 = ops_done_at(hi)
        dt = time_at(hi) - time_at(lo)
        return round((d1 - d0) / dt, 1) if dt > 0 and d1 > d0 else None

    tenths = [rate(t * tenth, (t + 1) * tenth if t < 9 else a.ops) for t in range(10)]
    first = tenths[0]
    last = tenths[9]
    return {
        "step": "leaderboard",
        "skipped": False,
        "ops": a.ops,
        "keep": a.keep,
        "depth": a.depth,
        "warmup": a.warmup,
        "secs": round(total, 4),
        "ops_per_s": round(a.ops / total, 1) if total > 0 else None,
        "first10_ops_per_s": first,
        "last10_ops_per_s": last,
        "last_over_first": round(last / first, 4) if first and last else None,
        "tenths_ops_per_s": tenths,
        "zcard": card,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, key):
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--key", default=key)
        sp.add_argument("--seed", type=int, default=1)
        sp.add_argument("--timeout", type=float, default=600.0, help="socket timeout, seconds (default 600)")

    for kind, key in (("hash", "bighash"), ("set", "bigset")):
        sp = sub.add_parser("load-" + kind, help="load a %s of N elements" % kind)
        common(sp, key)
        sp.add_argument("-n", type=int, default=1_000_000)
        sp.add_argument("--value-size", type=int, default=100)
        sp.add_argument("--per-cmd", type=int, default=100, help="elements per %s" % ("HSET" if kind == "hash" else "SADD"))
        sp.add_argument("--pipeline", type=int, default=100, help="commands per round trip")
        sp.add_argument("--fresh", action="store_true", help="DEL the key first")
    sp = sub.add_parser("del", help="DEL a key, timed by the client and by SLOWLOG")
    common(sp, "bighash")
    sp = sub.add_parser("leaderboard", help="bounded leaderboard: ZADD + ZREMRANGEBYRANK")
    common(sp, "board")
    sp.add_argument("--ops", type=int, default=100_000)
    sp.add_argument("--keep", type=int, default=1000)
    sp.add_argument("--depth", type=int, default=16, help="operations per pipelined batch")
    sp.add_argument("--warmup", type=int, default=1024, help="untimed operations on KEY:warmup first (default 1024)")
    a = p.parse_args()

    for name in ("n", "per_cmd", "pipeline", "value_size", "ops", "keep", "depth"):
        if getattr(a, name, 1) < 1:
            p.error("--%s must be at least 1" % name.replace("_", "-"))
    try:
        if a.cmd == "load-hash":
            out = load(a, "hash")
        elif a.cmd == "load-set":
            out = load(a, "set")
        elif a.cmd == "del":
            out = delete(a)
        else:
            out = leaderboard(a)
    except redis.RedisError as e:
        fail("%s: %s: %s" % (a.cmd, type(e).__name__, e))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
