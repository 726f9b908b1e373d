#!/usr/bin/python3
"""bench/zset_rank_load.py -- the client side of bench/zset_rank_bench.sh: sorted-set rank
operations at growing sizes, timed by the server's SLOWLOG.

Subcommands, each printing one JSON object on stdout (progress on stderr):

  gen-resp  writes the load of one sorted set as raw RESP to --out, for `redis-cli --pipe`:
            ZADD KEY <score> m<i> ... for i in 0..N-1, --per-cmd members per ZADD, each score a
            random double in [0, 1) (random.Random(--seed), so every server gets the same set).
  measure   on a loaded set of N members m0..m(N-1): for each operation below, --warmup untimed
            operations, then up to --ops timed ones at random positions (random.Random(--seed),
            so both servers get the same sequence), one command per round trip (no pipelining):
              zrank         ZRANK KEY m<random i>
              zrevrank      ZREVRANK KEY m<random i>
              zrange        ZRANGE KEY s s+9                   (s random in 0..N-10; k = 10)
              zrevrange     ZREVRANGE KEY s s+9
              zrangebyscore ZRANGEBYSCORE KEY -inf +inf LIMIT s 10
              zcount        ZCOUNT KEY a b                     (a <= b two random doubles in [0, 1))
              zadd_new      ZADD KEY <random score> new:<j>   (a member not in the set)
              zrem          ZREM KEY new:<j>                   (right after its ZADD: same size)
            The time of each command is the server's: the duration (microseconds) of its SLOWLOG
            entry. The server must log every command (slowlog-log-slower-than 0; this subcommand
            sets it with CONFIG SET, with slowlog-max-len 2 x --chunk + 100) and the log is read and
            reset every --chunk operations: a short log, since Strata's moves its entries on every
            push (outside the timed span, but through the caches). The client's round-trip time of each command is recorded too.
            An operation stops early after --budget seconds (the op count says how many ran).
            Every reply is checked (a rank in range, 10 members, 1 added/removed, ...), and a few
            untimed ZRANGE s s / ZRANK pairs check that rank and position agree.

Exit status: 0 when the step ran to the end, 1 on an error reply, a wrong reply or count, a lost
connection or missing SLOWLOG entries (the message goes to stderr). Standard library and redis-py
(Debian's python3-redis) only.
"""

import argparse
import json
import math
import random
import statistics
import sys
import time

OPS = ("zrank", "zrevrank", "zrange", "zrevrange", "zrangebyscore", "zcount", "zadd_new", "zrem")


def log(msg):
    print("zset_rank_load: " + msg, file=sys.stderr, flush=True)


def fail(msg):
    log("error: " + msg)
    sys.exit(1)


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def gen_resp(a):
    rng = random.Random(a.seed)
    key = a.key.encode()
    head_key = bulk(b"ZADD") + bulk(key)
    cmds = 0
    size = 0
    with open(a.out, "wb") as f:
        i = 0
        while i < a.n:
            end = min(a.n, i + a.per_cmd)
            parts = [b"*%d\r\n" % (2 + 2 * (end - i)), head_key]
            for j in range(i, end):
                parts.append(bulk(repr(rng.random()).encode()))
                parts.append(bulk(b"m%d" % j))
            chunk = b"".join(parts)
            f.write(chunk)
            size += len(chunk)
            cmds += 1
            i = end
    return {"step": "gen-resp", "key": a.key, "n": a.n, "per_cmd": a.per_cmd, "commands": cmds, "bytes": size}


def pct(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return None
    k = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[k - 1]


def stats(vals):
    if not vals:
        return {"count": 0, "median": None, "p99": None, "mean": None, "min": None, "max": None}
    s = sorted(vals)
    return {
        "count": len(s),
        "median": round(statistics.median(s), 3),
        "p99": round(pct(s, 99), 3),
        "mean": round(statistics.fmean(s), 3),
        "min": round(s[0], 3),
        "max": round(s[-1], 3),
    }


def measure(a):
    import redis

    r = redis.Redis(host=a.host, port=a.port, socket_timeout=a.timeout, socket_connect_timeout=10)
    key = a.key
    n = int(r.execute_command("ZCARD", key))
    if n != a.n:
        fail("ZCARD %s is %d; expected %d" % (key, n, a.n))
    if n < 10:
        fail("the set needs at least 10 members")
    r.execute_command("CONFIG", "SET", "slowlog-max-len", str(2 * a.chunk + 100))
    r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "0")

    # Sanity, untimed: the member at position s has rank s (and reverse rank n-1-s).
    chk = random.Random(a.seed + 1)
    for _ in range(20):
        s = chk.randrange(n)
        got = r.execute_command("ZRANGE", key, s, s)
        if len(got) != 1:
            fail("ZRANGE %s %d %d answered %r" % (key, s, s, got))
        rank = r.execute_command("ZRANK", key, got[0])
        rev = r.execute_command("ZREVRANK", key, got[0])
        if rank != s or rev != n - 1 - s:
            fail("member at position %d (%r) has ZRANK %r, ZREVRANK %r; expected %d, %d" % (s, got[0], rank, rev, s, n - 1 - s))

    rng = random.Random(a.seed)
    new_id = [0]

    def one(op):
        """Sends one command of operation op and checks its reply."""
        if op in ("zrank", "zrevrank"):
            i = rng.randrange(n)
            rep = r.execute_command(op.upper(), key, "m%d" % i)
            if not isinstance(rep, int) or not 0 <= rep < n:
                fail("%s %s m%d answered %r" % (op.upper(), key, i, rep))
        elif op in ("zrange", "zrevrange"):
            s = rng.randrange(n - 9)
            rep = r.execute_command(op.upper(), key, s, s + 9)
            if len(rep) != 10:
                fail("%s %s %d %d answered %d members" % (op.upper(), key, s, s + 9, len(rep)))
        elif op == "zrangebyscore":
            s = rng.randrange(n - 9)
            rep = r.execute_command("ZRANGEBYSCORE", key, "-inf", "+inf", "LIMIT", s, 10)
            if len(rep) != 10:
                fail("ZRANGEBYSCORE %s -inf +inf LIMIT %d 10 answered %d members" % (key, s, len(rep)))
        elif op == "zcount":
            lo, hi = sorted((rng.random(), rng.random()))
            rep = r.execute_command("ZCOUNT", key, repr(lo), repr(hi))
            if not isinstance(rep, int) or not 0 <= rep <= n:
                fail("ZCOUNT %s %r %r answered %r" % (key, lo, hi, rep))
        elif op == "zadd_new":
            new_id[0] += 1
            rep = r.execute_command("ZADD", key, repr(rng.random()), "new:%d" % new_id[0])
            if rep != 1:
                fail("ZADD %s <score> new:%d answered %r" % (key, new_id[0], rep))
        elif op == "zrem":
            rep = r.execute_command("ZREM", key, "new:%d" % new_id[0])
            if rep != 1:
                fail("ZREM %s new:%d answered %r" % (key, new_id[0], rep))

    def slowlog_durations(name, expect):
        entries = r.execute_command("SLOWLOG", "GET", "-1")
        out = []
        for e in entries:  # newest first: [id, time, duration_us, argv, ...]
            argv0 = e[3][0] if e[3] else b""
            if isinstance(argv0, bytes):
                argv0 = argv0.decode(errors="replace")
            if str(argv0).lower() == name:
                out.append(int(e[2]))
        out.reverse()
        if len(out) != expect:
            fail("SLOWLOG holds %d %s entries; expected %d (slowlog-log-slower-than 0 and slowlog-max-len %d?)"
                 % (len(out), name.upper(), expect, 2 * a.chunk + 100))
        return out

    results = {}
    # zadd_new and zrem run as pairs (ZADD new:j then ZREM new:j), so that the set keeps its size;
    # each gets its own figures. Every other operation runs alone.
    groups = [("zrank",), ("zrevrank",), ("zrange",), ("zrevrange",), ("zrangebyscore",), ("zcount",),
              ("zadd_new", "zrem")]
    for group in groups:
        names = {op: ("zadd" if op == "zadd_new" else op) for op in group}
        for _ in range(a.warmup):
            for op in group:
                one(op)
        server = {op: [] for op in group}
        client = {op: [] for op in group}
        t_start = time.monotonic()
        done = 0
        stopped_early = False
        while done < a.ops and not stopped_early:
            r.execute_command("SLOWLOG", "RESET")
            k = 0
            while k < a.chunk and done < a.ops:
                for op in group:
                    t0 = time.perf_counter_ns()
                    one(op)
                    client[op].append((time.perf_counter_ns() - t0) / 1000.0)
                k += 1
                done += 1
                if time.monotonic() - t_start > a.budget:
                    stopped_early = True
                    break
            for op in group:
                server[op].extend(slowlog_durations(names[op], k))
        secs = time.monotonic() - t_start
        for op in group:
            st = stats(server[op])
            results[op] = {
                "ops": done,
                "stopped_early": stopped_early,
                "secs": round(secs, 3),
                "server_us": st,
                "client_us": stats(client[op]),
                "server_us_all": server[op],
            }
            log("%s n=%d: %d ops, server median %s us, p99 %s us; client median %s us%s"
                % (op, n, done, st["median"], st["p99"], results[op]["client_us"]["median"],
                   " (stopped after --budget %ss)" % a.budget if stopped_early else ""))
    card = int(r.execute_command("ZCARD", key))
    if card != n:
        fail("ZCARD %s is %d after the measurement; expected %d" % (key, card, n))
    r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    r.execute_command("SLOWLOG", "RESET")
    return {"step": "measure", "key": key, "n": n, "ops_requested": a.ops, "warmup": a.warmup,
            "chunk": a.chunk, "seed": a.seed, "results": results}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("gen-resp", help="write the ZADD load as RESP for redis-cli --pipe")
    sp.add_argument("--key", default="zset")
    sp.add_argument("-n", type=int, required=True)
    sp.add_argument("--per-cmd", type=int, default=100, help="members per ZADD (default 100)")
    sp.add_argument("--seed", type=int, default=1)
    sp.add_argument("--out", required=True)
    sp = sub.add_parser("measure", help="time the rank operations by SLOWLOG")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--key", default="zset")
    sp.add_argument("-n", type=int, required=True, help="the set's size (checked with ZCARD)")
    sp.add_argument("--ops", type=int, default=2000, help="timed operations of each kind (default 2000)")
    sp.add_argument("--warmup", type=int, default=100, help="untimed operations of each kind first (default 100)")
    sp.add_argument("--chunk", type=int, default=100, help="operations between SLOWLOG reads (default 100)")
    sp.add_argument("--budget", type=float, default=60.0, help="seconds per operation before it stops early (default 60)")
    sp.add_argument("--seed", type=int, default=2)
    sp.add_argument("--timeout", type=float, default=600.0, help="socket timeout, seconds (default 600)")
    a = p.parse_args()
    for name in ("n", "per_cmd", "ops", "chunk"):
        if getattr(a, name, 1) < 1:
            p.error("--%s must be at least 1" % name.replace("_", "-"))
    if getattr(a, "warmup", 0) < 0:
        p.error("--warmup must be at least 0")
    if a.cmd == "gen-resp":
        out = gen_resp(a)
    else:
        import redis

        try:
            out = measure(a)
        except redis.RedisError as e:
            fail("measure: %s: %s" % (type(e).__name__, e))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
