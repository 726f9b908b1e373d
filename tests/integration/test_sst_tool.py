#!/usr/bin/env python3
"""test_sst_tool.py STRATA_SERVER STRATA_SST -- strata-sst against a database a real server wrote.

A strata-server (own TOML file in a temporary directory: 127.0.0.1 on a free port, requirepass,
appendfsync always, a 64 KiB write buffer so that flushes happen, tiers ssd = levels 0-1 and
hdd = levels 2-6 in zstd) gets strings (binary keys and values with 0x00, 0xff, quotes, backslash,
newline; an empty value; a TTL; one already expired), hashes, lists, sets and sorted sets (negative,
fractional, tied and infinite scores; one of 300 members, which has a rank index) in db 0, 3 and 5;
tenant acme writes in its db 0 and db 3; tenant gone writes and is deleted. COMPACT pushes it all
to the hdd tier. Then, twice, a few writes (a deletion and an overwrite among them) and BGSAVE,
which leave level-0 tables in the ssd tier; then single writes (a deletion of a key that lives in
a table among them) that stay in the WAL. SHUTDOWN. A Python model holds what was written.

Then, with the server stopped, strata-sst:
 - scan (JSON and text, --config, --tenant, --db, --match, --type, --limit, --max-elements) shows
   exactly the model: every (tenant, db, key, type, value), TTLs, no deleted or expired key;
 - manifest (text, JSON): the edit history replays to the live tables, each in the directory of
   its tier (levels 0-1 in ssd/, 2+ in hdd/), with the recorded size;
 - stats (database and file): per-table lines, level/tier/database summaries that add up, sizes
   equal to the files';
 - dump: entries in engine order with seq and kind, decoded fields that match the model (strings,
   hash elements, sorted-set score index, rank index, expiry index, tombstones), --raw, --limit,
   --from/--to with escaped engine keys;
 - wal dump/verify of the live WAL: the writes after the last flush, the deletion included;
 - verify of the database and of every table;
 - corruption, each on a copy of the database: a data block, a footer, a missing table, a table
   grown, the MANIFEST's first record, a WAL record (the first, then the third) with a valid one
   after it (scan fails, scan --point-in-time shows exactly the records before it), a torn WAL
   tail (fine): exit 2 naming file and offset, or 0 where the damage is not damage;
 - wrong inputs (missing file, directory, WAL, MANIFEST, random bytes, non-database, bad options):
   exit 1;
 - read-only: no file of the database changes and none appears; a running server's database
   (a copy, its LOCK held) is refused by scan, verify, stats and manifest.
Every tool run is also checked for pure printable-ASCII stdout and for sanitizer reports.

Every wait is bounded in tries and time; no assertion depends on timing. Ports come from the same
byte-range lock file as the C harness (tests/util/server_harness.h). Servers are stopped at the
end, on failure too, and die with this process (PR_SET_PDEATHSIG). STRATA_IT_KEEP=1 keeps the
temporary directory. Exit: 0 passed, 1 failed, 77 redis-py (python3-redis) is not installed."""
import copy
import fnmatch
import hashlib
import json
import itproc
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

try:
    import redis
except ImportError:
    print("SKIP: the redis module (python3-redis) is not installed for", sys.executable)
    sys.exit(77)

START_DEADLINE_S = 30     # a server must answer within this (ASan builds start slowly)
STOP_DEADLINE_S = 60      # ... and exit within this after SHUTDOWN or SIGTERM
PORT_PICKS = 64
START_ATTEMPTS = 5        # a port lost to another program ("in use") is replaced this many times
CLIENT_TIMEOUT_S = 60     # any single command (COMPACT included)
TOOL_TIMEOUT_S = 60       # any single strata-sst run
PASSWORD = "sst-admin-" + os.urandom(6).hex()
ACME_PW = "pw2"
FAR_TTL_S = 100000        # keys with a TTL that cannot pass during the test

failures = []


class Abort(Exception):
    """A failure after which the rest of the test cannot run."""


def check(desc, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + desc + ("" if ok or detail == "" else "\n  " + str(detail)[:2000]))
    if not ok:
        failures.append(desc)
    return ok


def note(text):
    print("note: " + text)


# ---- processes and ports (as tests/integration/test_scaleout.py) -------------------------------

def Ports():
    return itproc.Ports(PORT_PICKS, Abort)


log_tail, _die_with_parent = itproc.log_tail, itproc.die_with_parent


def spawn(argv, log_path, banner):
    return itproc.spawn(argv, log_path, banner, "test_sst_tool")


def end(p, deadline_s=STOP_DEADLINE_S):
    """SIGTERM, then waits; SIGKILL past the deadline. Returns the exit status or "timeout"."""
    return itproc.end(p, deadline_s)


CONFIG = """# test_sst_tool.py's server
[server]
bind = "127.0.0.1"
port = {port}
dir = "{dir}"
requirepass = "{password}"
appendfsync = "always"
workers = 1
memory_limit = "64MiB"

[engine]
write_buffer = "64KiB"

[[tier]]
name = "ssd"
dir = "ssd"
levels = [0, 1]

[[tier]]
name = "hdd"
dir = "hdd"
first_level = 2
codec = "zstd"
"""


class Server:
    """One strata-server with its own TOML file (port rewritten on each start attempt)."""

    def __init__(self, name, server_bin, root, ports, db_dir, extra=()):
        self.name, self.bin, self.ports, self.dir = name, server_bin, ports, db_dir
        self.conf = os.path.join(root, name + ".toml")
        self.log = os.path.join(root, name + ".log")
        self.extra = list(extra)
        self.port = None
        self.p = None

    def write_conf(self, port):
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(port=port, dir=self.dir, password=PASSWORD))

    def _ready(self):
        start = time.monotonic()
        for _ in range(int(START_DEADLINE_S / 0.05)):
            if self.p.poll() is not None:
                return "in use" if "in use" in log_tail(self.log) else False
            try:
                with redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD, socket_timeout=5,
                                 socket_connect_timeout=5) as c:
                    if c.ping():
                        return True
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                pass
            if time.monotonic() - start > START_DEADLINE_S:
                break
            time.sleep(0.05)
        return False

    def start(self):
        for _ in range(START_ATTEMPTS):
            self.port = self.ports.pick()
            self.write_conf(self.port)
            argv = [self.bin, "--config", self.conf] + self.extra
            with open(self.log, "ab") as log:
                log.write(("---- test_sst_tool: start %s: %s\n" % (self.name, " ".join(argv))).encode())
                log.flush()
                self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                          preexec_fn=_die_with_parent)
            ready = self._ready()
            if ready is True:
                return
            end(self.p)
            self.p = None
            if ready != "in use":
                raise Abort("server %s did not start (log %s):\n%s" % (self.name, self.log, log_tail(self.log)))
        raise Abort("server %s: every port picked was in use" % self.name)

    def client(self, db=0, user=None, password=None):
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, username=user,
                           password=password if password is not None else PASSWORD,
                           socket_timeout=CLIENT_TIMEOUT_S, socket_connect_timeout=10)

    def shutdown(self):
        """SHUTDOWN (no reply: the connection closes), then the exit status, bounded."""
        try:
            with self.client() as c:
                c.execute_command("SHUTDOWN")
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            pass
        try:
            return self.p.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            return end(self.p)

    def stop(self):
        return end(self.p)


# ---- strata-sst --------------------------------------------------------------------------------

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


class Run:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    def show(self):
        return "strata-sst %s -> exit %s\n  stderr: %s\n  stdout: %s" % (
            " ".join(self.argv), self.rc, self.err.strip()[:600], self.out[:400])

    def lines(self):
        return [l for l in self.out.split("\n") if l != ""]


class Tool:
    def __init__(self, path):
        self.path = path
        self.runs = 0
        self.bad_output = 0
        self.sanitizer = 0

    def __call__(self, *args):
        argv = [str(a) for a in args]
        try:
            p = subprocess.run([self.path, "--no-progress"] + argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=TOOL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise Abort("strata-sst %s: no exit within %d s" % (" ".join(argv), TOOL_TIMEOUT_S))
        self.runs += 1
        out = p.stdout.decode("latin-1")
        err = p.stderr.decode("latin-1")
        r = Run(argv, p.returncode, out, err)
        # Text and JSON both escape every byte outside 0x20..0x7e: stdout is printable ASCII lines.
        if any(not (0x20 <= c <= 0x7e or c == 0x0a) for c in p.stdout):
            self.bad_output += 1
            check("stdout of strata-sst %s is printable ASCII" % " ".join(argv)[:120], False,
                  repr([c for c in p.stdout if not (0x20 <= c <= 0x7e or c == 0x0a)][:10]))
        if any(m in err for m in SANITIZER_MARKS) or p.returncode < 0:
            self.sanitizer += 1
            check("strata-sst %s ran without a sanitizer report or a signal" % " ".join(argv)[:120], False, r.show())
        return r

    def expect(self, desc, want_rc, *args, err_has=(), out_has=()):
        """Runs and checks the exit status and that stderr/stdout hold the given strings."""
        r = self(*args)
        ok = r.rc == want_rc
        missing = [s for s in err_has if s not in r.err] + [s for s in out_has if s not in r.out]
        check("%s: exit %d%s" % (desc, want_rc, "".join(", names %r" % s for s in list(err_has) + list(out_has))),
              ok and not missing, r.show() + ("" if not missing else "\n  missing: %r" % missing))
        return r


def parse_json_lines(r, desc):
    """Each stdout line as a JSON object; a line that does not parse is a failure."""
    objs, bad = [], []
    for line in r.lines():
        try:
            o = json.loads(line)
            if not isinstance(o, dict):
                raise ValueError("not an object")
            objs.append(o)
        except ValueError as e:
            bad.append((line[:200], str(e)))
    check("%s: all %d lines are JSON objects" % (desc, len(objs) + len(bad)), not bad and objs,
          "%d bad, first: %r" % (len(bad), bad[:2]))
    return objs


def L(s):
    """A JSON string of the tool's back to bytes: its code points are the bytes (Latin-1)."""
    return s.encode("latin-1")


ESC = re.compile(r'\\(x[0-9a-fA-F]{2}|.)', re.S)


def unescape(s):
    """The text output's C escapes back to bytes."""
    def one(m):
        e = m.group(1)
        if e[0] == "x":
            return chr(int(e[1:], 16))
        return {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}[e]
    return ESC.sub(one, s).encode("latin-1")


QUOTED = r'"((?:[^"\\]|\\.)*)"'
TTL_MS = re.compile(r'("ttl_ms":|ttl_ms=)-?\d+')


def no_ttl(text):
    """Output with ttl_ms (expire_ms minus the time of the run) blanked, to compare two runs."""
    return TTL_MS.sub(r"\1_", text)


def no_ttl_objs(objs):
    return [{k: v for k, v in o.items() if k != "ttl_ms"} for o in objs]


# ---- the model ---------------------------------------------------------------------------------

class Model:
    """(tenant name, db, key bytes) -> [type, value]; ttl: the keys that carry an expiry."""

    def __init__(self):
        self.keys = {}
        self.ttl = set()

    def put(self, tenant, db, key, typ, value):
        k = (tenant, db, key)
        self.keys[k] = [typ, value]
        self.ttl.discard(k)

    def delete(self, tenant, db, key):
        self.keys.pop((tenant, db, key), None)
        self.ttl.discard((tenant, db, key))

    def snapshot(self):
        m = Model()
        m.keys = copy.deepcopy(self.keys)
        m.ttl = set(self.ttl)
        return m

    def canon(self, tenant=None, db=None, typ=None, match=None):
        """{(tenant, db, key): (type, canonical value)} as scan prints it, filtered."""
        res = {}
        for (t, d, k), (ty, v) in self.keys.items():
            if tenant is not None and t != tenant or db is not None and d != db or typ is not None and ty != typ:
                continue
            if match is not None and not fnmatch.fnmatchcase(k.decode("latin-1"), match):
                continue
            res[(t, d, k)] = (ty, canon_value(ty, v))
        return res


def canon_value(ty, v):
    if ty == "string":
        return v
    if ty == "hash":
        return tuple(sorted(v.items()))
    if ty == "list":
        return tuple(v)
    if ty == "set":
        return tuple(sorted(v))           # members in byte order (docs/FORMAT.md, elements)
    if ty == "zset":
        return tuple(sorted(v.items(), key=lambda ms: (ms[1], ms[0])))  # score, then member bytes
    raise ValueError(ty)


def score_of(x):
    """A score as printed: a JSON number, or the strings "inf" / "-inf" (sst_print.c)."""
    if isinstance(x, str) and x not in ("inf", "-inf"):
        raise ValueError("score %r" % x)
    return float(x)


def canon_scanned(o):
    """A scan --json object as (key, (type, canonical value)), or raises."""
    ty = o["type"]
    v = o["value"]
    if ty == "string":
        cv = L(v)
    elif ty == "hash":
        cv = tuple(sorted((L(f), L(x)) for f, x in v.items()))
    elif ty == "list":
        cv = tuple(L(x) for x in v)
    elif ty == "set":
        cv = tuple(L(x) for x in v)  # as printed: the order is part of the check
    elif ty == "zset":
        cv = tuple((L(m), score_of(s)) for m, s in v)
    else:
        raise ValueError("type %r" % ty)
    return (o["tenant"], o["db"], L(o["key"])), (ty, cv)


def diff(want, got, limit=4):
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    wrong = [(k, want[k], got[k]) for k in want if k in got and want[k] != got[k]]
    return "missing %d %r; extra %d %r; wrong %d %r" % (len(missing), missing[:limit], len(extra), extra[:limit],
                                                      len(wrong), [(k, str(w)[:150], str(g)[:150])
                                                                   for k, w, g in wrong[:limit]])


# ---- writing the data --------------------------------------------------------------------------

BIN_KEY = b"bin:\x00\xff\"\\\n\t\r\x7f\x80end"
BIN_VAL = b"\x00\xff\"\\\nval\x01\x7f"
LEAD_FF_KEY = b"\xff\xfe\x00lead"
N_STRINGS = 2400


def pipeline_run(c, cmds, desc):
    """cmds: (args tuple, expected reply or None). Pipelined in chunks; counts unexpected replies."""
    bad = []
    for i in range(0, len(cmds), 500):
        part = cmds[i:i + 500]
        p = c.pipeline(transaction=False)
        for args, _ in part:
            p.execute_command(*args)
        for (args, want), got in zip(part, p.execute(raise_on_error=False)):
            if want is not None and got != want:
                bad.append((args[:2], want, got))
    if bad:
        raise Abort("%s: %d unexpected replies, first %r" % (desc, len(bad), bad[:3]))


def write_phase1(srv, m):
    """Everything that COMPACT then pushes to the hdd tier."""
    with srv.client() as c:
        cmds = []
        for i in range(N_STRINGS):
            k = b"str:%05d" % i
            v = b"L" * 2000 if i % 100 == 50 else b"s%05d:" % i + b"xyz" * (i % 17)
            m.put("default", 0, k, "string", v)
            cmds.append((("SET", k, v), True))
        for k, v in ((BIN_KEY, BIN_VAL), (LEAD_FF_KEY, b""), ("caf\u00e9".encode(), b"utf-8 key"),
                     (b"shared", b"default-db0")):
            m.put("default", 0, k, "string", v)
            cmds.append((("SET", k, v), True))
        for h in range(40):
            k = b"hash:%03d" % h
            fields = {b"f%d" % f: b"hv%d-%d" % (h, f) for f in range(8)}
            m.put("default", 0, k, "hash", fields)
            cmds.append((("HSET", k) + tuple(x for kv in fields.items() for x in kv), 8))
        hb = {b"\x00f": b"\xff", b"q\"uote": b"back\\slash", b"nl\n": b""}
        m.put("default", 0, b"hash:bin", "hash", hb)
        cmds.append((("HSET", b"hash:bin") + tuple(x for kv in hb.items() for x in kv), 3))
        for i in range(30):
            k = b"list:%03d" % i
            items = [b"item-%d-%d" % (i, j) for j in range(10)]
            m.put("default", 0, k, "list", items)
            cmds.append((("RPUSH", k) + tuple(items), 10))
        m.put("default", 0, b"list:lpush", "list", [b"c", b"b", b"a"])
        cmds.append((("LPUSH", b"list:lpush", b"a", b"b", b"c"), 3))
        lb = [b"\x00", b"\xff\xfe", b"dup", b"dup", b"quote\"and\\"]
        m.put("default", 0, b"list:bin", "list", lb)
        cmds.append((("RPUSH", b"list:bin") + tuple(lb), 5))
        for i in range(30):
            k = b"set:%03d" % i
            members = {b"mem-%d-%d" % (i, j) for j in range(10)}
            m.put("default", 0, k, "set", members)
            cmds.append((("SADD", k) + tuple(sorted(members)), 10))
        sb = {b"\x00", b"\xff", b"a\"b", b"\n"}
        m.put("default", 0, b"set:bin", "set", sb)
        cmds.append((("SADD", b"set:bin") + tuple(sorted(sb)), 4))
        for z in range(30):
            k = b"zset:%03d" % z
            members = {b"m%d" % e: (e - 5) * 1.25 + z * 0.001 for e in range(10)}  # negative, fractional
            m.put("default", 0, k, "zset", members)
            cmds.append((("ZADD", k) + tuple(x for ms in members.items() for x in (repr(ms[1]), ms[0])), 10))
        zt = {b"d": 1.0, b"b": 1.0, b"c": 1.0, b"a": -0.5, b"\x00z": 1.0}
        m.put("default", 0, b"zset:ties", "zset", zt)
        cmds.append((("ZADD", b"zset:ties") + tuple(x for ms in zt.items() for x in (repr(ms[1]), ms[0])), 5))
        zi = {b"lo": float("-inf"), b"hi": float("inf"), b"mid": 0.0}
        m.put("default", 0, b"zset:inf", "zset", zi)
        cmds.append((("ZADD", b"zset:inf", "-inf", b"lo", "+inf", b"hi", "0", b"mid"), 3))
        zb = {b"m%03d" % i: (i % 50) - 25.5 for i in range(300)}  # > 256 members: a rank index
        m.put("default", 0, b"zbig", "zset", zb)
        cmds.append((("ZADD", b"zbig") + tuple(x for ms in zb.items() for x in (repr(ms[1]), ms[0])), 300))
        m.put("default", 0, b"ttl:str", "string", b"lives long")
        m.ttl.add(("default", 0, b"ttl:str"))
        cmds.append((("SET", b"ttl:str", b"lives long", "EX", FAR_TTL_S), True))
        cmds.append((("EXPIRE", b"hash:001", FAR_TTL_S), True))
        m.ttl.add(("default", 0, b"hash:001"))
        cmds.append((("SET", b"gone:px", b"expired", "PX", 1), True))  # expired: never in the model
        pipeline_run(c, cmds, "phase 1 writes (db 0)")
    with srv.client(db=5) as c5, srv.client(db=3) as c3:
        c5.set(b"db5:key", b"five")
        c5.hset(b"db5:h", mapping={b"x": b"1"})
        c3.set(b"shared", b"default-db3")
        m.put("default", 5, b"db5:key", "string", b"five")
        m.put("default", 5, b"db5:h", "hash", {b"x": b"1"})
        m.put("default", 3, b"shared", "string", b"default-db3")
    with srv.client() as c:
        for name, pw in (("acme", ACME_PW), ("gone", "pw3")):
            r = c.execute_command("TENANT", "ADD", name, pw)
            if r not in (b"OK", "OK", True):
                raise Abort("TENANT ADD %s: %r" % (name, r))
    with srv.client(user="acme", password=ACME_PW) as a0, srv.client(db=3, user="acme", password=ACME_PW) as a3:
        cmds = []
        for i in range(20):
            k, v = b"acme:%02d" % i, b"acme-value-%d" % i
            m.put("acme", 0, k, "string", v)
            cmds.append((("SET", k, v), True))
        m.put("acme", 0, b"shared", "string", b"acme-db0")
        cmds.append((("SET", b"shared", b"acme-db0"), True))
        m.put("acme", 0, b"acme:h", "hash", {b"a": b"1", b"b": b"\xff"})
        cmds.append((("HSET", b"acme:h", b"a", b"1", b"b", b"\xff"), 2))
        pipeline_run(a0, cmds, "tenant acme db 0")
        cmds = []
        for i in range(10):
            k, v = b"acme3:%02d" % i, b"acme3-value-%d" % i
            m.put("acme", 3, k, "string", v)
            cmds.append((("SET", k, v), True))
        m.put("acme", 3, b"shared", "string", b"acme-db3")
        cmds.append((("SET", b"shared", b"acme-db3"), True))
        m.put("acme", 3, b"acme3:list", "list", [b"x", b"y", b"z"])
        cmds.append((("RPUSH", b"acme3:list", b"x", b"y", b"z"), 3))
        pipeline_run(a3, cmds, "tenant acme db 3")
    with srv.client(user="gone", password="pw3") as g:
        g.set(b"gone:key", b"of a deleted tenant")
    with srv.client() as c:
        c.execute_command("TENANT", "DEL", "gone")


def write_phase2(srv, m):
    """After COMPACT: two rounds of writes, each flushed by BGSAVE into a level-0 table (ssd)."""
    with srv.client() as c:
        cmds = []
        for i in range(60):
            k, v = b"post:%03d" % i, b"post-value-%d" % i
            m.put("default", 0, k, "string", v)
            cmds.append((("SET", k, v), True))
        cmds.append((("DEL", b"str:00007"), 1))            # a tombstone in ssd over an hdd entry
        m.delete("default", 0, b"str:00007")
        cmds.append((("HSET", b"hash:000", b"f0", b"changed"), 0))
        m.keys[("default", 0, b"hash:000")][1][b"f0"] = b"changed"
        pipeline_run(c, cmds, "phase 2a writes")
        c.bgsave()
        cmds = []
        for i in range(30):
            k, v = b"post2:%03d" % i, b"post2-value-%d" % i
            m.put("default", 0, k, "string", v)
            cmds.append((("SET", k, v), True))
        cmds.append((("ZADD", b"zset:000", "99.5", b"m0"), 0))
        m.keys[("default", 0, b"zset:000")][1][b"m0"] = 99.5
        pipeline_run(c, cmds, "phase 2b writes")
        c.bgsave()


def write_phase3(srv, m):
    """Single writes that stay in the WAL, one record each; the last is SET wal:last. Returns the
    model before each record and after the last: snaps[i] is the state a WAL cut before record i
    leaves (snaps[0]: the last BGSAVE's)."""
    snaps = [m.snapshot()]
    with srv.client() as c:
        c.set(b"wal:first", b"1")
        m.put("default", 0, b"wal:first", "string", b"1")
        snaps.append(m.snapshot())
        if c.delete(b"str:00011") != 1:                     # lives in the hdd table
            raise Abort("DEL str:00011 did not delete")
        m.delete("default", 0, b"str:00011")
        snaps.append(m.snapshot())
        c.set(b"str:00020", b"overwritten in the WAL")
        m.put("default", 0, b"str:00020", "string", b"overwritten in the WAL")
        snaps.append(m.snapshot())
        c.hset(b"wal:hash", b"a", b"1")
        m.put("default", 0, b"wal:hash", "hash", {b"a": b"1"})
        snaps.append(m.snapshot())
    with srv.client(user="acme", password=ACME_PW) as a:
        a.set(b"acme:wal", b"tenant write in the WAL")
        m.put("acme", 0, b"acme:wal", "string", b"tenant write in the WAL")
        snaps.append(m.snapshot())
    with srv.client() as c:
        c.set(b"wal:last", b"final")
        m.put("default", 0, b"wal:last", "string", b"final")
        snaps.append(m.snapshot())
    return snaps


# ---- files -------------------------------------------------------------------------------------

def tree_hashes(d):
    res = {}
    for dirpath, _, files in os.walk(d):
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                res[os.path.relpath(p, d)] = hashlib.sha256(fh.read()).hexdigest()
    return res


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x5a]))


def db_copy(root, src, name):
    dst = os.path.join(root, name)
    shutil.copytree(src, dst)
    return dst


# ---- the checks --------------------------------------------------------------------------------

def scan_map(r, desc):
    """scan --json output as {(tenant, db, key): (type, value)}, checking sizes and duplicates."""
    got, dup, bad = {}, [], []
    for o in parse_json_lines(r, desc):
        try:
            k, v = canon_scanned(o)
        except (KeyError, ValueError, TypeError, AttributeError) as e:
            bad.append((o, repr(e)))
            continue
        if k in got:
            dup.append(k)
        got[k] = v
        if v[0] != "string" and o.get("size") != len(v[1]):
            bad.append((k, "size %r, %d elements" % (o.get("size"), len(v[1]))))
    check("%s: no duplicate or malformed key" % desc, not dup and not bad, "dup %r bad %r" % (dup[:3], bad[:3]))
    return got


def check_scan(tool, db, conf, m):
    full = tool.expect("scan DBDIR --json", 0, "scan", db, "--json", err_has=("scan: %d keys" % len(m.keys),))
    got = scan_map(full, "scan --json")
    want = m.canon()
    check("scan --json: the %d keys equal the model (tenant, db, key, type, value)" % len(want), got == want,
          diff(want, got))
    objs = parse_json_lines(full, "scan --json (again)")
    for k in (("default", 0, b"str:00007"), ("default", 0, b"str:00011"), ("default", 0, b"gone:px")):
        check("scan: %r (deleted or expired) is absent" % (k[2],), k not in got)
    ttl_bad = []
    for o in objs:
        k = (o["tenant"], o["db"], L(o["key"]))
        has = "expire_ms" in o
        if has != (k in m.ttl) or has and not (o.get("ttl_ms", 0) > 0 and o["expire_ms"] > o["ttl_ms"] > 0):
            ttl_bad.append(o)
    check("scan: exactly the TTL keys (%d) carry expire_ms and ttl_ms > 0" % len(m.ttl), not ttl_bad, ttl_bad[:3])
    check("scan: tenant gone (deleted) has no key", all(o["tenant"] != "gone" for o in objs))
    # order: tenants default then acme, db ascending, keys in byte order within a (tenant, db)
    order = [({"default": 0, "acme": 1}.get(o["tenant"], 9), o["db"], L(o["key"])) for o in objs]
    check("scan: keys come in (tenant, db, key byte) order", order == sorted(order))

    text = tool.expect("scan DBDIR (text)", 0, "scan", db)
    tl = text.lines()
    pat = re.compile(r'^tenant=(\S+) db=(\d+) key=' + QUOTED + r' type=(string|hash|list|set|zset)( |$)')
    parsed = [pat.match(l) for l in tl]
    tkeys = {(p.group(1), int(p.group(2)), unescape(p.group(3))): p.group(4) for p in parsed if p}
    check("scan text: one line per key (%d), each tenant= db= key=\"...\" type=" % len(want),
          len(tl) == len(want) and all(parsed), "%d lines, unparsed %r" % (len(tl), [l for l, p in zip(tl, parsed) if not p][:3]))
    check("scan text: the escaped keys read back to the model's keys and types",
          tkeys == {k: v[0] for k, v in want.items()}, diff({k: v[0] for k, v in want.items()}, tkeys))
    bl = [l for l in tl if 'key="bin:' in l]
    check("scan text: the binary key and value in C escapes",
          len(bl) == 1 and 'key="bin:\\x00\\xff\\"\\\\\\n\\t\\r\\x7f\\x80end"' in bl[0]
          and 'value="\\x00\\xff\\"\\\\\\nval\\x01\\x7f"' in bl[0], bl)

    r = tool.expect("scan --config FILE --json (no DBDIR)", 0, "scan", "--config", conf, "--json")
    check("scan --config: the same output as scan DBDIR (ttl_ms aside)", no_ttl(r.out) == no_ttl(full.out),
          diff(want, scan_map(r, "scan --config")))
    r = tool.expect("scan DBDIR --config FILE --json", 0, "scan", db, "--config", conf, "--json")
    check("scan DBDIR --config: the same output (ttl_ms aside)", no_ttl(r.out) == no_ttl(full.out))

    for desc, args, sub in (
            ("--tenant acme", ("--tenant", "acme"), m.canon(tenant="acme")),
            ("--tenant 1 (by id)", ("--tenant", "1"), m.canon(tenant="acme")),
            ("--tenant default --db 0", ("--tenant", "default", "--db", "0"), m.canon(tenant="default", db=0)),
            ("--db 3", ("--db", "3"), m.canon(db=3)),
            ("--db 5", ("--db", "5"), m.canon(db=5)),
            ("--tenant acme --db 3", ("--tenant", "acme", "--db", "3"), m.canon(tenant="acme", db=3)),
            ("--match 'hash:0[0-2]*'", ("--match", "hash:0[0-2]*"), m.canon(match="hash:0[0-2]*")),
            ("--match '*ed'", ("--match", "*ed"), m.canon(match="*ed")),
            ("--match 'str:0001?'", ("--match", "str:0001?"), m.canon(match="str:0001?")),
            ("--type hash", ("--type", "hash"), m.canon(typ="hash")),
            ("--type zset", ("--type", "zset"), m.canon(typ="zset")),
            ("--type list --tenant acme", ("--type", "list", "--tenant", "acme"), m.canon(tenant="acme", typ="list")),
            ("--db 9 (empty)", ("--db", "9"), {})):
        r = tool.expect("scan " + desc, 0, "scan", db, "--json", *args)
        got = scan_map(r, "scan " + desc) if r.lines() else {}
        check("scan %s: exactly the model's %d matching keys" % (desc, len(sub)), got == sub, diff(sub, got))

    r = tool.expect("scan --limit 7", 0, "scan", db, "--json", "--limit", "7")
    check("scan --limit 7: the first 7 lines of the full scan", no_ttl(r.out).split("\n")[:7] ==
          no_ttl(full.out).split("\n")[:7] and len(r.lines()) == 7, r.lines())
    r = tool.expect("scan --limit 3 --tenant acme --db 3", 0, "scan", db, "--json", "--limit", "3", "--tenant", "acme",
                    "--db", "3")
    check("scan --limit 3 --tenant acme --db 3: 3 keys of acme db 3",
          len(r.lines()) == 3 and set(scan_map(r, "limit 3")) <= set(m.canon(tenant="acme", db=3)), r.out)

    # --max-elements: collections cut after N elements, with a marker; JSON must still be JSON
    r = tool.expect("scan --max-elements 3 --json", 0, "scan", db, "--json", "--max-elements", "3", "--match",
                    "[hlsz]*:00[01]")
    lines = r.lines()
    bad = []
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            bad.append(line)
    check("scan --max-elements 3 --json: every line is JSON (hashes included)", lines and not bad,
          "%d of %d lines do not parse, e.g. %s" % (len(bad), len(lines), bad[:1]))
    cut = [l for l in lines if '"list:000"' in l]
    check("scan --max-elements 3: list:000 shows 3 items and '...7 more'",
          len(cut) == 1 and '"value":["item-0-0","item-0-1","item-0-2","...7 more"]' in cut[0], cut)

    r = tool.expect("scan --tenant nosuch", 1, "scan", db, "--tenant", "nosuch", err_has=("nosuch", "default", "acme"))
    check("scan --tenant nosuch: the deleted tenant 'gone' is not offered", "gone" not in r.err, r.err)
    tool.expect("scan --tenant gone (deleted)", 1, "scan", db, "--tenant", "gone")
    return full


def check_manifest(tool, db, m_conf):
    r = tool.expect("manifest DBDIR --json", 0, "manifest", db, "--json")
    objs = parse_json_lines(r, "manifest --json")
    edits = [o for o in objs if "edit" in o]
    cur = [o for o in objs if "current" in o]
    live_lines = [o for o in objs if o.get("change") == "live"]
    check("manifest: edits numbered 0..%d in order" % (len(edits) - 1),
          [o["edit"] for o in edits] == list(range(len(edits))) and len(edits) >= 3, [o["edit"] for o in edits][:20])
    check("manifest: one 'current' record naming MANIFEST-*, with edits = %d" % len(edits),
          len(cur) == 1 and cur[0]["edits"] == len(edits) and os.path.basename(cur[0]["current"]).startswith("MANIFEST-")
          and os.path.exists(os.path.join(db, os.path.basename(cur[0]["current"]))), cur)
    if not cur:
        raise Abort("manifest gave no current record")
    cur = cur[0]
    idx_cur = objs.index(cur)
    check("manifest: the live tables follow the current record, %d of them" % cur["tables"],
          objs[idx_cur + 1:] == live_lines and len(live_lines) == cur["tables"], objs[idx_cur + 1:][:3])
    # the history replays to the live set
    live = {}
    ends = []
    for o in objs[:idx_cur]:
        if "edit" in o:
            ends.append(o["end"])
        elif o.get("change") == "delete":
            live.pop(o["file"], None)
        elif o.get("change") == "add":
            live[o["file"]] = (o["level"], o["tier"], o["size"], o["checksum"])
    replay = {o["file"]: (o["level"], o["tier"], o["size"], o["checksum"]) for o in live_lines}
    check("manifest: the edits' adds and deletes replay to the live tables", live == replay,
          "replayed %r\n  live %r" % (live, replay))
    check("manifest: edit ends grow, the last is the MANIFEST's size",
          ends == sorted(ends) and ends and ends[-1] == os.path.getsize(os.path.join(db, os.path.basename(cur["current"]))),
          ends[-3:])
    placed = []
    for o in live_lines:
        want_dir, want_tier = ("ssd", 1) if o["level"] <= 1 else ("hdd", 2)
        p = os.path.join(db, want_dir, o["file"])
        other = os.path.join(db, "hdd" if want_dir == "ssd" else "ssd", o["file"])
        ok = o["tier"] == want_tier and os.path.isfile(p) and os.path.getsize(p) == o["size"] \
            and not os.path.exists(other) and not os.path.exists(os.path.join(db, o["file"]))
        placed.append((o["file"], o["level"], o["tier"], want_dir, ok))
    check("manifest: every live table is in the dir of its level's tier (0-1 ssd/ tier 1, 2+ hdd/ tier 2), "
          "with the recorded size", all(x[-1] for x in placed), placed)
    levels = sorted({o["level"] for o in live_lines})
    check("manifest: live tables in both tiers (levels %r)" % levels,
          any(l <= 1 for l in levels) and any(l >= 2 for l in levels), levels)
    check("manifest: every live table has keys, seqs and a checksum",
          all(o["entries"] > 0 and 0 < o["min_seq"] <= o["max_seq"] <= cur["last_seq"] and len(o["checksum"]) == 16
              and "smallest_key" in o and "largest_key" in o for o in live_lines), live_lines[:2])

    t = tool.expect("manifest DBDIR (text)", 0, "manifest", db)
    tl = t.lines()
    top = [l for l in tl if not l.startswith("  ")]
    check("manifest text: one edit= line per edit, then a final current= line",
          len(top) == len(edits) + 1 and all(l.startswith("edit=") for l in top[:-1])
          and top[-1].startswith("current=") and ("edits=%d" % len(edits)) in top[-1], top[-2:])
    after = tl[tl.index(top[-1]) + 1:]
    check("manifest text: %d '  change=live' lines after it" % len(live_lines),
          len(after) == len(live_lines) and all(l.startswith("  change=live level=") for l in after), after[:2])
    check("manifest text: the same number of lines as --json", len(tl) == len(objs), (len(tl), len(objs)))
    r2 = tool.expect("manifest --config FILE --json", 0, "manifest", "--config", m_conf, "--json")
    check("manifest --config: the same output", r2.out == r.out, r2.out[-300:])
    return cur, live_lines, ends


def check_stats(tool, db, conf, live_lines):
    r = tool.expect("stats DBDIR --json", 0, "stats", db, "--json")
    objs = parse_json_lines(r, "stats --json")
    tables = [o for o in objs if "summary" not in o]
    levels = [o for o in objs if o.get("summary") == "level"]
    tiers = [o for o in objs if o.get("summary") == "tier"]
    dbs = [o for o in objs if o.get("summary") == "database"]
    by_file = {o["file"]: o for o in live_lines}
    check("stats: one line per live table (%d)" % len(live_lines),
          sorted(o.get("file") for o in tables) == sorted(by_file), [o.get("file") for o in tables])
    bad = []
    for o in tables:
        lv = by_file.get(o.get("file"))
        d = "ssd" if lv and lv["level"] <= 1 else "hdd"
        p = os.path.join(db, d, o.get("file", "?"))
        if not lv or o.get("level") != lv["level"] or o.get("tier") != d or o.get("file_size") != lv["size"] \
                or not os.path.exists(p) or o["file_size"] != os.path.getsize(p) or o.get("entries") != lv["entries"] \
                or o.get("codec") != ("lz4" if d == "ssd" else "zstd") or "status" in o \
                or o["data_bytes"] + o["filter_bytes"] + o["index_bytes"] + o["properties_bytes"] != o["file_size"]:
            bad.append(o)
    check("stats: each table's level, tier name, size (= the file's and the MANIFEST's), entries, codec "
          "(lz4 ssd, zstd hdd); its regions add up to its size", not bad, bad[:2])
    check("stats: one database summary", len(dbs) == 1, dbs)
    if len(dbs) == 1:
        s = dbs[0]
        tb = sum(o["file_size"] for o in tables)
        check("stats: sum of table bytes = database bytes (%d)" % tb, s["bytes"] == tb, s)
        check("stats: sum of table entries = database entries", s["entries"] == sum(o["entries"] for o in tables), s)
        check("stats: database tables = %d" % len(tables), s["tables"] == len(tables), s)
        check("stats: level summaries add up (tables, bytes, entries)",
              sum(o["bytes"] for o in levels) == tb and sum(o["tables"] for o in levels) == len(tables)
              and sum(o["entries"] for o in levels) == s["entries"]
              and all(o["tables"] == sum(1 for t in tables if t["level"] == o["level"]) for o in levels), levels)
        check("stats: tier summaries ssd and hdd add up",
              sorted(o["tier"] for o in tiers) == ["hdd", "ssd"] and sum(o["bytes"] for o in tiers) == tb
              and all(o["bytes"] == sum(t["file_size"] for t in tables if t["tier"] == o["tier"]) for o in tiers),
              tiers)
    rc = tool.expect("stats DBDIR --config FILE --json", 0, "stats", db, "--config", conf, "--json")
    cobjs = parse_json_lines(rc, "stats DBDIR --config")
    check("stats DBDIR --config: the same tables, tiers by their [[tier]] names",
          sorted((o.get("file"), o.get("tier"), o.get("file_size")) for o in cobjs if "summary" not in o)
          == sorted((o.get("file"), o.get("tier"), o.get("file_size")) for o in tables), rc.out[:500])
    # DBDIR may be omitted with --config (usage, and as scan, manifest and verify do)
    r2 = tool.expect("stats --config FILE --json (no DBDIR)", 0, "stats", "--config", conf, "--json")
    check("stats --config (no DBDIR): the same output as with DBDIR", r2.out == rc.out, r2.show())
    # stats of single files, text (one "name value" per line) and JSON
    for o in live_lines:
        d = "ssd" if o["level"] <= 1 else "hdd"
        p = os.path.join(db, d, o["file"])
        t = tool.expect("stats %s/%s (text)" % (d, o["file"]), 0, "stats", p)
        fields = {}
        for line in t.lines():
            mm = re.match(r"^(\S+)\s+(.*)$", line)
            if mm:
                fields[mm.group(1)] = mm.group(2)
        check("stats FILE %s: file_size = os.path.getsize, level %d, tier %s, entries, database" % (o["file"], o["level"], d),
              fields.get("file_size") == str(os.path.getsize(p)) and fields.get("level") == str(o["level"])
              and fields.get("tier") == d and fields.get("entries") == str(o["entries"])
              and fields.get("database") == os.path.realpath(db), fields)
        j = tool.expect("stats FILE --json", 0, "stats", p, "--json")
        jo = parse_json_lines(j, "stats FILE --json")
        check("stats FILE --json: one object, the same numbers",
              len(jo) == 1 and jo[0].get("file_size") == os.path.getsize(p) and jo[0].get("level") == o["level"]
              and jo[0].get("tier") == d, jo)


DUMP_FIELDS = {
    "record": ("tenant", "db", "key"),
    "element": ("tenant", "db", "key", "version", "element"),
    "score": ("tenant", "db", "key", "version", "member"),
    "rank": ("tenant", "db", "key", "version"),
    "expiry": ("tenant", "db", "key", "expire_ms", "ttl_ms"),
    "tenant": ("name",),
    "retired": (),
}


def dump_entries(tool, path, desc):
    r = tool.expect("dump %s --json" % desc, 0, "dump", path, "--json")
    return r, parse_json_lines(r, "dump %s --json" % desc)


def check_dump(tool, db, live_lines, m_compact):
    now_ms = int(time.time() * 1000)
    per_tier = {"ssd": [], "hdd": []}
    paths = []
    for o in live_lines:
        d = "ssd" if o["level"] <= 1 else "hdd"
        p = os.path.join(db, d, o["file"])
        paths.append((p, o))
        r, ents = dump_entries(tool, p, "%s/%s" % (d, o["file"]))
        check("dump %s: %d entries (the MANIFEST's count), stderr says so" % (o["file"], o["entries"]),
              len(ents) == o["entries"] and ("dump: %d of %d entries" % (o["entries"], o["entries"])) in r.err,
              r.err.strip())
        bad = [e for e in ents if not isinstance(e.get("seq"), int) or e.get("kind") not in ("put", "del")
               or e.get("space") not in DUMP_FIELDS or any(f not in e for f in DUMP_FIELDS[e.get("space")])
               or not (o["min_seq"] <= e["seq"] <= o["max_seq"])]
        check("dump %s: every entry has seq (within the table's), kind put/del, space and its decoded fields"
              % o["file"], not bad, bad[:3])
        raw = tool.expect("dump --raw --json", 0, "dump", p, "--raw", "--json")
        rents = parse_json_lines(raw, "dump --raw --json")
        keys = [(L(e["key"]), -e["seq"]) for e in rents]
        check("dump --raw %s: engine keys in order (bytewise, then newest first), seqs as decoded" % o["file"],
              len(rents) == len(ents) and keys == sorted(keys) and len(set(keys)) == len(keys)
              and [e["seq"] for e in rents] == [e["seq"] for e in ents], keys[:3])
        check("dump --raw %s: each put has a value, each del none" % o["file"],
              all(("value" in e) == (e["kind"] == "put") for e in rents))
        check("dump --raw %s: each record's engine key is tenant u32 BE | db | 'M' | the decoded key" % o["file"],
              all(L(r_["key"]) == bytes([0, 0, 0, e["tenant"], e["db"], 0x4d]) + L(e["key"])
                  for e, r_ in zip(ents, rents) if e["space"] == "record" and e["tenant"] < 256))
        txt = tool.expect("dump (text)", 0, "dump", p)
        check("dump %s text: one line per entry, seq= kind= space=" % o["file"],
              len(txt.lines()) == len(ents) and all(re.match(r"^seq=\d+ kind=(put|del) space=\w+ ", l) for l in txt.lines()),
              txt.lines()[:2])
        per_tier[d].append((p, ents, rents, txt))

    if not per_tier["hdd"] or not per_tier["ssd"]:
        check("tables in both tiers to dump", False, [p for p, _ in paths])
        return
    # the hdd tables hold the state as of COMPACT (everything compacted: one version per key)
    hdd = [e for _, ents, _, _ in per_tier["hdd"] for e in ents]
    recs = {}
    for e in hdd:
        if e["space"] == "record" and e["kind"] == "put":
            recs[({0: "default", 1: "acme"}.get(e["tenant"], e["tenant"]), e["db"], L(e["key"]))] = e
    want = m_compact.canon()
    check("dump hdd: one record per key of the model as of COMPACT, with its type (%d)" % len(want),
          {k: v["type"] for k, v in recs.items()} == {k: v[0] for k, v in want.items()},
          diff({k: v[0] for k, v in want.items()}, {k: v["type"] for k, v in recs.items()}))
    bad = [(k, recs[k].get("value")) for k, (ty, v) in want.items() if ty == "string" and k in recs
           and L(recs[k].get("value", "")) != v]
    check("dump hdd: every string's decoded value equals the model's (binary ones included)", not bad, bad[:3])
    bad = [k for k, (ty, v) in want.items() if ty != "string" and k in recs and recs[k].get("size") != len(v)]
    check("dump hdd: every collection record's size equals the model's", not bad, bad[:3])
    check("dump hdd: exactly the TTL keys' records carry expire_ms in the future",
          {k for k, e in recs.items() if "expire_ms" in e} == m_compact.ttl
          and all(recs[k]["expire_ms"] > now_ms for k in m_compact.ttl if k in recs), m_compact.ttl)
    exp = {(e["tenant"], e["db"], L(e["key"])) for e in hdd if e["space"] == "expiry"}
    check("dump hdd: expiry-index entries for the TTL keys", {(0, 0, b"ttl:str"), (0, 0, b"hash:001")} <= exp, exp)
    # hash elements and the sorted-set score index, by the record's version
    bad = []
    for k, (ty, v) in want.items():
        if k not in recs or ty not in ("hash", "zset") or k[0] != "default":
            continue
        ver = recs[k].get("version")
        if ty == "hash":
            els = tuple(sorted((L(e["element"]), L(e["value"])) for e in hdd if e["space"] == "element"
                               and e["tenant"] == 0 and e["db"] == k[1] and L(e["key"]) == k[2] and e["version"] == ver))
        else:
            els = tuple((L(e["member"]), score_of(e["score"])) for e in hdd if e["space"] == "score"
                        and e["tenant"] == 0 and e["db"] == k[1] and L(e["key"]) == k[2] and e["version"] == ver)
        if els != v:
            bad.append((k, v[:3], els[:3]))
    check("dump hdd: hash elements and sorted-set score-index entries (in score order) equal the model", not bad, bad[:3])
    ranks = [e for e in hdd if e["space"] == "rank" and L(e["key"]) == b"zbig"]
    check("dump hdd: zbig (300 members) has rank-index entries with counts summing to 300 per level",
          ranks and all(isinstance(e.get("count"), int) for e in ranks)
          and all(sum(e["count"] for e in ranks if e.get("level") == lv) == 300
                  for lv in {e.get("level") for e in ranks}), ranks[:2])
    ten = [e for e in hdd if e["space"] == "tenant"]
    check("dump hdd: tenant records: acme (id 1) live, gone deleted",
          any(e.get("name") == "acme" and e.get("id") == 1 and e.get("deleted") is False for e in ten)
          and not any(e.get("name") == "gone" and e.get("deleted") is False for e in ten), ten)
    # ssd: level-0 tables from BGSAVE, with the tombstone of str:00007
    ssd = [e for _, ents, _, _ in per_tier["ssd"] for e in ents]
    dels = [e for e in ssd if e["kind"] == "del" and e["space"] == "record"]
    check("dump ssd: the tombstone of str:00007 (kind del, no value)",
          any(L(e["key"]) == b"str:00007" and e["tenant"] == 0 and "value" not in e and "type" not in e for e in dels),
          dels[:3])
    check("dump ssd: post:* and post2:* records", {b"post:000", b"post2:029"} <= {L(e["key"]) for e in ssd
                                                                                   if e["space"] == "record"})

    # --limit, --from/--to on the largest hdd table
    p, ents, rents, txt = max(per_tier["hdd"], key=lambda x: len(x[1]))
    r = tool.expect("dump --limit 5", 0, "dump", p, "--json", "--limit", "5")
    check("dump --limit 5: 5 lines, the first 5 entries",
          no_ttl_objs([json.loads(l) for l in r.lines()]) == no_ttl_objs(ents[:5]), r.lines())
    rawtxt = tool.expect("dump --raw (text)", 0, "dump", p, "--raw").lines()
    kpat = re.compile(r'^seq=(\d+) kind=(put|del) key=' + QUOTED)
    kt = [kpat.match(l) for l in rawtxt]
    check("dump --raw text: seq= kind= key=\"...\" on every line, keys unescape to the JSON's",
          all(kt) and [unescape(x.group(3)) for x in kt] == [L(e["key"]) for e in rents], rawtxt[:2])
    if not all(kt) or len(kt) < 40:
        return
    rkeys = [L(e["key"]) for e in rents]
    k10, k30 = kt[10].group(3), kt[30].group(3)
    b10, b30 = unescape(k10), unescape(k30)
    first = rkeys.index(b10)
    r = tool.expect("dump --from <10th raw key> --raw --json", 0, "dump", p, "--from", k10, "--raw", "--json")
    got = parse_json_lines(r, "dump --from")
    check("dump --from K10: starts at K10 and lists every entry from it on (%d)" % (len(rents) - first),
          got and L(got[0]["key"]) == b10 and got == rents[first:], [g.get("key") for g in got[:2]])
    last = rkeys.index(b30)
    r = tool.expect("dump --from K10 --to K30", 0, "dump", p, "--from", k10, "--to", k30, "--raw", "--json")
    got = parse_json_lines(r, "dump --from --to")
    check("dump --from K10 --to K30: exactly the entries in [K10, K30) (%d)" % (last - first), got == rents[first:last],
          "%d entries" % len(got))
    r = tool.expect("dump --to K10 --limit 3", 0, "dump", p, "--to", k10, "--raw", "--json", "--limit", "3")
    check("dump --to K10 --limit 3: the first 3 entries", [json.loads(l) for l in r.lines()] == rents[:3], r.lines())
    r = tool.expect("dump --from K10 (decoded)", 0, "dump", p, "--from", k10, "--json")
    check("dump --from K10 decoded: the same entries as --raw", [json.loads(l)["seq"] for l in r.lines()]
          == [e["seq"] for e in rents[first:]])
    # the binary key, by its escaped engine key
    bi = [x for x in kt if b"bin:\x00\xff" in unescape(x.group(3))]
    if check("dump --raw text: the binary key's engine key is there, escaped", len(bi) == 1, len(bi)):
        r = tool.expect("dump --from <binary key> --limit 1", 0, "dump", p, "--from", bi[0].group(3), "--limit", "1",
                        "--json")
        o = parse_json_lines(r, "dump --from binary")
        check("dump --from <binary key>: the entry decodes to the binary key and value",
              len(o) == 1 and L(o[0]["key"]) == BIN_KEY and L(o[0].get("value", "")) == BIN_VAL, o)
    tool.expect("dump --from with a bad escape", 1, "dump", p, "--from", "\\xZZ")
    r = tool.expect("dump --from past the last key", 0, "dump", p, "--from", "\\xff\\xff\\xff\\xff\\xff\\xff\\xff")
    check("dump --from past the last key: no entry", r.lines() == [], r.lines()[:2])


def live_wal(db, log_number):
    wals = sorted(f for f in os.listdir(db) if re.match(r"^\d+\.log$", f) and int(f[:-4]) >= log_number)
    return [os.path.join(db, f) for f in wals]


def check_wal(tool, db, cur):
    wals = live_wal(db, cur["log_number"])
    check("one live WAL (numbered >= the MANIFEST's log_number %d)" % cur["log_number"], len(wals) >= 1, wals)
    if not wals:
        raise Abort("no live WAL")
    found = None
    for w in wals:
        r = tool.expect("wal dump %s --json" % os.path.basename(w), 0, "wal", "dump", w, "--json")
        objs = parse_json_lines(r, "wal dump --json") if r.lines() else []
        if objs:
            found = (w, r, objs)
    if not check("the live WAL holds the writes after the last flush", found is not None, wals):
        raise Abort("no WAL with records")
    w, r, objs = found
    recs = [o for o in objs if o.get("record") == "batch"]
    ops = [o for o in objs if "kind" in o]
    for o in objs:  # each record's operations follow it
        if o.get("record") == "batch":
            o["ops"] = []
            last = o
        elif "kind" in o and recs:
            last["ops"].append(o)
    # Phase 3's writes each put or delete a record ('M'); the server may add writes of its own (the
    # active-expiry cycle dropping the stale index entry of gone:px, 'X'), which change no key.
    for o in recs:
        o["model"] = any(x.get("space") == "record" for x in o["ops"])
    check("wal dump: the 6 single writes of phase 3 are 6 records (%d records in all)" % len(recs),
          sum(o["model"] for o in recs) == 6
          and all(x.get("space") in ("record", "element", "expiry") for o in recs for x in o["ops"]),
          [[(x.get("space"), x.get("kind"), x.get("key")) for x in o["ops"]] for o in recs])
    if len(recs) != 6:
        note("the live WAL holds %d records besides phase 3's: %r" % (len(recs) - 6, [
            [(x.get("space"), x.get("kind"), x.get("key")) for x in o["ops"]] for o in recs if not o["model"]]))
    check("wal dump: records and operations only, the counts add up",
          len(recs) + len(ops) == len(objs) and sum(o["count"] for o in recs) == len(ops) and len(recs) >= 6,
          (len(recs), len(ops)))
    check("wal dump: records tile the file from 0, seqs ascending and contiguous",
          recs and recs[0]["offset"] == 0 and all(a["end"] == b["offset"] for a, b in zip(recs, recs[1:]))
          and all(a["seq"] + a["count"] == b["seq"] for a, b in zip(recs, recs[1:]))
          and [o["seq"] for o in ops] == list(range(recs[0]["seq"], recs[0]["seq"] + len(ops)))
          and recs[0]["seq"] > cur["last_seq"], [{k: v for k, v in o.items() if k != "ops"} for o in recs[:3]])
    dels = [o for o in ops if o["kind"] == "del"]
    check("wal dump: the deletion of str:00011 (kind del, space record, tenant 0, no value)",
          any(o.get("space") == "record" and L(o.get("key", "")) == b"str:00011" and o.get("tenant") == 0
              and "value" not in o for o in dels), dels)
    puts = {(o.get("tenant"), L(o.get("key", ""))): o for o in ops if o["kind"] == "put" and o.get("space") == "record"}
    check("wal dump: the puts of wal:first, str:00020, wal:hash, acme's acme:wal and wal:last",
          puts.get((0, b"wal:last"), {}).get("value") == "final"
          and puts.get((0, b"str:00020"), {}).get("value") == "overwritten in the WAL"
          and puts.get((0, b"wal:hash"), {}).get("type") == "hash"
          and puts.get((1, b"acme:wal"), {}).get("value") == "tenant write in the WAL"
          and (0, b"wal:first") in puts, sorted(puts)[:10])
    check("wal dump: nothing of before the last flush (no post2:*)",
          not any(L(o.get("key", "")).startswith(b"post2:") for o in ops))
    check("wal dump: the stderr summary counts the records",
          ("wal: %d records, %d operations" % (len(recs), len(ops))) in r.err, r.err)
    t = tool.expect("wal dump (text)", 0, "wal", "dump", w)
    tl = t.lines()
    check("wal dump text: record=batch lines and indented operation lines",
          len(tl) == len(objs) and sum(l.startswith("record=batch ") for l in tl) == len(recs)
          and sum(l.startswith("  seq=") for l in tl) == len(ops), tl[:3])
    r1 = tool.expect("wal dump --limit 1", 0, "wal", "dump", w, "--json", "--limit", "1")
    o1 = parse_json_lines(r1, "wal dump --limit 1")
    check("wal dump --limit 1: one record and its operations",
          [o for o in o1 if o.get("record")] == [{k: v for k, v in recs[0].items() if k not in ("ops", "model")}]
          and no_ttl_objs(o1[1:]) == no_ttl_objs(recs[0]["ops"]), o1)
    rr = tool.expect("wal dump --raw --json", 0, "wal", "dump", w, "--raw", "--json")
    ro = [o for o in parse_json_lines(rr, "wal dump --raw") if "kind" in o]
    check("wal dump --raw: engine keys (tenant | db | 'M' | key)",
          any(L(o["key"]) == b"\x00\x00\x00\x00\x00Mwal:last" and L(o["value"]) == b"\x01final" for o in ro), ro[-2:])
    v = tool.expect("wal verify", 0, "wal", "verify", w, out_has=("OK",))
    check("wal verify: no torn tail reported on an intact WAL", "torn" not in v.out, v.out)
    return w, recs


def check_verify(tool, db, conf, live_lines):
    r = tool.expect("verify DBDIR", 0, "verify", db)
    check("verify DBDIR: 'OK' on stdout with %d tables" % len(live_lines),
          r.out.startswith("OK ") and ("%d tables" % len(live_lines)) in r.out, r.out)
    tool.expect("verify --config FILE", 0, "verify", "--config", conf, out_has=("OK",))
    for o in live_lines:
        d = "ssd" if o["level"] <= 1 else "hdd"
        p = os.path.join(db, d, o["file"])
        r = tool.expect("verify %s/%s" % (d, o["file"]), 0, "verify", p, out_has=("OK", "matches the MANIFEST"))


def check_corruption(tool, root, db, conf, live_lines, wal, wal_recs, snaps):
    hdd = [o for o in live_lines if o["level"] >= 2]
    ssd = [o for o in live_lines if o["level"] <= 1]
    big = max(hdd, key=lambda o: o["size"])
    rel_big = os.path.join("hdd", big["file"])

    # 1. a byte of the first data block
    c = db_copy(root, db, "copy-block")
    p = os.path.join(c, rel_big)
    flip(p, 20)
    tool.expect("dump of a table with a flipped byte at 20", 2, "dump", p, err_has=(big["file"], "offset"))
    tool.expect("dump --json of it", 2, "dump", p, "--json", err_has=(big["file"], "offset"))
    tool.expect("verify FILE of it", 2, "verify", p, err_has=(big["file"], "offset"))
    tool.expect("verify DBDIR of its database", 2, "verify", c, err_has=(big["file"], "offset"))
    tool.expect("verify --config FILE DBDIR of it", 2, "verify", c, "--config", conf, err_has=(big["file"],))

    # 2. the footer
    c = db_copy(root, db, "copy-footer")
    p = os.path.join(c, rel_big)
    flip(p, big["size"] - 5)
    tool.expect("verify FILE with a flipped footer byte", 2, "verify", p, err_has=(big["file"],))
    tool.expect("dump of it", 2, "dump", p, err_has=(big["file"],))
    tool.expect("verify DBDIR of it", 2, "verify", c, err_has=(big["file"],))
    tool.expect("stats DBDIR of it (the table is damaged)", 2, "stats", c, "--json")
    flip(p, big["size"] - 5)
    flip(p, big["size"] - 10)
    tool.expect("verify FILE with byte size-10 flipped", 2, "verify", p, err_has=(big["file"],))

    # 3. a table missing
    c = db_copy(root, db, "copy-missing")
    gone = ssd[0]
    os.unlink(os.path.join(c, "ssd", gone["file"]))
    tool.expect("verify DBDIR with %s deleted" % gone["file"], 2, "verify", c, err_has=(gone["file"], "missing"))
    r = tool.expect("stats DBDIR with it deleted", 2, "stats", c, "--json")
    check("stats: the missing table's line says status missing",
          any(o.get("file") == gone["file"] and o.get("status") == "missing"
              for o in (json.loads(l) for l in r.lines() if l.startswith("{"))), r.out[:300])
    tool.expect("scan with a table missing", 2, "scan", c, err_has=(gone["file"],))

    # 4. a table that grew (size and checksum no longer the MANIFEST's)
    c = db_copy(root, db, "copy-grown")
    p = os.path.join(c, rel_big)
    with open(p, "ab") as f:
        f.write(b"\x00" * 100)
    tool.expect("verify DBDIR with 100 bytes appended to a table", 2, "verify", c, err_has=(big["file"],))
    tool.expect("verify FILE of it", 2, "verify", p, err_has=(big["file"],))
    c = db_copy(root, db, "copy-grown-whole")
    p = os.path.join(c, rel_big)
    with open(p, "ab") as f:  # the same file twice: the footer read from the end is the table's own
        with open(os.path.join(db, rel_big), "rb") as src:
            f.write(src.read())
    r = tool.expect("verify FILE of a table with a copy of itself appended", 2, "verify", p, err_has=(big["file"],))
    tool.expect("verify DBDIR of it", 2, "verify", c, err_has=(big["file"],))

    # 5. the MANIFEST's first record, valid records after it
    c = db_copy(root, db, "copy-manifest")
    man = [f for f in os.listdir(c) if f.startswith("MANIFEST-")]
    mp = os.path.join(c, man[0])
    flip(mp, 8)
    tool.expect("manifest with a byte of its first record flipped", 2, "manifest", c, err_has=(man[0], "offset"))
    tool.expect("manifest --json of it", 2, "manifest", c, "--json", err_has=(man[0],))
    tool.expect("verify DBDIR of it", 2, "verify", c, err_has=(man[0],))
    tool.expect("stats DBDIR of it", 2, "stats", c)
    tool.expect("scan of it", 2, "scan", c, err_has=(man[0],))

    # 6. a WAL record with a valid one after it
    wname = os.path.basename(wal)
    c = db_copy(root, db, "copy-wal")
    wp = os.path.join(c, wname)
    flip(wp, 10)
    tool.expect("wal verify with a byte of the first record flipped", 2, "wal", "verify", wp, err_has=(wname, "offset"))
    tool.expect("wal dump of it", 2, "wal", "dump", wp, "--json", err_has=(wname, "offset"))
    tool.expect("verify DBDIR of it", 2, "verify", c, err_has=(wname,))
    tool.expect("scan of it (strict recovery)", 2, "scan", c, err_has=(wname,))
    before = tree_hashes(c)
    r = tool.expect("scan --point-in-time of it", 0, "scan", c, "--point-in-time", "--json",
                    err_has=("point-in-time",))
    got = scan_map(r, "scan --point-in-time")
    want = snaps[0].canon()
    check("scan --point-in-time: the state before the damaged first WAL record (the last BGSAVE's)", got == want,
          diff(want, got))
    r2 = tool.expect("scan --point-in-time again", 0, "scan", c, "--point-in-time", "--json")
    check("scan --point-in-time twice: the same, and the copy's files unchanged (nothing repaired)",
          no_ttl(r2.out) == no_ttl(r.out) and tree_hashes(c) == before)
    # the same with the damage in the middle: the records before it are kept
    def kept(i):  # the model once the WAL's first i records are replayed
        return snaps[sum(1 for o in wal_recs[:i] if o["model"])]
    mid = [i for i, o in enumerate(wal_recs) if o["model"]]
    if len(mid) == len(snaps) - 1:
        j = mid[2]  # the third write: SET str:00020
        c = db_copy(root, db, "copy-wal-mid")
        wp = os.path.join(c, wname)
        flip(wp, wal_recs[j]["offset"] + 10)
        tool.expect("wal verify with record %d of %d damaged" % (j + 1, len(wal_recs)), 2, "wal", "verify", wp,
                    err_has=(wname, "offset %d" % wal_recs[j]["offset"]))
        r = tool.expect("wal dump of it", 2, "wal", "dump", wp, "--json", err_has=(wname,))
        check("wal dump of it: the %d records before the damage on stdout" % j,
              sum(1 for l in r.lines() if '"record":"batch"' in l) == j, r.out[-300:])
        tool.expect("scan of it", 2, "scan", c)
        r = tool.expect("scan --point-in-time of it", 0, "scan", c, "--point-in-time", "--json")
        got = scan_map(r, "scan --point-in-time (a middle record damaged)")
        want = kept(j).canon()
        check("scan --point-in-time: the WAL records before the damaged one kept (wal:first set, str:00011 "
              "deleted), none after", got == want and want == snaps[2].canon(), diff(want, got))

    # 7. a torn tail: the WAL cut inside its last record
    c = db_copy(root, db, "copy-torn")
    wp = os.path.join(c, wname)
    cut = wal_recs[-1]["end"] - 3
    os.truncate(wp, cut)
    r = tool.expect("wal verify of a WAL cut inside its last record", 0, "wal", "verify", wp, out_has=("OK", "torn"))
    check("wal verify: the torn tail's offset is the last record's", ("at offset %d" % wal_recs[-1]["offset"]) in r.out,
          r.out)
    r = tool.expect("wal dump of it", 0, "wal", "dump", wp, "--json", err_has=("torn",))
    check("wal dump of the torn WAL: every record but the last",
          sum(1 for l in r.lines() if '"record":"batch"' in l) == len(wal_recs) - 1, r.out[-300:])
    tool.expect("verify DBDIR with a torn WAL tail", 0, "verify", c, out_has=("OK",), err_has=("torn",))
    r = tool.expect("scan with a torn WAL tail", 0, "scan", c, "--json")
    want = kept(len(wal_recs) - 1).canon()
    got = scan_map(r, "scan of the torn copy")
    check("scan of the torn copy: every WAL record but the last (SET wal:last)", got == want, diff(want, got))


def check_wrong_inputs(tool, root, db, wal, live_lines):
    t = os.path.join(db, "hdd" if live_lines[0]["level"] >= 2 else "ssd", live_lines[0]["file"])
    nodb = os.path.join(root, "not-a-db")
    os.mkdir(nodb)
    with open(os.path.join(nodb, "readme.txt"), "w") as f:
        f.write("nothing here\n")
    xbin = os.path.join(root, "x.bin")
    with open(xbin, "wb") as f:
        f.write(os.urandom(1000))
    tiny = os.path.join(root, "tiny.bin")
    with open(tiny, "wb") as f:
        f.write(os.urandom(10))
    man = [f for f in os.listdir(db) if f.startswith("MANIFEST-")][0]
    missing = os.path.join(root, "no-such-dir", "000001.sst")
    for desc, args, err in (
            ("dump of a missing file", ("dump", missing), ("no such file",)),
            ("verify of a missing file", ("verify", missing), ()),
            ("stats of a missing file", ("stats", missing), ()),
            ("wal dump of a missing file", ("wal", "dump", os.path.join(root, "000009.log")), ()),
            ("dump of a directory", ("dump", db), ()),
            ("dump of a WAL", ("dump", wal), ("WAL",)),
            ("verify of a WAL", ("verify", wal), ("WAL",)),
            ("dump of the MANIFEST", ("dump", os.path.join(db, man)), ("MANIFEST",)),
            ("dump of CURRENT", ("dump", os.path.join(db, "CURRENT")), ()),
            ("wal dump of a table", ("wal", "dump", t), ("SSTable",)),
            ("wal verify of a table", ("wal", "verify", t), ("SSTable",)),
            ("dump of 1000 random bytes (x.bin)", ("dump", xbin), ("not an SSTable",)),
            ("stats of x.bin", ("stats", xbin), ()),
            ("verify of x.bin", ("verify", xbin), ()),
            ("wal dump of x.bin", ("wal", "dump", xbin), ("not a WAL",)),
            ("dump of 10 random bytes (tiny.bin, shorter than a footer)", ("dump", tiny), ()),
            ("verify of tiny.bin", ("verify", tiny), ()),
            ("scan of a directory that is no database", ("scan", nodb), ("CURRENT",)),
            ("manifest of it", ("manifest", nodb), ("CURRENT",)),
            ("stats of it", ("stats", nodb), ()),
            ("verify of it", ("verify", nodb), ()),
            ("scan of a missing directory", ("scan", os.path.join(root, "no-such-dir")), ()),
            ("scan of a file", ("scan", xbin), ()),
            ("an unknown option", ("scan", db, "--bogus", "1"), ("--bogus",)),
            ("an unknown command", ("frobnicate", db), ()),
            ("no command", (), ()),
            ("dump without a file", ("dump",), ()),
            ("--db 300", ("scan", db, "--db", "300"), ("--db",)),
            ("--db -1", ("scan", db, "--db", "-1"), ()),
            ("--limit abc", ("scan", db, "--limit", "abc"), ()),
            ("--type nosuch", ("scan", db, "--type", "nosuch"), ()),
            ("--limit without a value", ("dump", t, "--limit"), ()),
            ("wal with no subcommand", ("wal",), ()),
            ("wal frob", ("wal", "frob", wal), ()),
            ("--config of a missing file", ("scan", "--config", os.path.join(root, "nope.toml")), ()),
            ("extra argument", ("manifest", db, db), ())):
        tool.expect(desc, 1, *args, err_has=err)
    r = tool("--help")
    check("--help: exit 0, usage on stdout", r.rc == 0 and "usage: strata-sst" in r.out, r.show())


# ---- main --------------------------------------------------------------------------------------

def scenario(server_bin, tool, root, ports, timings):
    db = os.path.join(root, "db")
    srv = Server("server", server_bin, root, ports, db)
    m = Model()
    t = time.monotonic()
    srv.start()
    try:
        write_phase1(srv, m)
        with srv.client() as c:
            r = c.execute_command("COMPACT")
            check("COMPACT answers OK", r in (b"OK", "OK", True), r)
        m_compact = m.snapshot()
        write_phase2(srv, m)
        snaps = write_phase3(srv, m)
        with srv.client() as c:
            n = c.dbsize()
        check("DBSIZE of default db 0 is the model's (%d)" % n, n == len(m.canon(tenant="default", db=0)),
              len(m.canon(tenant="default", db=0)))
    finally:
        rc = srv.shutdown()
    check("the server exits 0 on SHUTDOWN", rc == 0, rc)
    timings["server"] = time.monotonic() - t
    for f in ("CURRENT", "LOCK"):
        if not os.path.exists(os.path.join(db, f)):
            raise Abort("no %s in %s after the server ran" % (f, db))

    t = time.monotonic()
    before = tree_hashes(db)
    check_scan(tool, db, srv.conf, m)
    after = tree_hashes(db)
    check("scan changed no file of the database and created none", after == before,
          {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)})
    cur, live_lines, _ = check_manifest(tool, db, srv.conf)
    check_stats(tool, db, srv.conf, live_lines)
    check_dump(tool, db, live_lines, m_compact)
    wal, wal_recs = check_wal(tool, db, cur)
    check_verify(tool, db, srv.conf, live_lines)
    after = tree_hashes(db)
    check("scan, manifest, stats, dump, wal and verify changed no file of the database and created none (%d files)"
          % len(before), after == before,
          {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)})
    timings["intact"] = time.monotonic() - t

    t = time.monotonic()
    check_corruption(tool, root, db, srv.conf, live_lines, wal, wal_recs, snaps)
    check_wrong_inputs(tool, root, db, wal, live_lines)
    timings["damaged"] = time.monotonic() - t

    # a database in use: a server on a copy holds its LOCK
    t = time.monotonic()
    live = db_copy(root, db, "copy-running")
    srv2 = Server("server2", server_bin, root, ports, live)
    srv2.start()
    try:
        with srv2.client() as c:
            check("the server on the copy reads the data (GET wal:last)", c.get(b"wal:last") == b"final")
        tool.expect("scan of a database a running server holds", 1, "scan", live, err_has=("LOCK",))
        # its compactions delete tables under a reader: every command on the directory refuses
        for cmd in ("verify", "stats", "manifest"):
            tool.expect("%s of a database a running server holds" % cmd, 1, cmd, live, err_has=("LOCK",))
        tool.expect("scan of the stopped original meanwhile", 0, "scan", db, "--limit", "1")
    finally:
        rc = srv2.stop()
    check("the second server exits 0 on SIGTERM", rc == 0, rc)
    r = tool.expect("scan of the copy after its server stopped", 0, "scan", live, "--json")
    got = scan_map(r, "scan of the restarted copy")
    check("scan of the copy after a server ran on it: still the model", got == m.canon(), diff(m.canon(), got))
    timings["running"] = time.monotonic() - t
    check("the original database is unchanged at the end", tree_hashes(db) == before)
    check("%d strata-sst runs: printable ASCII stdout, no sanitizer report" % tool.runs,
          tool.bad_output == 0 and tool.sanitizer == 0, (tool.bad_output, tool.sanitizer))


def main():
    if len(sys.argv) < 3:
        print("usage: test_sst_tool.py STRATA_SERVER STRATA_SST")
        return 1
    server_bin, sst_bin = sys.argv[1], sys.argv[2]
    for b in (server_bin, sst_bin):
        if not os.access(b, os.X_OK):
            print("not executable:", b)
            return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    began = time.monotonic()
    root = tempfile.mkdtemp(prefix="strata-it-sst-", dir=os.environ.get("TMPDIR") or "/tmp")
    ports = Ports()
    tool = Tool(sst_bin)
    timings = {}
    print("data in", root)
    try:
        scenario(server_bin, tool, root, ports, timings)
    except Abort as e:
        check("scenario ran to the end", False, e)
    except redis.RedisError as e:
        check("scenario ran to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        ports.close()
        if failures:
            for name in ("server.log", "server2.log"):
                path = os.path.join(root, name)
                if os.path.exists(path):
                    sys.stderr.write("---- %s ----\n%s---- end ----\n" % (path, log_tail(path)))
        if os.environ.get("STRATA_IT_KEEP") == "1":
            print("kept", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("timings: %s; %d strata-sst runs; total %.1f s"
          % (", ".join("%s %.1f s" % kv for kv in timings.items()), tool.runs, time.monotonic() - began))
    if failures:
        print("%d check(s) failed:" % len(failures))
        for f in failures:
            print("  " + f)
        return 1
    print("all checks passed")
    return 0


sys.exit(main())
