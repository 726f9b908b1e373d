#!/usr/bin/env python3
"""bench/report.py -- the Python half of bench/report.sh (python3 standard library only).

report.sh runs the servers and the benchmarks; this file turns what they print into the report's
files, and generates and checks the data of the larger-than-memory run. Subcommands:

  append RAW_CSV --csv F --jsonl F --section S --policy P --server S --clients C --pipeline P
         --round R --requests N [--first NAME] [--keys K]
      parses one redis-benchmark --csv file and appends one row per test to results.csv and
      results.jsonl (written as each measurement finishes, so an interrupt loses at most the one
      running). Prints "SET 12345, GET ..." for the progress line.
  ltm-gen --keys K --value-bytes V
      writes K SET commands in RESP to stdout, for `redis-cli --pipe`: keys key:000000000000 ..
      key:<K-1> (redis-benchmark's __rand_int__ spelling, so `redis-benchmark -t get -r K` reads
      exactly these keys), values V bytes of shake_128(key): incompressible, and reproducible.
  ltm-verify --port P --keys K --value-bytes V --sample N
      GETs N random keys of those K and compares every byte; prints key=value lines; exit 1 on a
      wrong or missing value.
  finalize OUT
      from OUT/results.csv, OUT/meta.txt, OUT/rocksdb/ and OUT/ltm/: results.json, summary.md,
      charts/<policy>.dat, .gp and .svg (gnuplot, when OUT/meta.txt names one). Safe to run on
      a partial run: it reports what finished.

Everything here only reports figures; nothing compares them against a target.
"""

import argparse
import csv
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import time

CSV_FIELDS = ["section", "policy", "server", "test", "clients", "pipeline", "round", "first",
              "requests", "keys", "rps", "avg_ms", "min_ms", "p50_ms", "p95_ms", "p99_ms",
              "max_ms", "finished_utc"]

# redis-benchmark's row names -> ours. PING_INLINE is kept in the CSV and JSON; the tables and
# charts show PING_MBULK (a RESP array, framed like every other command) as "ping".
TEST_NAMES = {"PING_INLINE": "ping_inline", "PING_MBULK": "ping", "MSET (10 keys)": "mset"}
TEST_ORDER = ["ping", "set", "get", "incr", "mset", "lpush", "hset", "sadd", "zadd"]
SERVERS = ["strata", "redis"]
POLICIES = ["always", "everysec", "no"]


def test_name(raw):
    return TEST_NAMES.get(raw, raw.split(" ")[0].lower())


# ---- append ---------------------------------------------------------------------------------------

def cmd_append(a):
    rows = []
    with open(a.raw, newline="") as f:
        for rec in csv.DictReader(f):
            def g(k):
                v = rec.get(k, "")
                return float(v) if v not in ("", None) else None
            rows.append({
                "section": a.section, "policy": a.policy, "server": a.server,
                "test": test_name(rec["test"]), "clients": a.clients, "pipeline": a.pipeline,
                "round": a.round, "first": a.first, "requests": a.requests, "keys": a.keys,
                "rps": g("rps"), "avg_ms": g("avg_latency_ms"), "min_ms": g("min_latency_ms"),
                "p50_ms": g("p50_latency_ms"), "p95_ms": g("p95_latency_ms"),
                "p99_ms": g("p99_latency_ms"), "max_ms": g("max_latency_ms"),
                "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            })
    if not rows:
        print("no rows in %s" % a.raw, file=sys.stderr)
        return 1
    new = not os.path.exists(a.csv) or os.path.getsize(a.csv) == 0
    with open(a.csv, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r[k] is None else r[k]) for k in CSV_FIELDS})
        f.flush()
        os.fsync(f.fileno())
    with open(a.jsonl, "a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.flush()
        os.fsync(f.fileno())
    print(", ".join("%s %.0f" % (r["test"], r["rps"] or 0) for r in rows))
    return 0


# ---- larger than memory: data and check ------------------------------------------------------------

def value_of(key, n):
    return hashlib.shake_128(key).digest(n)


def cmd_ltm_gen(a):
    out = sys.stdout.buffer
    vlen = b"$%d\r\n" % a.value_bytes
    buf = []
    size = 0
    for i in range(a.keys):
        key = b"key:%012d" % i
        buf.append(b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n%s%s\r\n" % (key, vlen, value_of(key, a.value_bytes)))
        size += a.value_bytes + 60
        if size >= 1 << 20:
            out.write(b"".join(buf))
            buf, size = [], 0
    out.write(b"".join(buf))
    out.flush()
    return 0


class Resp:
    """A minimal blocking RESP2 client: enough for GET replies (bulk strings, nil, errors)."""

    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def send(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for x in args:
            x = x if isinstance(x, bytes) else str(x).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(x), x))
        self.s.sendall(b"".join(parts))

    def reply(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode(errors="replace"))
        raise RuntimeError("unexpected reply %r" % line)


def cmd_ltm_verify(a):
    rng = random.Random(a.seed)
    c = Resp(a.port)
    wrong = missing = 0
    idx = [rng.randrange(a.keys) for _ in range(a.sample)]
    t0 = time.monotonic()
    for start in range(0, len(idx), 64):  # 64 in flight
        chunk = idx[start:start + 64]
        for i in chunk:
            c.send("GET", b"key:%012d" % i)
        for i in chunk:
            v = c.reply()
            key = b"key:%012d" % i
            if v is None:
                missing += 1
                if missing <= 5:
                    print("missing: %s" % key.decode(), file=sys.stderr)
            elif v != value_of(key, a.value_bytes):
                wrong += 1
                if wrong <= 5:
                    print("wrong value: %s (%d bytes)" % (key.decode(), len(v)), file=sys.stderr)
    secs = time.monotonic() - t0
    print("verify_sample=%d" % a.sample)
    print("verify_missing=%d" % missing)
    print("verify_wrong=%d" % wrong)
    print("verify_secs=%.3f" % secs)
    return 1 if wrong or missing else 0


# ---- finalize -------------------------------------------------------------------------------------

def read_kv(path):
    d = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if "=" in line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    d[k.strip()] = v
    except FileNotFoundError:
        pass
    return d


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return None
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def load_rows(out):
    path = os.path.join(out, "results.csv")
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            for k in ("clients", "pipeline", "round", "requests"):
                r[k] = int(r[k]) if r.get(k) else None
            for k in ("rps", "avg_ms", "min_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
                r[k] = float(r[k]) if r.get(k) not in (None, "") else None
            rows.append(r)
    return rows


def aggregate(rows):
    """Per (policy, test, clients, pipeline): each server's median/min/max rps, p50, p99, and the
    per-round ratios strata/redis (only rounds where both servers finished)."""
    m = [r for r in rows if r["section"] == "matrix"]
    groups = {}
    for r in m:
        k = (r["policy"], r["test"], r["clients"], r["pipeline"])
        g = groups.setdefault(k, {s: {} for s in SERVERS})
        g.setdefault(r["server"], {})[r["round"]] = r
    out = []
    for (policy, test, c, p), g in groups.items():
        e = {"policy": policy, "test": test, "clients": c, "pipeline": p}
        for s in SERVERS:
            rr = list(g.get(s, {}).values())
            e[s] = {"rps": stats([x["rps"] for x in rr]), "p50_ms": stats([x["p50_ms"] for x in rr]),
                    "p99_ms": stats([x["p99_ms"] for x in rr]), "rounds": sorted(x["round"] for x in rr)}
        ratios = []
        for rnd, sr in g.get("strata", {}).items():
            rr = g.get("redis", {}).get(rnd)
            if rr and rr["rps"] and sr["rps"] is not None:
                ratios.append({"round": rnd, "ratio": sr["rps"] / rr["rps"]})
        ratios.sort(key=lambda x: x["round"])
        e["ratios"] = ratios
        e["ratio"] = stats([x["ratio"] for x in ratios])
        out.append(e)

    def order(e):
        t = TEST_ORDER.index(e["test"]) if e["test"] in TEST_ORDER else len(TEST_ORDER)
        pol = POLICIES.index(e["policy"]) if e["policy"] in POLICIES else 9
        return (pol, e["clients"], e["pipeline"], t, e["test"])
    out.sort(key=order)
    return out


def fmt_rps(s):
    if not s:
        return "-"
    if s["n"] == 1:
        return "%.0f" % s["median"]
    return "%.0f (%.0f..%.0f)" % (s["median"], s["min"], s["max"])


def fmt_ratio(s):
    if not s:
        return "-"
    if s["n"] == 1:
        return "%.2f" % s["median"]
    return "%.2f (%.2f..%.2f)" % (s["median"], s["min"], s["max"])


def fmt_ms(s):
    return "-" if not s else ("%.3f" % s["median"])


def configs_of(agg):
    return sorted({(e["clients"], e["pipeline"]) for e in agg})


def policies_of(agg, meta):
    wanted = meta.get("policies", "").split()
    have = {e["policy"] for e in agg}
    return [p for p in wanted if p in have] + sorted(have - set(wanted))


def write_charts(out, agg, meta):
    """charts/<policy>.dat and .gp; .svg when gnuplot is there. Returns {policy: svg path or None}."""
    cdir = os.path.join(out, "charts")
    os.makedirs(cdir, exist_ok=True)
    gnuplot = meta.get("gnuplot", "")
    made = {}
    for policy in policies_of(agg, meta):
        panels = []
        dat = os.path.join(cdir, "%s.dat" % policy)
        with open(dat, "w") as f:
            f.write("# test strata_med strata_min strata_max redis_med redis_min redis_max (ops/s)\n")
            for c, p in configs_of(agg):
                es = [e for e in agg if e["policy"] == policy and e["clients"] == c
                      and e["pipeline"] == p and e["test"] in TEST_ORDER]
                if not es:
                    continue
                f.write("# c=%d P=%d\n" % (c, p))
                for e in es:
                    vals = []
                    for s in SERVERS:
                        st = e[s]["rps"]
                        vals += ["%.1f" % st[k] if st else "0" for k in ("median", "min", "max")]
                    f.write("%s %s\n" % (e["test"], " ".join(vals)))
                f.write("\n\n")
                panels.append((c, p))
        if not panels:
            continue
        cols = 2 if len(panels) > 1 else 1
        rows_ = (len(panels) + cols - 1) // cols
        svg = "%s.svg" % policy
        gp = os.path.join(cdir, "%s.gp" % policy)
        with open(gp, "w") as f:
            f.write("# gnuplot script written by bench/report.py; run in this directory: gnuplot %s.gp\n" % policy)
            f.write("set terminal svg size %d,%d dynamic enhanced font 'sans,11' background rgb 'white'\n"
                    % (560 * cols, 380 * rows_ + 40))
            f.write("set output '%s'\n" % svg)
            f.write("set multiplot layout %d,%d title \"appendfsync %s: redis-benchmark ops/s, "
                    "median of the rounds (bars: min..max)\"\n" % (rows_, cols, policy))
            f.write("set style data histogram\nset style histogram errorbars gap 2 lw 1\n")
            f.write("set style fill solid 0.85 border -1\nset boxwidth 0.9\nset grid ytics\n")
            f.write("set ylabel 'thousand ops/s'\nset yrange [0:*]\nset xtics nomirror\n")
            f.write("set key top right\n")
            for i, (c, p) in enumerate(panels):
                f.write("set title 'c=%d P=%d'\n" % (c, p))
                f.write("plot '%s.dat' index %d using ($2/1000):($3/1000):($4/1000):xtic(1) title 'strata' "
                        "lc rgb '#1f77b4', '' index %d using ($5/1000):($6/1000):($7/1000) title 'redis' "
                        "lc rgb '#d62728'\n" % (policy, i, i))
            f.write("unset multiplot\n")
        made[policy] = None
        if gnuplot and os.access(gnuplot, os.X_OK):
            try:
                r = subprocess.run([gnuplot, "%s.gp" % policy], cwd=cdir, capture_output=True,
                                   text=True, timeout=120)
                if r.returncode == 0 and os.path.getsize(os.path.join(cdir, svg)) > 0:
                    made[policy] = os.path.join("charts", svg)
                else:
                    print("report.py: gnuplot %s.gp failed: %s" % (policy, r.stderr.strip()[-500:]),
                          file=sys.stderr)
            except (OSError, subprocess.TimeoutExpired) as ex:
                print("report.py: gnuplot %s.gp: %s" % (policy, ex), file=sys.stderr)
    return made


def read_rocksdb(out):
    d = os.path.join(out, "rocksdb")
    res = {"status": read_kv(os.path.join(out, "rocksdb.status")), "rows": [], "table_md": ""}
    p = os.path.join(d, "results.csv")
    if os.path.exists(p):
        with open(p, newline="") as f:
            res["rows"] = list(csv.DictReader(f))
    p = os.path.join(d, "results.md")
    if os.path.exists(p):
        with open(p) as f:
            res["table_md"] = f.read()
    return res


def read_ltm(out, rows):
    d = read_kv(os.path.join(out, "ltm", "ltm.txt"))
    d["gets"] = [{k: r[k] for k in ("test", "clients", "pipeline", "requests", "rps", "avg_ms",
                                    "p50_ms", "p95_ms", "p99_ms", "max_ms")}
                 for r in rows if r["section"] == "ltm"]
    return d


def mib(v):
    try:
        return "%.1f MiB" % (int(v) / 1048576)
    except (TypeError, ValueError):
        return "n/a"


def summary_md(out, meta, agg, charts, rocks, ltm, rows):
    L = []
    w = L.append
    status = meta.get("status", "unknown")
    w("# Strata benchmark report")
    w("")
    if not status.startswith("complete"):
        w("**PARTIAL REPORT (%s)**: what finished before the stop is below; missing cells are `-`."
          % status)
        w("")
    w("## Machine and versions")
    w("")
    for k, label in (("date", "date"), ("host", "host"), ("cpu", "CPU"), ("kernel", "kernel"),
                     ("memory", "memory"), ("data_dir", "data dir"), ("strata_rev", "strata revision"),
                     ("strata", "strata-server"), ("strata_args", "extra strata-server arguments"),
                     ("redis_version", "redis-server"), ("redis_benchmark", "redis-benchmark"),
                     ("gnuplot_version", "gnuplot"), ("load_start", "load average at start"),
                     ("load_end", "load average at end")):
        if meta.get(k):
            w("- %s: %s" % (label, meta[k]))
    w("- run: %s, started %s, %s" % (meta.get("command", "bench/report.sh"), meta.get("date", "?"),
                                     meta.get("elapsed", "")))
    w("")
    w("## Strata vs Redis (redis-benchmark)")
    w("")
    w("- %s" % meta.get("matrix_desc", ""))
    w("- One server at a time, each fresh on an empty data directory with its own free port, the "
      "same appendfsync for both (Redis: appendonly yes, save \"\"). Each measurement is one "
      "server start, one discarded warm-up run, then the measured run. In each round Redis runs "
      "first in odd rounds and Strata first in even rounds, for the same (c, P), back to back.")
    w("- ops/s: median over the rounds, (min..max) when more than one. ratio: strata/redis ops/s of "
      "the same round, median (min..max) over the rounds: the figure to quote. `ping` is "
      "PING_MBULK (PING_INLINE is in results.csv too); `mset` counts MSET commands of 10 keys. "
      "GET reads the keys that this run's SET wrote (part of the %s-key space)." % meta.get("keyspace", "?"))
    w("- A benchmark prints: no figure here is checked against a target.")
    w("")
    configs = configs_of(agg)
    pols = policies_of(agg, meta)
    if not agg:
        w("No measurement finished.")
        w("")
    else:
        w("### Ratio strata/redis at a glance (median of the per-round ratios)")
        w("")
        w("| policy | test | " + " | ".join("c=%d P=%d" % cp for cp in configs) + " |")
        w("|---|---|" + "---:|" * len(configs))
        for pol in pols:
            for t in TEST_ORDER:
                cells = []
                found = False
                for c, p in configs:
                    e = next((e for e in agg if e["policy"] == pol and e["test"] == t
                              and e["clients"] == c and e["pipeline"] == p), None)
                    if e:
                        found = True
                    cells.append("%.2f" % e["ratio"]["median"] if e and e["ratio"] else "-")
                if found:
                    w("| %s | %s | %s |" % (pol, t, " | ".join(cells)))
        w("")
        for pol in pols:
            w("### appendfsync %s" % pol)
            w("")
            if charts.get(pol):
                w("![appendfsync %s](%s)" % (pol, charts[pol]))
                w("")
            elif pol in charts:
                w("(chart not drawn: no gnuplot; the script is charts/%s.gp)" % pol)
                w("")
            w("| test | c | P | strata ops/s | redis ops/s | strata/redis | strata p50 ms | "
              "strata p99 ms | redis p50 ms | redis p99 ms | rounds |")
            w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for e in agg:
                if e["policy"] != pol or e["test"] not in TEST_ORDER:
                    continue
                nr = max(len(e["strata"]["rounds"]), len(e["redis"]["rounds"]))
                w("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %d |" % (
                    e["test"], e["clients"], e["pipeline"], fmt_rps(e["strata"]["rps"]),
                    fmt_rps(e["redis"]["rps"]), fmt_ratio(e["ratio"]),
                    fmt_ms(e["strata"]["p50_ms"]), fmt_ms(e["strata"]["p99_ms"]),
                    fmt_ms(e["redis"]["p50_ms"]), fmt_ms(e["redis"]["p99_ms"]), nr))
            w("")
        w("Latency columns: median over the rounds of redis-benchmark's p50 and p99 (ms, client "
          "side, 0.008 ms steps at best). Per-round figures are in results.csv.")
        w("")

    w("## Engine vs RocksDB (bench/rocksdb_compare.sh)")
    w("")
    st = rocks["status"]
    stopped = not status.startswith("complete")
    if not st:
        w("Not run%s." % (" (--skip-rocksdb)" if meta.get("skip_rocksdb") == "1"
                          else " (the run stopped before it)" if stopped else ""))
    else:
        result = st.get("result", "?")
        if result == "running":
            result = "did not finish (%s)" % status
        w("- command: `%s`" % st.get("command", "?"))
        w("- status: %s%s" % (result,
                              "" if st.get("result") == "ok" else "; see rocksdb/ and raw/rocksdb_compare.stderr"))
        tm = rocks["table_md"]
        if tm:
            lines = tm.splitlines()
            # Its versions line says whether db_bench was built with assertions: keep it.
            for ln in lines:
                if ln.startswith("- RocksDB:") or ln.startswith("- Strata:"):
                    w(ln)
            w("- full report with settings and per-phase figures: [rocksdb/results.md](rocksdb/results.md)")
            w("")
            # The tables of rocksdb_compare's results.md: from its first table to the per-phase one.
            keep = []
            started = False
            for ln in lines:
                if ln.startswith("| workload") or ln.startswith("| write amp"):
                    started = True
                if ln.startswith("Per phase"):
                    break
                if started:
                    keep.append(ln)
            w("\n".join(keep).strip())
    w("")

    w("## Larger than memory (Strata only)")
    w("")
    if not ltm.get("keys"):
        w("Not run%s." % (" (--skip-ltm)" if meta.get("skip_ltm") == "1"
                          else " (the run stopped before it)" if stopped else ""))
    else:
        w("Redis keeps every key in memory, so it cannot hold this data set in the same memory: "
          "this section is Strata only.")
        w("")
        w("- server: `strata-server --memory-limit %s --appendfsync %s` on a fresh data directory"
          % (ltm.get("limit", "?"), ltm.get("policy", "everysec")))
        w("- data: %s keys `key:000000000000`.. of %s-byte incompressible values (shake_128 of the "
          "key), written once each through `redis-cli --pipe`: %s of values, %sx the memory limit; "
          "DBSIZE after the load %s; loaded in %s s (%s keys/s)" % (
              ltm.get("keys", "?"), ltm.get("value_bytes", "?"), mib(ltm.get("value_total_bytes")),
              ltm.get("times_limit", "?"), ltm.get("dbsize", "?"), ltm.get("load_secs", "?"),
              ltm.get("load_keys_per_s", "?")))
        w("- check: %s random keys read back byte for byte: %s missing, %s wrong" % (
            ltm.get("verify_sample", "?"), ltm.get("verify_missing", "?"), ltm.get("verify_wrong", "?")))
        w("- result: %s" % ltm.get("result", "did not finish (%s)" % status))
        w("")
        gets = ltm.get("gets", [])
        if gets:
            w("Uniform random GETs over all %s keys (`redis-benchmark -t get -r %s`):" % (
                ltm.get("keys", "?"), ltm.get("keys", "?")))
            w("")
            w("| clients | pipeline | requests | ops/s | avg ms | p50 ms | p95 ms | p99 ms | max ms |")
            w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for g in gets:
                w("| %s | %s | %s | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f |" % (
                    g["clients"], g["pipeline"], g["requests"], g["rps"] or 0, g["avg_ms"] or 0,
                    g["p50_ms"] or 0, g["p95_ms"] or 0, g["p99_ms"] or 0, g["max_ms"] or 0))
            w("")
        w("| memory | bytes | |")
        w("|---|---:|---|")
        lim = ltm.get("limit_bytes")
        for k, label in (("limit_bytes", "memory_limit"), ("vmhwm_after_load", "peak RSS (VmHWM) after the load"),
                         ("vmhwm_end", "peak RSS (VmHWM) at the end"), ("vmrss_end", "RSS (VmRSS) at the end"),
                         ("engine_memory_bytes", "INFO engine_memory_bytes"),
                         ("block_cache_usage", "INFO block_cache_usage"),
                         ("engine_table_readers_bytes", "INFO engine_table_readers_bytes"),
                         ("data_dir_bytes", "data directory on disk")):
            v = ltm.get(k)
            if v:
                rel = ""
                try:
                    rel = "%.2fx the limit" % (int(v) / int(lim)) if k != "limit_bytes" else ""
                except (TypeError, ValueError, ZeroDivisionError):
                    pass
                w("| %s | %s (%s) | %s |" % (label, v, mib(v), rel))
        w("")
        w("memory_ceiling.sh's bound for the peak RSS is 1.5 x limit + 32 MiB (%s); VmHWM counts "
          "every page the process ever had resident. The machine's page cache (outside the "
          "server's RSS) may hold the table files: reads miss the block cache, not necessarily "
          "the disk." % (mib(int(lim) + int(lim) // 2 + (32 << 20)) if lim else "n/a"))
    w("")
    w("## Files")
    w("")
    w("- `results.csv`, `results.jsonl`: one row per redis-benchmark test and run (section "
      "matrix or ltm; policy, server, test, clients, pipeline, round, rps, latencies), appended "
      "as each run finished. `results.json`: those rows, the aggregates above, the RocksDB table "
      "and the larger-than-memory figures.")
    w("- `raw/`: every redis-benchmark CSV (warm-ups too, `*-warmup.csv`), server logs, "
      "benchmark stderr; `rocksdb/`: rocksdb_compare.sh's own output; `ltm/`: INFO and the "
      "loader's output; `charts/`: per policy a `.dat`, a gnuplot `.gp` and the `.svg`.")
    w("")
    return "\n".join(L)


def cmd_finalize(a):
    out = a.out
    meta = read_kv(os.path.join(out, "meta.txt"))
    rows = load_rows(out)
    agg = aggregate(rows)
    charts = write_charts(out, agg, meta) if not a.no_charts else {}
    rocks = read_rocksdb(out)
    ltm = read_ltm(out, rows)
    doc = {"meta": meta, "measurements": rows, "aggregates": agg,
           "rocksdb": {"status": rocks["status"], "results": rocks["rows"]}, "larger_than_memory": ltm,
           "charts": charts}
    tmp = os.path.join(out, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, os.path.join(out, "results.json"))
    tmp = os.path.join(out, "summary.md.tmp")
    with open(tmp, "w") as f:
        f.write(summary_md(out, meta, agg, charts, rocks, ltm, rows))
    os.replace(tmp, os.path.join(out, "summary.md"))
    print("wrote %s (%d measurements, %d aggregates, charts: %s)" % (
        os.path.join(out, "summary.md"), len(rows), len(agg),
        ", ".join(v for v in charts.values() if v) or "none"))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("append")
    p.add_argument("raw")
    for k in ("csv", "jsonl", "section", "policy", "server"):
        p.add_argument("--" + k, required=True)
    for k in ("clients", "pipeline", "round", "requests"):
        p.add_argument("--" + k, type=int, required=True)
    p.add_argument("--first", default="")
    p.add_argument("--keys", default="")
    p = sub.add_parser("ltm-gen")
    p.add_argument("--keys", type=int, required=True)
    p.add_argument("--value-bytes", type=int, required=True)
    p = sub.add_parser("ltm-verify")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--keys", type=int, required=True)
    p.add_argument("--value-bytes", type=int, required=True)
    p.add_argument("--sample", type=int, default=20000)
    p.add_argument("--seed", type=int, default=8)
    p = sub.add_parser("finalize")
    p.add_argument("out")
    p.add_argument("--no-charts", action="store_true")
    a = ap.parse_args()
    return {"append": cmd_append, "ltm-gen": cmd_ltm_gen, "ltm-verify": cmd_ltm_verify,
            "finalize": cmd_finalize}[a.cmd](a)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(1)
