#!/usr/bin/env python3
"""test_scaleout.py STRATA_SERVER [NUTCRACKER] -- three strata-server shards behind twemproxy.

The deployment of docs/SCALE-OUT.md, on one host: three strata-server shards (each its own
temporary directory and free 127.0.0.1 port, all with --requirepass) and one nutcracker of our own
(own config file, proxy and stats ports on 127.0.0.1, foreground, pid and log files in the
temporary directory; the nutcracker system service is never touched) with `distribution: ketama`,
`hash: fnv1a_64`, `hash_tag: "{}"`, `auto_eject_hosts: false`, node names s1..s3 and redis_auth.

1. Through the proxy: 10,000 string keys (pipelined SETs and fragmented MSETs), 50 hashes,
   30 sorted sets, a hash-tagged group ({user:42}: hash, sorted set, two sets) and 300 scratch keys.
   Everything reads back through the proxy (MGET in chunks, HGETALL, ZRANGE, SMEMBERS, SINTER).
   Asked directly, every key lives on exactly one shard, each shard's DBSIZE is the number of keys
   it owns, each shard owns more than 15% of them, and the hash-tagged keys share one shard.
2. s1 (appendfsync everysec) gets SIGTERM. While it is down, a write to one of its keys fails
   through the proxy and lands nowhere else (auto_eject_hosts: false), and keys of the other shards
   still read. s1 starts again on the same directory and port; after a bounded number of retries
   (nutcracker reconnects, and re-sends AUTH, on the next request) everything reads back, every key
   is where it was, and s1's DBSIZE is what it was.
3. A second round overwrites every string, changes every hash and sorted set and deletes the
   scratch keys; as soon as the last reply is in, s3 (appendfsync always) gets SIGKILL. It starts
   again, and every acknowledged write, the deletions included, is there through the proxy, with
   s3's DBSIZE as it was just before the kill.
4. The stats port answers JSON naming the three servers.
Proxy behaviour worth knowing (AUTH <user> <pass>, MULTI, KEYS, DBSIZE through nutcracker) is
printed as notes, not asserted: it belongs to nutcracker, not to Strata.

Every wait is bounded in tries and time; no assertion depends on timing. Ports come from the same
byte-range lock file as the C harness (tests/util/server_harness.h), so parallel tests never share
one. All processes are stopped at the end, on failure too, and die with this process
(PR_SET_PDEATHSIG) if CTest kills it. STRATA_IT_KEEP=1 keeps the temporary directory.
Exit: 0 passed, 1 failed, 77 nutcracker or redis-py (python3-redis) is not installed (CTest SKIP)."""
import json
import itproc
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    import redis
except ImportError:
    print("SKIP: the redis module (python3-redis) is not installed for", sys.executable)
    sys.exit(77)

N_STRINGS = 10000
N_HASHES = 50
N_ZSETS = 30
N_SCRATCH = 300
CHUNK = 500               # keys per MGET
MIN_SHARE = 0.15          # of all keys, per shard. Placement depends only on the node and key names,
                          # so it is the same in every run: 35%, 38% and 27% of these keys.
START_DEADLINE_S = 30     # a shard or the proxy must answer within this (ASan builds start slowly)
STOP_DEADLINE_S = 30
RECONNECT_TRIES = 100     # proxy reads retried after a shard restart, 0.1 s apart
RECONNECT_DEADLINE_S = 30
PORT_PICKS = 64
START_ATTEMPTS = 5        # a port lost to another program ("in use") is replaced this many times
CLIENT_TIMEOUT_S = 60     # any single command; bounds every wait on a reply

failures = []


class Abort(Exception):
    """A failure after which the rest of the test cannot run."""


def check(desc, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + desc + ("" if ok or detail == "" else "\n  " + str(detail)))
    if not ok:
        failures.append(desc)
    return ok


def note(text):
    print("note: " + text)


# ---- processes and ports ------------------------------------------------------------------------

def Ports():
    return itproc.Ports(PORT_PICKS, Abort)


log_tail, _die_with_parent = itproc.log_tail, itproc.die_with_parent


def spawn(argv, log_path, banner):
    return itproc.spawn(argv, log_path, banner, "test_scaleout")


def end(p, deadline_s=STOP_DEADLINE_S):
    """SIGTERM, then waits; SIGKILL past the deadline. Returns the exit status or "timeout"."""
    return itproc.end(p, deadline_s)


def wait_ready(p, port, password, log_path):
    """Polls PING (after AUTH) until it answers. True when ready, "in use" if the process exited
    because the port was taken, False on any other failure (exit or deadline)."""
    start = time.monotonic()
    for _ in range(int(START_DEADLINE_S / 0.05)):
        if p.poll() is not None:
            return "in use" if "in use" in log_tail(log_path) else False
        try:
            with redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5,
                             socket_connect_timeout=5) as c:
                if c.ping():
                    return True
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            pass
        if time.monotonic() - start > START_DEADLINE_S:
            break
        time.sleep(0.05)
    return False


class Shard:
    def __init__(self, name, server_bin, root, ports, password, fsync):
        self.name, self.bin, self.ports, self.password = name, server_bin, ports, password
        self.dir = os.path.join(root, name)
        self.log = os.path.join(root, name + ".log")
        self.fsync = fsync
        self.port = None
        self.p = None
        os.mkdir(self.dir)

    def _argv(self):
        # One worker and a small memory budget: three shards and a proxy share a busy CI host.
        return [self.bin, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.dir,
                "--appendfsync", self.fsync, "--workers", "1", "--memory-limit", "64MiB",
                "--requirepass", self.password]

    def start(self):
        for _ in range(START_ATTEMPTS):
            if self.port is None:
                self.port = self.ports.pick()
            self.p = spawn(self._argv(), self.log, "start " + self.name)
            ready = wait_ready(self.p, self.port, self.password, self.log)
            if ready is True:
                return
            end(self.p)
            self.p = None
            if ready != "in use":
                raise Abort("shard %s did not start (log %s):\n%s"
                            % (self.name, self.log, log_tail(self.log)))
            self.port = None  # somebody else took it: pick another
        raise Abort("shard %s: every port picked was in use" % self.name)

    def restart(self):
        # Same port and directory: the proxy's configuration names this address.
        self.p = spawn(self._argv(), self.log, "restart " + self.name)
        if wait_ready(self.p, self.port, self.password, self.log) is not True:
            end(self.p)
            self.p = None
            raise Abort("shard %s did not restart on port %d (log %s):\n%s"
                        % (self.name, self.port, self.log, log_tail(self.log)))

    def stop(self):
        return end(self.p)

    def kill9(self):
        self.p.kill()
        return self.p.wait(STOP_DEADLINE_S)

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                           socket_timeout=CLIENT_TIMEOUT_S, socket_connect_timeout=10)


class Proxy:
    def __init__(self, nutcracker, root, ports, shards, password):
        self.bin, self.root, self.ports = nutcracker, root, ports
        self.shards, self.password = shards, password
        self.conf = os.path.join(root, "nutcracker.yml")
        self.log = os.path.join(root, "nutcracker.log")
        self.pid = os.path.join(root, "nutcracker.pid")
        self.port = self.stats_port = None
        self.p = None

    def _write_conf(self):
        # The docs/SCALE-OUT.md pool, on test ports. Node names (s1..s3) fix the ring: placement
        # depends on the names only, so it is the same in every run and survives address changes.
        servers = "".join("   - 127.0.0.1:%d:1 %s\n" % (s.port, s.name) for s in self.shards)
        with open(self.conf, "w") as f:
            f.write("strata:\n"
                    "  listen: 127.0.0.1:%d\n"
                    "  hash: fnv1a_64\n"
                    "  hash_tag: \"{}\"\n"
                    "  distribution: ketama\n"
                    "  redis: true\n"
                    "  redis_auth: %s\n"
                    "  auto_eject_hosts: false\n"
                    "  server_retry_timeout: 2000\n"
                    "  server_failure_limit: 1\n"
                    "  servers:\n%s" % (self.port, self.password, servers))

    def start(self):
        for _ in range(START_ATTEMPTS):
            self.port, self.stats_port = self.ports.pick(), self.ports.pick()
            self._write_conf()
            # Foreground (no -d); every path given, so nothing of the packaged service is used
            # (its /run pid file, /var/log log, /etc config); stats on loopback, not 0.0.0.0.
            argv = [self.bin, "-c", self.conf, "-o", self.log, "-p", self.pid, "-v", "6",
                    "-a", "127.0.0.1", "-s", str(self.stats_port), "-i", "1000"]
            self.p = spawn(argv, self.log, "start nutcracker")
            ready = wait_ready(self.p, self.port, self.password, self.log)
            if ready is True:
                return
            end(self.p)
            if ready != "in use":
                raise Abort("nutcracker did not start (log %s):\n%s" % (self.log, log_tail(self.log)))
        raise Abort("nutcracker: every port picked was in use")

    def stop(self):
        return end(self.p)

    def client(self, password=True):
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password if password else None,
                           socket_timeout=CLIENT_TIMEOUT_S, socket_connect_timeout=10)

    def stats(self):
        with socket.create_connection(("127.0.0.1", self.stats_port), timeout=10) as s:
            data = b""
            for _ in range(1000):  # the stats server writes one JSON document and closes
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)


# ---- the data set -----------------------------------------------------------------------------

def string_value(rnd, i):
    # Varied lengths, and the round in the value: a stale value after a restart shows as a mismatch.
    return ("r%d:%05d:" % (rnd, i) + "abcdefghij" * (i % 13)).encode()


class Model:
    """What the store must hold: every acknowledged write applied, nothing else."""

    def __init__(self):
        self.strings = {}
        self.hashes = {}
        self.zsets = {}
        self.sets = {}

    def keys(self):
        return list(self.strings) + list(self.hashes) + list(self.zsets) + list(self.sets)


def chunks(seq, n=CHUNK):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def run_pipeline(client, commands, desc):
    """Sends (method, args, want) triples pipelined (no MULTI: the proxy refuses it) and checks
    each reply. Returns how many replies differed."""
    bad = 0
    for part in chunks(commands, 1000):
        pipe = client.pipeline(transaction=False)
        for method, args, _ in part:
            getattr(pipe, method)(*args)
        replies = pipe.execute(raise_on_error=False)
        for (method, args, want), got in zip(part, replies):
            if got != want:
                if bad < 5:
                    print("  %s %r: want %r, got %r" % (method, args[:1], want, got))
                bad += 1
    check("%s: %d replies as expected" % (desc, len(commands)), bad == 0, "%d differed" % bad)
    return bad


def write_round1(proxy, m):
    cmds = []
    for i in range(N_STRINGS - 1000):
        k = "key:%05d" % i
        m.strings[k] = string_value(1, i)
        cmds.append(("set", (k, m.strings[k]), True))
    # The last 1000 go as MSETs of 100 keys: nutcracker splits each by shard and joins the replies.
    for base in range(N_STRINGS - 1000, N_STRINGS, 100):
        pairs = {}
        for i in range(base, base + 100):
            k = "key:%05d" % i
            m.strings[k] = pairs[k] = string_value(1, i)
        cmds.append(("mset", (pairs,), True))
    for h in range(N_HASHES):
        k = "hash:%03d" % h
        m.hashes[k] = {("f%d" % f).encode(): ("h%d-f%d" % (h, f)).encode() for f in range(10)}
        cmds.append(("hset", (k, None, None, m.hashes[k]), 10))
    for z in range(N_ZSETS):
        k = "zset:%03d" % z
        m.zsets[k] = {("m%d" % e).encode(): float(z * 100 + e) + 0.5 for e in range(20)}
        cmds.append(("zadd", (k, m.zsets[k]), 20))
    # One user's keys under one hash tag: nutcracker hashes only "user:42", so they share a shard
    # and a multi-key command over them (SINTER) is answered by that shard alone.
    m.hashes["{user:42}:profile"] = {b"name": b"Ada", b"plan": b"pro"}
    m.zsets["{user:42}:board"] = {b"alpha": 3.0, b"beta": 7.25}
    m.sets["{user:42}:tags"] = {b"a", b"b", b"c", b"d"}
    m.sets["{user:42}:tags2"] = {b"c", b"d", b"e"}
    cmds += [("hset", ("{user:42}:profile", None, None, m.hashes["{user:42}:profile"]), 2),
             ("zadd", ("{user:42}:board", m.zsets["{user:42}:board"]), 2),
             ("sadd", ("{user:42}:tags", *sorted(m.sets["{user:42}:tags"])), 4),
             ("sadd", ("{user:42}:tags2", *sorted(m.sets["{user:42}:tags2"])), 3)]
    for i in range(N_SCRATCH):
        k = "tmp:%03d" % i
        m.strings[k] = b"scratch"
        cmds.append(("set", (k, b"scratch"), True))
    run_pipeline(proxy, cmds, "round 1 writes through the proxy")


def write_round2(proxy, m):
    cmds = []
    for i in range(N_STRINGS):
        k = "key:%05d" % i
        m.strings[k] = string_value(2, i)
        cmds.append(("set", (k, m.strings[k]), True))
    for k, fields in m.hashes.items():
        if k.startswith("hash:"):
            fields[b"f0"] = b"changed"
            del fields[b"f9"]
            cmds += [("hset", (k, "f0", "changed"), 0), ("hdel", (k, "f9"), 1)]
    for k, members in m.zsets.items():
        if k.startswith("zset:"):
            members[b"m0"] += 1000.0
            cmds.append(("zincrby", (k, 1000.0, "m0"), members[b"m0"]))
    scratch = ["tmp:%03d" % i for i in range(N_SCRATCH)]
    for k in scratch:
        del m.strings[k]
    # DEL of 100 keys at a time: split by shard, the counts summed by the proxy.
    cmds += [("delete", tuple(part), len(part)) for part in chunks(scratch, 100)]
    run_pipeline(proxy, cmds, "round 2 writes through the proxy")


def verify(proxy, m, desc):
    """Reads everything back through the proxy. Returns the number of mismatches."""
    bad = []
    keys = sorted(m.strings)
    for part in chunks(keys):
        for k, got in zip(part, proxy.mget(part)):
            if got != m.strings[k]:
                bad.append((k, m.strings[k][:24], got if got is None else got[:24]))
    pipe = proxy.pipeline(transaction=False)
    for k in m.hashes:
        pipe.hgetall(k)
    for k in m.zsets:
        pipe.zrange(k, 0, -1, withscores=True)
    for k in m.sets:
        pipe.smembers(k)
    replies = pipe.execute(raise_on_error=False)
    wants = list(m.hashes.values()) + list(m.zsets.values()) + list(m.sets.values())
    for k, want, got in zip(list(m.hashes) + list(m.zsets) + list(m.sets), wants, replies):
        got = dict(got) if isinstance(got, list) else got
        if got != want:
            bad.append((k, want, got))
    sinter = proxy.sinter("{user:42}:tags", "{user:42}:tags2")
    if sinter != m.sets["{user:42}:tags"] & m.sets["{user:42}:tags2"]:
        bad.append(("SINTER {user:42}", None, sinter))
    if "tmp:000" not in m.strings:
        gone = proxy.exists(*["tmp:%03d" % i for i in range(N_SCRATCH)])
        if gone != 0:
            bad.append(("EXISTS tmp:*", 0, gone))
    check("%s: all %d keys read back through the proxy" % (desc, len(m.keys())), not bad,
          "%d mismatches, first: %r" % (len(bad), bad[:3]))
    return len(bad)


def placement(shards, m):
    """Asks every shard directly which keys it holds. Returns ({key: shard name}, {name: DBSIZE})
    after checking that each key is on exactly one shard and that no shard holds anything else."""
    keys = m.keys()
    owners = {k: [] for k in keys}
    sizes = {}
    for s in shards:
        with s.client() as c:
            for part in chunks(keys, 1000):
                pipe = c.pipeline(transaction=False)
                for k in part:
                    pipe.exists(k)
                for k, n in zip(part, pipe.execute()):
                    if n:
                        owners[k].append(s.name)
            sizes[s.name] = c.dbsize()
    misplaced = [(k, v) for k, v in owners.items() if len(v) != 1]
    check("each of %d keys is on exactly one shard" % len(keys), not misplaced, misplaced[:5])
    where = {k: v[0] for k, v in owners.items() if len(v) == 1}
    owned = {s.name: sum(1 for v in where.values() if v == s.name) for s in shards}
    check("each shard's DBSIZE is the number of keys it owns (nothing stray)", owned == sizes,
          "owned %r, DBSIZE %r" % (owned, sizes))
    return where, sizes


def until_ok(desc, fn, want):
    """Calls fn until it returns want: the first requests after a shard restart may still meet
    nutcracker's old connection. Bounded in tries and time; returns the number of retries."""
    start, last = time.monotonic(), None
    for attempt in range(RECONNECT_TRIES):
        try:
            last = fn()
            if last == want:
                return attempt
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                redis.exceptions.ResponseError) as e:
            last = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() - start > RECONNECT_DEADLINE_S:
            break
        time.sleep(0.1)
    raise Abort("%s: still %r after %d tries" % (desc, last, attempt + 1))


def key_of(where, shard_name, prefix="key:"):
    return next(k for k in sorted(where) if where[k] == shard_name and k.startswith(prefix))


def proxy_notes(proxy):
    """What nutcracker 0.5.0 does with commands docs/SCALE-OUT.md warns about (printed only)."""
    def attempt(client, *args):
        try:
            return repr(client.execute_command(*args))
        except redis.exceptions.RedisError as e:
            return "%s: %s" % (type(e).__name__, e)

    with proxy.client(password=False) as c:
        note("AUTH <tenant> <password> through the proxy -> " + attempt(c, "AUTH", "acme", "pw"))
    with proxy.client() as c:
        for cmd in (("MULTI",), ("KEYS", "*"), ("DBSIZE",), ("INFO",)):
            note("%s through the proxy -> %s" % (" ".join(cmd), attempt(c, *cmd)))


# ---- the test ---------------------------------------------------------------------------------

def find_nutcracker():
    if len(sys.argv) > 2 and sys.argv[2]:
        return sys.argv[2] if os.access(sys.argv[2], os.X_OK) else None
    # Debian installs it in /usr/sbin, which is not on an ordinary user's PATH.
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/usr/local/sbin"
    return shutil.which("nutcracker", path=path)


def scenario(shards, proxy, timings):
    s1, s2, s3 = shards
    m = Model()
    with proxy.client() as px:
        t = time.monotonic()
        write_round1(px, m)
        timings["write"] = time.monotonic() - t
        t = time.monotonic()
        verify(px, m, "after round 1")
        timings["read"] = time.monotonic() - t
    where, sizes = placement(shards, m)
    total = sum(sizes.values())
    for s in shards:
        check("%s holds more than %d%% of the keys" % (s.name, MIN_SHARE * 100),
              sizes[s.name] > MIN_SHARE * total, "%d of %d" % (sizes[s.name], total))
    tagged = {where.get(k) for k in m.keys() if k.startswith("{user:42}")}
    check("the {user:42} keys share one shard", len(tagged) == 1, tagged)
    summary = {"round 1": dict(sizes)}
    proxy_notes(proxy)

    # ---- SIGTERM and restart of s1 (appendfsync everysec: a clean stop must keep everything)
    with proxy.client() as px:
        check("s1 stops cleanly on SIGTERM", s1.stop() == 0)
        victim = key_of(where, "s1")
        others = sizes["s2"], sizes["s3"]
        try:
            px.set(victim, b"written while s1 was down")
            check("a write to a key of the stopped shard fails", False, "the proxy acknowledged it")
        except (redis.exceptions.ResponseError, redis.exceptions.ConnectionError) as e:
            check("a write to a key of the stopped shard fails (%s)" % e, True)
        with s2.client() as c2, s3.client() as c3:
            check("... and lands on no other shard", (c2.dbsize(), c3.dbsize()) == others)
        live = [k for k in sorted(m.strings) if where[k] != "s1"][:CHUNK]
        try:
            ok = px.mget(live) == [m.strings[k] for k in live]
        except redis.RedisError as e:
            ok = "%s: %s" % (type(e).__name__, e)
        check("keys of the other shards still read while s1 is down", ok is True, ok)
        s1.restart()
        retries = until_ok("GET %s after s1's restart" % victim, lambda: px.get(victim), m.strings[victim])
        print("ok: the proxy reached the restarted s1 after %d retries" % retries)
        timings["restart retries"] = retries
        verify(px, m, "after s1's restart")
    where2, sizes2 = placement(shards, m)
    check("every key is where it was before s1's restart", where2 == where)
    check("s1's DBSIZE after its restart is what it was (%d)" % sizes["s1"], sizes2["s1"] == sizes["s1"],
          sizes2["s1"])

    # ---- round 2, then SIGKILL of s3 (appendfsync always: an acknowledged write is on disk)
    with proxy.client() as px:
        write_round2(px, m)
    with s3.client() as c:
        before_kill = c.dbsize()
    s3.kill9()
    s3.restart()
    with proxy.client() as px:
        victim = key_of(where, "s3")
        retries = until_ok("GET %s after s3's kill -9" % victim, lambda: px.get(victim), m.strings[victim])
        print("ok: the proxy reached the restarted s3 after %d retries" % retries)
        timings["kill9 retries"] = retries
        verify(px, m, "after s3's kill -9")
    where3, sizes3 = placement(shards, m)
    check("every key is where it was before s3's kill -9", where3 == {k: where[k] for k in m.keys()})
    check("s3's DBSIZE after kill -9 and restart is what it was (%d)" % before_kill,
          sizes3["s3"] == before_kill, sizes3["s3"])
    summary["round 2"] = dict(sizes3)

    # The counters are published once per aggregation interval (-i 1000): poll a little for the
    # summary's request counts. Only the JSON's shape is asserted, never the counts or the timing.
    for _ in range(30):
        pool = proxy.stats().get("strata", {})
        if all(isinstance(pool.get(s.name), dict) and pool[s.name].get("requests") for s in shards):
            break
        time.sleep(0.1)
    check("the stats port answers JSON naming s1, s2 and s3",
          all(isinstance(pool.get(s.name), dict) for s in shards), sorted(pool))
    summary["proxy requests"] = {s.name: pool.get(s.name, {}).get("requests") for s in shards}
    return summary


def main():
    if len(sys.argv) < 2:
        print("usage: test_scaleout.py STRATA_SERVER [NUTCRACKER]")
        return 1
    server_bin = sys.argv[1]
    nutcracker = find_nutcracker()
    if not nutcracker:
        print("SKIP: nutcracker (twemproxy, Debian package nutcracker) is not installed")
        return 77
    version = subprocess.run([nutcracker, "-V"], capture_output=True, text=True, timeout=10)
    print("using %s (%s)" % (nutcracker, (version.stdout + version.stderr).strip().splitlines()[0]))
    # A CTest timeout or ^C must still run the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    began = time.monotonic()
    root = tempfile.mkdtemp(prefix="strata-it-scaleout-", dir=os.environ.get("TMPDIR") or "/tmp")
    ports = Ports()
    password = "scale-" + os.urandom(8).hex()
    shards, proxy, timings, summary = [], None, {}, None
    try:
        # s1 uses everysec (it gets a clean SIGTERM), s2 and s3 always (s3 gets the SIGKILL).
        for name, fsync in (("s1", "everysec"), ("s2", "always"), ("s3", "always")):
            shards.append(Shard(name, server_bin, root, ports, password, fsync))
            shards[-1].start()
        proxy = Proxy(nutcracker, root, ports, shards, password)
        proxy.start()
        print("shards on %s, proxy on %d (stats %d), data in %s"
              % (", ".join("%s:%d" % (s.name, s.port) for s in shards), proxy.port, proxy.stats_port, root))
        summary = scenario(shards, proxy, timings)
    except Abort as e:
        check("scenario ran to the end", False, e)
    except redis.RedisError as e:
        check("scenario ran to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if proxy:
            proxy.stop()
        for s in shards:
            check("%s stops cleanly" % s.name, s.stop() in (0, None))
        ports.close()
        if failures:
            for path in [s.log for s in shards] + ([proxy.log] if proxy else []):
                sys.stderr.write("---- %s ----\n%s---- end ----\n" % (path, log_tail(path)))
        if os.environ.get("STRATA_IT_KEEP") == "1":
            print("kept", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if summary:
        for phase, per in summary.items():
            print("%-15s %s" % (phase + ":", "  ".join("%s=%s" % kv for kv in per.items())))
    shown = ", ".join("%s %s" % (k, ("%.2f s" % v) if isinstance(v, float) else v)
                      for k, v in timings.items())
    print("timings: %s; total %.1f s" % (shown, time.monotonic() - began))
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


sys.exit(main())
