#!/usr/bin/env python3
"""test_redis_tools.py ST_ITSERVER -- the Redis tools operators point at a server, run for real.

Starts a server through st_itserver (free loopback port, temporary directory, clean stop), fills
it with one key of each type plus many small strings, then:
  - redis-cli --bigkeys: exits 0; its summary names the biggest key of each type with its exact
    size (bytes, fields, items, members) and counts every key it sampled;
  - redis-cli --memkeys: exits 0; every type's biggest key has a MEMORY USAGE size, at least its
    payload (MEMORY USAGE must answer for each key, or redis-cli prints nothing for it);
  - redis-cli --stat -i 0.2 in a pseudo-terminal (it loops until interrupted): at least three
    rows, each with the right key count; then SIGINT ends it;
  - redis-cli --latency -i 1 without a terminal: one line "min max avg samples", samples > 0;
  - INFO parsed as Prometheus's redis_exporter parses it: every line is "# Section" or
    "field:value"; the fields exporters and tools read are present; db0 is
    "keys=N,expires=M,avg_ttl=T"; errorstat_<CODE>:count=N lines adding up to total_error_replies;
    cmdstat_* lines are "calls=..,usec=..,usec_per_call=..,
    rejected_calls=..,failed_calls=.."; and the numbers move: commands processed, cmdstat_set
    calls, keyspace hits and misses, db0 keys and expires, expired_keys (active expiry of a key
    with a short TTL, waited for at most 10 s), used_memory_peak >= used_memory, latency
    percentiles for commands that ran.
Run with STRATA_IT_SERVER=/usr/bin/redis-server it checks the same against Redis (Strata's own
fields are then not required). Every wait is bounded. Exit: 0 passed, 1 failed, 77 redis-cli or
redis-py is missing."""
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time

import itlaunch

try:
    import redis
except ImportError:
    print("SKIP: the redis module (python3-redis) is not installed for", sys.executable)
    sys.exit(77)

CLI = shutil.which("redis-cli")
if not CLI:
    print("SKIP: redis-cli (redis-tools) is not installed")
    sys.exit(77)

IS_REDIS = os.path.basename(os.environ.get("STRATA_IT_SERVER", "")).startswith("redis-server")
failures = []


def check(desc, ok, detail=""):
    if ok:
        print("ok:", desc)
    else:
        print("FAIL: %s%s" % (desc, ("\n  " + str(detail)) if detail != "" else ""))
        failures.append(desc)


def cli(port, *args, timeout=60):
    p = subprocess.run([CLI, "-h", "127.0.0.1", "-p", str(port)] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


# ---- data --------------------------------------------------------------------------------------------

BIG_STR = 20000
HASH_FIELDS = 300
LIST_ITEMS = 250
SET_MEMBERS = 200
ZSET_MEMBERS = 150
SMALL = 400


def fill(r):
    r.flushall()
    r.set("bigstr", b"x" * BIG_STR)
    r.hset("bighash", mapping={"f%d" % i: "v%d" % i for i in range(HASH_FIELDS)})
    r.rpush("biglist", *["item%d" % i for i in range(LIST_ITEMS)])
    r.sadd("bigset", *["m%d" % i for i in range(SET_MEMBERS)])
    r.zadd("bigzset", {"z%d" % i: i * 0.5 for i in range(ZSET_MEMBERS)})
    p = r.pipeline(transaction=False)
    for i in range(SMALL):
        p.set("small:%d" % i, "v" * (i % 50))
    p.execute()
    return 5 + SMALL


def bigkeys(port, nkeys):
    rc, out, err = cli(port, "--bigkeys")
    check("--bigkeys exits 0", rc == 0, (rc, err[-500:]))
    want = [
        ("string", "bigstr", "%d bytes" % BIG_STR),
        ("hash", "bighash", "%d fields" % HASH_FIELDS),
        ("list", "biglist", "%d items" % LIST_ITEMS),
        ("set", "bigset", "%d members" % SET_MEMBERS),
        ("zset", "bigzset", "%d members" % ZSET_MEMBERS),
    ]
    for typ, key, size in want:
        pat = r"Biggest\s+%s found '\"%s\"' has %s" % (typ, key, size)
        check("--bigkeys: the biggest %s is %s with %s" % (typ, key, size), re.search(pat, out), out[-1500:])
    m = re.search(r"Sampled (\d+) keys in the keyspace", out)
    check("--bigkeys sampled every key (%d)" % nkeys, m and int(m.group(1)) == nkeys, m and m.group(0))
    check("--bigkeys printed no error", "ERR" not in out and "error" not in err.lower(), err[-300:])


def memkeys(port):
    rc, out, err = cli(port, "--memkeys")
    check("--memkeys exits 0", rc == 0, (rc, err[-500:]))
    floor = {"string": BIG_STR, "hash": HASH_FIELDS * 4, "list": LIST_ITEMS * 5, "set": SET_MEMBERS * 2,
             "zset": ZSET_MEMBERS * 2}
    keys = {"string": "bigstr", "hash": "bighash", "list": "biglist", "set": "bigset", "zset": "bigzset"}
    for typ, key in keys.items():
        m = re.search(r"Biggest\s+%s found '\"%s\"' has (\d+) bytes" % (typ, key), out)
        check("--memkeys: the biggest %s is %s, at least %d bytes" % (typ, key, floor[typ]),
              m and int(m.group(1)) >= floor[typ], m.group(0) if m else out[-1500:])
    check("--memkeys printed no error", "ERR" not in out and "error" not in err.lower(), err[-300:])


def stat(port, nkeys):
    """--stat loops until interrupted and writes through stdio: a pty keeps its lines flowing."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(CLI, [CLI, "-h", "127.0.0.1", "-p", str(port), "--stat", "-i", "0.2"])
    buf, rows, deadline = b"", [], time.monotonic() + 15
    try:
        while time.monotonic() < deadline and len(rows) < 3:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            lines = buf.decode(errors="replace").replace("\r", "").split("\n")
            rows = [l for l in lines[:-1] if re.match(r"^\s*\d+\s+\S+\s+\d+", l)]
    finally:
        os.kill(pid, signal.SIGINT)
        end = time.monotonic() + 10
        status = None
        while time.monotonic() < end:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    text = buf.decode(errors="replace")
    check("--stat printed its header", "keys" in text and "mem" in text and "clients" in text, text[:500])
    check("--stat printed at least 3 rows in 15 s", len(rows) >= 3, text[-800:])
    check("--stat rows show the key count %d" % nkeys, rows and all(r.split()[0] == str(nkeys) for r in rows[:3]),
          rows[:3])
    check("--stat printed no error", "ERR" not in text and "rror" not in text, text[-400:])


def latency(port):
    rc, out, err = cli(port, "--latency", "-i", "1", timeout=30)
    check("--latency exits 0", rc == 0, (rc, err[-300:]))
    m = re.match(r"^(\d+) (\d+) ([\d.]+) (\d+)\s*$", out.strip())
    check("--latency prints 'min max avg samples'", m is not None, out[-300:])
    if m:
        check("--latency took samples, min <= avg <= max", int(m.group(4)) > 0 and
              int(m.group(1)) <= float(m.group(3)) <= int(m.group(2)), m.group(0))


# ---- INFO as redis_exporter reads it -------------------------------------------------------------------

def parse_info(text):
    """Sections -> {field: value}; every line must be a section header or field:value."""
    sections, cur, bad = {}, None, []
    for line in text.split("\r\n"):
        if not line:
            continue
        if line.startswith("# "):
            cur = line[2:].strip().lower()
            sections[cur] = {}
            continue
        k, sep, v = line.partition(":")
        if not sep or cur is None or not re.match(r"^[A-Za-z0-9_|.-]+$", k):
            bad.append(line)
            continue
        sections[cur][k] = v
    return sections, bad


def kv(v):
    """'keys=3,expires=1,avg_ttl=2' -> dict."""
    out = {}
    for part in v.split(","):
        k, sep, val = part.partition("=")
        if not sep:
            return None
        out[k] = val
    return out


def info(r):
    """The raw INFO text (redis-py would parse it for us; an exporter reads the text)."""
    port = r.connection_pool.connection_kwargs["port"]
    rc, out, err = cli(port, "INFO", "everything")
    if rc != 0:
        return {}, ["redis-cli INFO failed: %s" % err]
    # redis-cli prints the bulk string as it came: lines end in \r\n
    lines = out.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    unterminated = [l for l in lines[:-1] if not l.endswith("\r")]
    sections, bad = parse_info("\r\n".join(l.rstrip("\r") for l in lines))
    return sections, bad + ["no CRLF: %r" % l for l in unterminated[:3]]


def num(sections, field):
    for fields in sections.values():
        if field in fields:
            return float(fields[field])
    return None


def exporter(port):
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
    s1, bad = info(r)
    check("INFO: every line is '# Section' or 'field:value'", not bad, bad[:5])
    need = ["redis_version", "uptime_in_seconds", "connected_clients", "blocked_clients", "used_memory",
            "used_memory_human", "used_memory_rss", "used_memory_peak", "maxmemory", "mem_allocator",
            "total_commands_processed", "instantaneous_ops_per_sec", "keyspace_hits", "keyspace_misses",
            "expired_keys", "evicted_keys", "rejected_connections", "total_connections_received",
            "total_net_input_bytes", "total_net_output_bytes", "used_cpu_sys", "used_cpu_user"]
    if not IS_REDIS:
        need += ["strata_version", "write_status", "engine_memory_bytes"]
    for f in need:
        check("INFO has %s" % f, any(f in fields for fields in s1.values()))
    want_sections = ["server", "clients", "memory", "persistence", "stats", "cpu", "errorstats", "commandstats",
                     "latencystats", "keyspace"] + ([] if IS_REDIS else ["storage", "tiers"])
    for sec in want_sections:
        check("INFO everything has the %s section" % sec, sec in s1, sorted(s1))
    db0 = kv(s1.get("keyspace", {}).get("db0", ""))
    check("INFO db0 is keys=,expires=,avg_ttl=", db0 is not None and set(db0) >= {"keys", "expires", "avg_ttl"},
          s1.get("keyspace"))
    cmd_re = re.compile(r"^calls=\d+,usec=\d+,usec_per_call=[\d.]+,rejected_calls=\d+,failed_calls=\d+$")
    cmdstats = s1.get("commandstats", {})
    check("INFO commandstats: cmdstat_* lines with calls, usec, usec_per_call, rejected_calls, failed_calls",
          cmdstats and all(k.startswith("cmdstat_") and cmd_re.match(v) for k, v in cmdstats.items()),
          list(cmdstats.items())[:3])
    lat_re = re.compile(r"^p50=[\d.]+,p99=[\d.]+,p99\.9=[\d.]+$")
    lat = s1.get("latencystats", {})
    check("INFO latencystats: latency_percentiles_usec_* lines with p50, p99, p99.9",
          lat and all(k.startswith("latency_percentiles_usec_") and lat_re.match(v) for k, v in lat.items()),
          list(lat.items())[:3])
    check("used_memory_peak >= used_memory > 0", num(s1, "used_memory_peak") >= num(s1, "used_memory") > 0)

    # the numbers move
    calls0 = int(kv(cmdstats.get("cmdstat_set", "calls=0,usec=0"))["calls"]) if "cmdstat_set" in cmdstats else 0
    keys0 = int(db0["keys"]) if db0 else 0
    p = r.pipeline(transaction=False)
    for i in range(100):
        p.set("moved:%d" % i, i)
    for i in range(40):
        p.get("moved:%d" % i)
    for i in range(25):
        p.get("absent:%d" % i)
    p.execute()
    r.set("soon", 1, px=100)
    r.set("later", 1, ex=1000)
    r.set("willfail", "x")
    try:
        r.execute_command("INCR", "willfail")  # r.incr() would send INCRBY
    except redis.exceptions.ResponseError:
        pass
    try:
        r.execute_command("GET", "bighash")
    except redis.exceptions.ResponseError:
        pass
    try:
        r.execute_command("NOSUCHCOMMAND")
    except redis.exceptions.ResponseError:
        pass
    s2, bad = info(r)
    check("INFO after: every line parses", not bad, bad[:5])
    check("total_commands_processed grew by at least 165",
          num(s2, "total_commands_processed") - num(s1, "total_commands_processed") >= 165)
    calls1 = int(kv(s2["commandstats"]["cmdstat_set"])["calls"])
    check("cmdstat_set calls grew by 103", calls1 - calls0 == 103, (calls0, calls1))
    inc = kv(s2["commandstats"].get("cmdstat_incr", ""))
    check("cmdstat_incr counts the failed INCR", inc and int(inc["failed_calls"]) >= 1, (inc, sorted(s2["commandstats"])))
    check("keyspace_hits grew by at least 40", num(s2, "keyspace_hits") - num(s1, "keyspace_hits") >= 40)
    check("keyspace_misses grew by at least 25", num(s2, "keyspace_misses") - num(s1, "keyspace_misses") >= 25)
    # errors: total_error_replies counts every error reply; errorstats by code add up to it
    errs1 = {k: int(kv(v)["count"]) for k, v in s1.get("errorstats", {}).items()}
    errs2 = {k: int(kv(v)["count"]) for k, v in s2.get("errorstats", {}).items()}
    check("errorstat_ERR grew by at least 2 (INCR of a string, an unknown command)",
          errs2.get("errorstat_ERR", 0) - errs1.get("errorstat_ERR", 0) >= 2, (errs1, errs2))
    check("errorstat_WRONGTYPE grew by 1", errs2.get("errorstat_WRONGTYPE", 0) - errs1.get("errorstat_WRONGTYPE", 0) == 1,
          (errs1, errs2))
    check("total_error_replies grew by at least 3",
          num(s2, "total_error_replies") - num(s1, "total_error_replies") >= 3)
    check("errorstats add up to total_error_replies", sum(errs2.values()) == num(s2, "total_error_replies"),
          (errs2, num(s2, "total_error_replies")))
    db0b = kv(s2["keyspace"]["db0"])
    check("db0 keys grew by 103 (the PX key may have gone)", int(db0b["keys"]) - keys0 in (102, 103), (keys0, db0b))
    check("db0 expires counts the key with a TTL", int(db0b["expires"]) >= 1, db0b)
    check("latencystats has get and set", "latency_percentiles_usec_get" in s2["latencystats"] and
          "latency_percentiles_usec_set" in s2["latencystats"], sorted(s2["latencystats"])[:10])
    # active expiry removes the PX 100 key without anyone touching it
    expired0, deadline, expired = num(s1, "expired_keys"), time.monotonic() + 10, None
    while time.monotonic() < deadline:
        expired = num(info(r)[0], "expired_keys")
        if expired > expired0:
            break
        time.sleep(0.1)
    check("expired_keys grows by itself (active expiry) within 10 s", expired is not None and expired > expired0,
          (expired0, expired))
    r.close()


def main():
    launcher = sys.argv[1]
    p, port = itlaunch.start(launcher)
    try:
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        nkeys = fill(r)
        r.close()
        bigkeys(port, nkeys)
        memkeys(port)
        stat(port, nkeys)
        latency(port)
        exporter(port)
    finally:
        check("server stops cleanly", itlaunch.stop(p, 60) == 0)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
