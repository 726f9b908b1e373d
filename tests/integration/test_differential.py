#!/usr/bin/env python3
"""test_differential.py ST_ITSERVER [REDIS_SERVER] [options] -- differential test of strata-server
against a real redis-server.

The same seeded random stream of commands goes to a redis-server (the reference) and to a
strata-server (the subject), both started through st_itserver (tests/integration/itserver.c; with
STRATA_IT_SERVER=REDIS_SERVER it starts redis-server instead), and the replies are compared one by
one, exactly (an error reply compares by its full message text), except for the normalisations
listed in docs/COMPATIBILITY.md ("Differences the differential test allows"): replies whose order
Redis leaves undefined are compared sorted, TTL/PTTL by class, and the random commands
(HRANDFIELD, SRANDMEMBER, ZRANDMEMBER, SPOP) by what is deterministic about them; SPOP runs on
the subject only and the reference then SREMs the same members, so both keep the same contents.
Lex-range commands over a sorted set with mixed scores (undefined in Redis) are not sent. Every
--check-every commands and at the end, the whole state (KEYS, then TYPE, TTL class and full
contents of every key) is compared as well.

The generator draws keys from a small key space (12 keys per type family plus 7 keys shared by every
type, so WRONGTYPE errors happen), members/fields from 30 names, values from binary, empty,
integer, float and occasionally long strings, and mixes in invalid calls (wrong arity, non-integer
arguments, bad options) so error texts are compared too. Types: string, hash, set, list, zset,
zsetbig and generic (always on); ENABLED below is the default, --types or STRATA_DIFF_TYPES
overrides it. zsetbig has 4 keys of its own holding sorted sets of hundreds to thousands of
members (the last one up to 14,000; loaded by its first commands, reloaded now and then) and sends
mostly ZRANK/ZREVRANK, ZRANGE at far indexes, BYSCORE with large LIMIT offsets and ZCOUNT, with
batch writes (ZADD, ZREM, ZREMRANGEBYRANK blocks, pops with counts, *STORE) that take sets across
the sizes where Strata builds, deepens and drops its rank index (net/zrank.h: 256, 64, 8192, 2048)
both ways.

Replay: the seed, the types and the count are printed at the start; the same three give the same
command stream:
    STRATA_DIFF_SEED=N STRATA_DIFF_TYPES=string,generic python3 test_differential.py ST_ITSERVER \\
        /usr/bin/redis-server --count 10000
STRATA_DIFF_SEED=random picks a new seed (printed). STRATA_DIFF_COUNT sets --count.

Options:
    --seed N            seed (default: $STRATA_DIFF_SEED, else a fixed seed)
    --count N           commands per enabled type, generic included (default 10000; zsetbig
                        sends twice that, COUNT_SCALE)
    --types a,b,...     types to exercise (default: $STRATA_DIFF_TYPES, else ENABLED)
    --self-check        start redis-server twice (reference and subject) to check the test itself
    --check-every N     compare the whole state every N commands (default 1000; 0: only at the end)
    --max-diffs N       stop after N differences (default 1); after each one the keys involved are
                        copied from the reference to the subject so later commands compare again

Exit: 0 no difference, 1 a difference (or a server failed), 77 redis-server is missing (CTest SKIP).
The replies are read with a small RESP2 reader of this file (so error texts arrive untouched); the
python `redis` module is not needed."""
import argparse
import collections
import os
import random
import re
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree for itlaunch
import itlaunch  # noqa: E402

# Types exercised by default: all of them ("generic" is always added).
ENABLED = {"string", "hash", "set", "list", "zset", "zsetbig", "generic"}
ALL_TYPES = ("string", "hash", "set", "list", "zset", "zsetbig", "generic")
DEFAULT_SEED = 20240611
DEFAULT_COUNT = 10000
COUNT_SCALE = {"zsetbig": 2}  # commands per type are --count times this (default 1)
DEFAULT_CHECK_EVERY = 1000
HISTORY = 20  # commands kept per key for the failure report

# ---- RESP2 client ------------------------------------------------------------------------------------


def _printable(b):
    """Text for a status or error reply: as is when printable ASCII, else with escapes."""
    b = bytes(b)
    return b.decode() if re.fullmatch(rb"[ -~]*", b) else repr(b)[2:-1]


class Status(bytes):
    """A simple-string reply (+OK); compares unequal to a bulk string with the same bytes."""

    def __eq__(self, other):
        return isinstance(other, Status) and bytes(self) == bytes(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = bytes.__hash__

    def __repr__(self):
        return "+" + _printable(self)


class Err(bytes):
    """An error reply: its full message text, prefix included ("ERR ...", "WRONGTYPE ...")."""

    def __eq__(self, other):
        return isinstance(other, Err) and bytes(self) == bytes(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = bytes.__hash__

    def __repr__(self):
        return "(error) " + _printable(self)


class _NilArray:
    def __repr__(self):
        return "(nil array)"


NIL_ARRAY = _NilArray()  # *-1, distinct from the nil bulk string $-1 (None)


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """One connection; send() and read() so two servers can work on a command at the same time."""

    def __init__(self, port, name, timeout=60):
        self.name = name
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")

    def send(self, args):
        self.sock.sendall(encode(args))

    def read(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("%s closed the connection" % self.name)
        t, body = line[:1], line[1:-2]
        if t == b"+":
            return Status(body)
        if t == b"-":
            return Err(body)
        if t == b":":
            return int(body)
        if t == b"$":
            n = int(body)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("%s closed the connection" % self.name)
            return data[:-2]
        if t == b"*":
            n = int(body)
            if n < 0:
                return NIL_ARRAY
            return [self.read() for _ in range(n)]
        raise ConnectionError("%s sent a reply that is not RESP2: %r" % (self.name, line[:80]))

    def call(self, *args):
        self.send(list(args))
        return self.read()

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass


# ---- the key space and value pools --------------------------------------------------------------------

FAMILY = {t: [b"%s:%d" % (t.encode(), i) for i in range(4 if t == "zsetbig" else 12)]
          for t in ALL_TYPES if t != "generic"}
SHARED = [b"k:%d" % i for i in range(6)] + [b"k:bin\x00\xff"]
ALL_KEYS = [k for t in ALL_TYPES if t != "generic" for k in FAMILY[t]] + SHARED
ALL_KEYS_SET = set(ALL_KEYS)

# 30 members / fields: a few look like integers (intsets), floats, empty, binary.
MEMBERS = [b"m%d" % i for i in range(22)] + [b"", b"0", b"1", b"-7", b"100", b"3.5", b"\x00\xff\r\n",
                                              b"with space"]
HOT_MEMBERS = MEMBERS[:6] + MEMBERS[22:24] + MEMBERS[26:27] + MEMBERS[28:29]
ZBIG_MEMBERS = 4000  # zsetbig members are z0..z3999, so a set of a few thousand holds many of them
ZBIG_HUGE = 14000  # ... but the last zsetbig key's are z0..z13999: it grows past 8192 (a second level)
LEX_KEYS = FAMILY["zset"][:4]  # ZADD gives their members score 0 (see Gen._t_zset)
LIST_ELEMS = MEMBERS[:8] + [b"", b"1", b"\x00"]  # fewer, so LREM/LPOS/LINSERT find them
INTS = [b"0", b"1", b"-1", b"2", b"10", b"-25", b"1000", b"9223372036854775807", b"-9223372036854775808",
        b"9223372036854775806", b"-9223372036854775807", b"4611686018427387904"]
BAD_INTS = [b"abc", b"", b"1.5", b" 1", b"1 ", b"+1", b"007", b"-0", b"9223372036854775808",
            b"-9223372036854775809", b"0x10", b"1e3"]
FLOATS = [b"0", b"1.5", b"-2.25", b"0.1", b"1e3", b"-1e-3", b"3", b"10.0", b"1.7976931348623157e308",
          b"5e-324", b"-0", b"123456789.123456789", b"0.3", b"-100", b"7", b"0x1p3", b".5", b"3.", b"1E3",
          b"-.5", b"+1.5", b"1e-400", b"1e400"]
BAD_FLOATS = [b"abc", b"", b"nan", b"1.5x", b" 1.5", b"1.5 ", b"inf", b"-inf", b"infinity", b"1\x00"]
SCORES = [b"0", b"1", b"-1", b"1.5", b"-2.5", b"2", b"3", b"10", b"0.1", b"1e3", b"-inf", b"+inf", b"inf",
          b"-0", b"100", b"5", b"-0.5", b"7"]
BAD_SCORES = [b"nan", b"abc", b"", b"1.5.5", b"(1"]
SCORE_RANGES = [b"-inf", b"+inf", b"0", b"1", b"(1", b"1.5", b"(1.5", b"-2.5", b"(-2.5", b"10", b"(10", b"3",
                b"(inf", b"(-inf", b"5", b"(0", b"-1"]
BAD_SCORE_RANGES = [b"abc", b"((1", b"nan", b"", b"[1"]
LEX_RANGES = [b"-", b"+", b"[m1", b"(m1", b"[m5", b"(m15", b"[", b"(", b"[m", b"[m21", b"(0", b"[with"]
BAD_LEX_RANGES = [b"m1", b"", b"1"]
WORDS = [b"hello", b"world", b"foo", b"bar", b"x", b"strata", b"redis", b"\xc3\xa9t\xc3\xa9", b"a b c",
         b"\r\n", b"\x00", b"-", b"12abc"]

# Redis 7.0 arities (negative: at least that many), for the wrong-arity calls. ZRANK/ZREVRANK are
# left out of "too many arguments": their arity changed in 7.2 (WITHSCORE).
ARITY = {
    "string": {b"GET": 2, b"SET": -3, b"GETSET": 3, b"GETDEL": 2, b"GETEX": -2, b"APPEND": 3, b"STRLEN": 2,
               b"INCR": 2, b"DECR": 2, b"INCRBY": 3, b"DECRBY": 3, b"INCRBYFLOAT": 3, b"GETRANGE": 4,
               b"SETRANGE": 4, b"MSET": -3, b"MGET": -2, b"SETNX": 3, b"MSETNX": -3, b"SETEX": 4,
               b"PSETEX": 4},
    "hash": {b"HSET": -4, b"HSETNX": 4, b"HGET": 3, b"HMGET": -3, b"HMSET": -4, b"HDEL": -3, b"HLEN": 2,
             b"HSTRLEN": 3, b"HEXISTS": 3, b"HGETALL": 2, b"HKEYS": 2, b"HVALS": 2, b"HINCRBY": 4,
             b"HINCRBYFLOAT": 4, b"HRANDFIELD": -2},
    "set": {b"SADD": -3, b"SREM": -3, b"SCARD": 2, b"SISMEMBER": 3, b"SMISMEMBER": -3, b"SMEMBERS": 2,
            b"SRANDMEMBER": -2, b"SPOP": -2, b"SMOVE": 4, b"SINTER": -2, b"SUNION": -2, b"SDIFF": -2,
            b"SINTERSTORE": -3, b"SUNIONSTORE": -3, b"SDIFFSTORE": -3, b"SINTERCARD": -3},
    "list": {b"LPUSH": -3, b"RPUSH": -3, b"LPUSHX": -3, b"RPUSHX": -3, b"LPOP": -2, b"RPOP": -2, b"LLEN": 2,
             b"LINDEX": 3, b"LRANGE": 4, b"LSET": 4, b"LINSERT": 5, b"LREM": 4, b"LTRIM": 4, b"LPOS": -3,
             b"LMOVE": 5, b"RPOPLPUSH": 3},
    "zset": {b"ZADD": -4, b"ZINCRBY": 4, b"ZREM": -3, b"ZCARD": 2, b"ZSCORE": 3, b"ZMSCORE": -3,
             b"ZCOUNT": 4, b"ZLEXCOUNT": 4, b"ZRANK": 3, b"ZREVRANK": 3, b"ZRANGE": -4,
             b"ZRANGEBYSCORE": -4, b"ZREVRANGEBYSCORE": -4, b"ZRANGEBYLEX": -4, b"ZREVRANGEBYLEX": -4,
             b"ZREVRANGE": -4, b"ZRANGESTORE": -5, b"ZPOPMIN": -2, b"ZPOPMAX": -2, b"ZREMRANGEBYSCORE": 4,
             b"ZREMRANGEBYRANK": 4, b"ZREMRANGEBYLEX": 4, b"ZUNIONSTORE": -4, b"ZINTERSTORE": -4,
             b"ZRANDMEMBER": -2},
    "generic": {b"DEL": -2, b"UNLINK": -2, b"EXISTS": -2, b"TYPE": 2, b"EXPIRE": -3, b"PEXPIRE": -3,
                b"PERSIST": 2, b"TTL": 2, b"PTTL": 2, b"RENAME": 3, b"RENAMENX": 3, b"DBSIZE": 1},
}
NO_TOO_MANY = {b"ZRANK", b"ZREVRANK"}

# ---- the generator ------------------------------------------------------------------------------------


class Gen:
    """Draws commands from one random.Random; never looks at replies, so a seed always gives the
    same stream (for the same types and count)."""

    def __init__(self, rnd, types):
        self.r = rnd
        self.types = types
        self.generic_keys = [k for t in ALL_TYPES if t in types and t != "generic" for k in FAMILY[t]] + SHARED
        self.big_loaded = 0  # zsetbig keys loaded so far (Gen._t_zsetbig)
        self.tables = {t: self._table(t) for t in types}

    # -- building blocks
    def chance(self, p):
        return self.r.random() < p

    def key(self, t):
        if t == "generic":
            return self.r.choice(self.generic_keys)
        return self.r.choice(FAMILY[t]) if self.chance(0.85) else self.r.choice(SHARED)

    def dst(self, t):
        """A *STORE destination: mostly one of the family's last 3 keys, so an empty result does not
        keep wiping out the other keys."""
        return self.r.choice(FAMILY[t][-3:]) if self.chance(0.8) else self.key(t)

    def keys(self, t, lo, hi):
        return [self.key(t) for _ in range(self.r.randint(lo, hi))]

    def member(self):
        # half the time one of 10 "hot" members, so lookups and removals often hit
        return self.r.choice(HOT_MEMBERS) if self.chance(0.5) else self.r.choice(MEMBERS)

    def members(self, lo, hi):
        return [self.member() for _ in range(self.r.randint(lo, hi))]

    def value(self):
        x = self.r.random()
        if x < 0.25:
            return self.member()
        if x < 0.45:
            return self.r.choice(INTS)
        if x < 0.55:
            return b"%d" % self.r.randint(-100, 100)
        if x < 0.67:
            return self.r.choice(FLOATS)
        if x < 0.80:
            return self.r.randbytes(self.r.randint(0, 12))
        if x < 0.99:
            return self.r.choice(WORDS)
        n = self.r.choice([100, 1000, 5000, 70000])
        if self.chance(0.5):
            return self.r.randbytes(n)
        return (b"%d-" % self.r.randrange(1000) * n)[:n]

    def incr(self, bad=0.03):
        if self.chance(bad):
            return self.r.choice(BAD_INTS)
        if self.chance(0.1):
            return self.r.choice(INTS)
        return b"%d" % self.r.randint(-50, 50)

    def float_(self, bad=0.04):
        if self.chance(bad):
            return self.r.choice(BAD_FLOATS)
        if self.chance(0.7):
            return self.r.choice(FLOATS)
        return self.r.choice(INTS)

    def score(self, bad=0.03):
        return self.r.choice(BAD_SCORES) if self.chance(bad) else self.r.choice(SCORES)

    def idx(self, span=14, bad=0.02):
        if self.chance(bad):
            return self.r.choice(BAD_INTS)
        if self.chance(0.03):
            return self.r.choice([b"9223372036854775807", b"-9223372036854775808", b"1000000"])
        return b"%d" % self.r.randint(-span, span)

    def count(self, lo=-5, hi=40, bad=0.03):
        if self.chance(bad):
            return self.r.choice(BAD_INTS)
        return b"%d" % self.r.randint(lo, hi)

    def ttl_option(self):
        """EX/PX/EXAT/PXAT with large TTLs (nothing expires during a run), a past time now and then."""
        x = self.r.random()
        if x < 0.4:
            return [b"EX", self.r.choice([b"1000", b"100000", b"86400", b"3000000"])]
        if x < 0.7:
            return [b"PX", self.r.choice([b"1000000", b"100000000", b"86400000"])]
        if x < 0.8:
            return [b"EXAT", self.r.choice([b"4102444800", b"1"])]
        if x < 0.88:
            return [b"PXAT", self.r.choice([b"4102444800000", b"1000"])]
        if x < 0.95:
            return [b"KEEPTTL"]
        return self.r.choice([[b"EX", b"0"], [b"EX", b"-10"], [b"PX", b"abc"], [b"EX"],
                              [b"EX", b"9999999999999999"], [b"PX", b"0"], [b"EXAT", b"0"],
                              [b"EX", b"9223372036854775"], [b"PX", b"9223372036854775807"],
                              [b"EXAT", b"9223372036854775"], [b"EX", b"100", b"PX", b"100"]])

    def invalid(self, t):
        """A call with the wrong number of arguments, or (rarely) an unknown command."""
        if t == "generic" and self.chance(0.1):
            return [self.r.choice([b"FOOBAR", b"NOSUCHCOMMAND", b"FOO\x00BAR", b"X" * 140])] + \
                self.r.choice([[], [b"a", b"b"], [b"a" * 150, b"\r\n"], [b"%d" % i for i in range(60)]])
        arity = ARITY[t]
        name = self.r.choice(sorted(arity))
        a = arity[name]
        if a > 0:
            choices = list(range(1, a))
            if name not in NO_TOO_MANY:
                choices.append(a + 1)
            n = self.r.choice(choices) if choices else a + 1
        else:
            if -a <= 1:
                return [name, self.key(t)]
            n = self.r.randint(1, -a - 1)
        args = [name]
        while len(args) < n:
            args.append(self.key(t) if len(args) == 1 else self.r.choice([self.member(), b"1"]))
        if self.chance(0.5):
            args[0] = args[0].lower()
        return args

    def bulk(self):
        """100-300 names from a larger space, now and then, so collections also get past the sizes
        where Redis changes encodings (128 listpack entries, 512 intset members)."""
        n = self.r.randint(100, 300)
        if self.chance(0.5):
            return [b"%d" % self.r.randrange(-1000, 1000) for _ in range(n)]
        return [b"b%d" % self.r.randrange(1000) for _ in range(n)]

    def flags(self, opts, p):
        out = [o for o in opts if self.chance(p)]
        self.r.shuffle(out)
        return out

    # -- per type tables: (weight, function returning the argument list)
    def _table(self, t):
        return getattr(self, "_t_" + t)()

    def _t_string(self):
        K = lambda: self.key("string")

        def V():  # more integers than value() gives, so INCR/DECR often succeed
            return self.r.choice(INTS[:8]) if self.chance(0.2) else self.value()

        def set_():
            a = [b"SET", K(), V()]
            opts = []
            if self.chance(0.3):
                opts.append(self.r.choice([b"NX", b"XX"]))
            if self.chance(0.02):
                opts.append(self.r.choice([b"NX", b"XX"]))
            if self.chance(0.2):
                opts.append(b"GET")
            if self.chance(0.4):
                opts += self.ttl_option()
            if self.chance(0.02):
                opts += self.ttl_option()
            if self.chance(0.01):
                opts.append(self.r.choice([b"FOO", b"ex", b"nx"]))
            return a + opts

        def getex():
            a = [b"GETEX", K()]
            x = self.r.random()
            if x < 0.5:
                a += [o for o in self.ttl_option() if o != b"KEEPTTL"]
            elif x < 0.7:
                a.append(b"PERSIST")
            elif x < 0.75:
                a += [b"PERSIST", b"EX", b"100"]
            return a

        def mset(name):
            a = [name]
            for _ in range(self.r.randint(1, 4)):
                a += [K(), V()]
            if self.chance(0.03):
                a.append(K())
            return a

        def setrange():
            if self.chance(0.03):
                off = self.r.choice([b"-1", b"536870912", b"abc"])  # 536870911 would build 512 MB
            else:
                off = b"%d" % self.r.randint(0, 40)
            return [b"SETRANGE", K(), off, self.r.choice([V(), b""])]

        return [
            (14, set_),
            (10, lambda: [b"GET", K()]),
            (2, lambda: [b"GETSET", K(), V()]),
            (2, lambda: [b"GETDEL", K()]),
            (2, getex),
            (4, lambda: [b"APPEND", K(), V()]),
            (3, lambda: [b"STRLEN", K()]),
            (3, lambda: [b"INCR", K()]),
            (1, lambda: [b"DECR", K()]),
            (3, lambda: [b"INCRBY", K(), self.incr()]),
            (2, lambda: [b"DECRBY", K(), self.incr()]),
            (3, lambda: [b"INCRBYFLOAT", K(), self.float_()]),
            (3, lambda: [b"GETRANGE", K(), self.idx(20), self.idx(20)]),
            (3, setrange),
            (2, lambda: mset(b"MSET")),
            (3, lambda: [b"MGET"] + self.keys("string", 1, 5)),
            (2, lambda: [b"SETNX", K(), V()]),
            (2, lambda: mset(b"MSETNX")),
            (1, lambda: [b"SETEX", K(), self.r.choice([b"1000", b"100000", b"0", b"-1", b"x"]), V()]),
            (1, lambda: [b"PSETEX", K(), self.r.choice([b"1000000", b"0", b"x"]), V()]),
            (3, lambda: self.invalid("string")),
        ]

    def _t_hash(self):
        K = lambda: self.key("hash")
        F = self.member

        def hval():
            return self.r.choice(INTS[:7]) if self.chance(0.3) else self.value()

        def hset(name):
            a = [name, K()]
            for _ in range(self.r.randint(1, 4)):
                a += [F(), hval()]
            if self.chance(0.03):
                a.append(F())
            return a

        def hrandfield():
            a = [b"HRANDFIELD", K()]
            if self.chance(0.75):
                a.append(self.count(-20, 40))
                if self.chance(0.4):
                    a.append(b"WITHVALUES")
                if self.chance(0.02):
                    a.append(b"FOO")
            return a

        return [
            (12, lambda: hset(b"HSET")),
            (3, lambda: [b"HSETNX", K(), F(), hval()]),
            (8, lambda: [b"HGET", K(), F()]),
            (4, lambda: [b"HMGET", K()] + self.members(1, 5)),
            (2, lambda: hset(b"HMSET")),
            (5, lambda: [b"HDEL", K()] + self.members(1, 4)),
            (3, lambda: [b"HLEN", K()]),
            (3, lambda: [b"HSTRLEN", K(), F()]),
            (3, lambda: [b"HEXISTS", K(), F()]),
            (3, lambda: [b"HGETALL", K()]),
            (2, lambda: [b"HKEYS", K()]),
            (2, lambda: [b"HVALS", K()]),
            (4, lambda: [b"HINCRBY", K(), F(), self.incr()]),
            (3, lambda: [b"HINCRBYFLOAT", K(), F(), self.float_()]),
            (3, hrandfield),
            (0.3, lambda: [b"HSET", K()] + [x for f in self.bulk() for x in (f, hval())]),
            (2, lambda: self.invalid("hash")),
        ]

    def _t_set(self):
        K = lambda: self.key("set")
        M = self.member

        def sintercard():
            ks = self.keys("set", 1, 4)
            n = b"%d" % len(ks)
            if self.chance(0.05):
                n = self.r.choice([b"0", b"-1", b"%d" % (len(ks) + 1), b"x"])
            a = [b"SINTERCARD", n] + ks
            if self.chance(0.4):
                a += [b"LIMIT", self.count(-1, 10)]
            return a

        def randcount(name):
            a = [name, K()]
            if self.chance(0.7):
                a.append(self.count(-20 if name == b"SRANDMEMBER" else -2, 40))
            return a

        return [
            (12, lambda: [b"SADD", K()] + self.members(1, 6)),
            (0.3, lambda: [b"SADD", K()] + self.bulk()),
            (5, lambda: [b"SREM", K()] + self.members(1, 4)),
            (3, lambda: [b"SCARD", K()]),
            (4, lambda: [b"SISMEMBER", K(), M()]),
            (3, lambda: [b"SMISMEMBER", K()] + self.members(1, 5)),
            (3, lambda: [b"SMEMBERS", K()]),
            (3, lambda: randcount(b"SRANDMEMBER")),
            (3, lambda: randcount(b"SPOP")),
            (3, lambda: [b"SMOVE", K(), K(), M()]),
            (2, lambda: [b"SINTER"] + self.keys("set", 1, 4)),
            (2, lambda: [b"SUNION"] + self.keys("set", 1, 4)),
            (2, lambda: [b"SDIFF"] + self.keys("set", 1, 4)),
            (2, lambda: [b"SINTERSTORE", self.dst("set")] + self.keys("set", 1, 3)),
            (2, lambda: [b"SUNIONSTORE", self.dst("set")] + self.keys("set", 1, 3)),
            (2, lambda: [b"SDIFFSTORE", self.dst("set")] + self.keys("set", 1, 3)),
            (2, sintercard),
            (2, lambda: self.invalid("set")),
        ]

    def _t_list(self):
        K = lambda: self.key("list")

        def E():
            return self.r.choice(LIST_ELEMS) if self.chance(0.85) else self.value()

        def pop(name):
            a = [name, K()]
            if self.chance(0.4):
                a.append(self.count(-1, 6))
            return a

        def lpos():
            a = [b"LPOS", K(), E()]
            for opt in self.flags([b"RANK", b"COUNT", b"MAXLEN"], 0.35):
                if opt == b"RANK":
                    # not RANK -9223372036854775808: Redis 7.0 overflows on it (nil), 7.2 and Strata
                    # reject it; see docs/COMPATIBILITY.md
                    a += [opt, self.r.choice([b"1", b"2", b"-1", b"-2", b"3", b"0", b"-9223372036854775807",
                                              b"9223372036854775807"])]
                else:
                    a += [opt, self.count(-1, 5)]
            return a

        return [
            (6, lambda: [b"LPUSH", K()] + [E() for _ in range(self.r.randint(1, 5))]),
            (6, lambda: [b"RPUSH", K()] + [E() for _ in range(self.r.randint(1, 5))]),
            (0.3, lambda: [b"RPUSH", K()] + self.bulk()),
            (2, lambda: [b"LPUSHX", K()] + [E() for _ in range(self.r.randint(1, 3))]),
            (2, lambda: [b"RPUSHX", K()] + [E() for _ in range(self.r.randint(1, 3))]),
            (3, lambda: pop(b"LPOP")),
            (3, lambda: pop(b"RPOP")),
            (2, lambda: [b"LLEN", K()]),
            (3, lambda: [b"LINDEX", K(), self.idx(12)]),
            (4, lambda: [b"LRANGE", K(), self.idx(12), self.idx(12)]),
            (3, lambda: [b"LSET", K(), self.idx(10), E()]),
            (3, lambda: [b"LINSERT", K(), self.r.choice([b"BEFORE", b"AFTER", b"after", b"MIDDLE"]
                                                        if self.chance(0.05) else [b"BEFORE", b"AFTER"]), E(), E()]),
            (3, lambda: [b"LREM", K(), self.idx(3), E()]),
            (2, lambda: [b"LTRIM", K(), self.idx(8), self.idx(12)]),
            (3, lpos),
            (2, lambda: [b"LMOVE", K(), K(), self.r.choice([b"LEFT", b"RIGHT"]),
                         self.r.choice([b"LEFT", b"RIGHT", b"right"] + ([b"UP"] if self.chance(0.05) else []))]),
            (2, lambda: [b"RPOPLPUSH", K(), K()]),
            (2, lambda: self.invalid("list")),
        ]

    def _t_zset(self):
        K = lambda: self.key("zset")
        M = self.member

        def KL():  # mostly a LEX_KEYS key: lex ranges are defined only when all scores are equal
            return self.r.choice(LEX_KEYS) if self.chance(0.7) else K()

        def zadd():
            k = K()
            a = [b"ZADD", k] + self.flags([b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"], 0.07)
            n = 1 if (b"INCR" in a and self.chance(0.9)) else self.r.randint(1, 6)
            for _ in range(n):
                a += [b"0" if k in LEX_KEYS else self.score(), M()]
            if self.chance(0.02):
                a.append(self.score())
            return a

        def srange():
            return self.r.choice(BAD_SCORE_RANGES) if self.chance(0.03) else self.r.choice(SCORE_RANGES)

        def lrange_():
            return self.r.choice(BAD_LEX_RANGES) if self.chance(0.03) else self.r.choice(LEX_RANGES)

        def limit():
            return [b"LIMIT", self.idx(3), self.count(-1, 6)]

        def zrange(store):
            by = self.r.choice([None, None, b"BYSCORE", b"BYLEX"])
            rev = self.chance(0.3)
            if by == b"BYSCORE":
                lo, hi = srange(), srange()
            elif by == b"BYLEX":
                lo, hi = lrange_(), lrange_()
            else:
                lo, hi = self.idx(8), self.idx(8)
            src = KL() if by == b"BYLEX" else K()
            a = [b"ZRANGESTORE", self.dst("zset"), src] if store else [b"ZRANGE", src]
            a += [lo, hi]
            opts = []
            if by:
                opts.append(by)
            if rev:
                opts.append(b"REV")
            if self.chance(0.35 if by else 0.03):
                opts += limit()
            if not store and self.chance(0.35 if by != b"BYLEX" else 0.03):
                opts.append(b"WITHSCORES")
            if self.chance(0.1):
                self.r.shuffle(opts)  # LIMIT's arguments may get separated: a syntax error
            return a + opts

        def byscore(name):
            a = [name, K(), srange(), srange()]
            for o in self.flags([b"WITHSCORES", b"LIMIT"], 0.3):
                a += limit() if o == b"LIMIT" else [o]
            return a

        def bylex(name):
            a = [name, KL(), lrange_(), lrange_()]
            if self.chance(0.3):
                a += limit()
            return a

        def withscores(a):
            return a + [b"WITHSCORES"] if self.chance(0.4) else a

        def zstore(name):
            ks = self.keys("zset", 1, 3)
            n = b"%d" % len(ks)
            if self.chance(0.04):
                n = self.r.choice([b"0", b"-1", b"%d" % (len(ks) + 1), b"x"])
            a = [name, self.dst("zset"), n] + ks
            if self.chance(0.4):
                a.append(b"WEIGHTS")
                a += [self.r.choice([b"1", b"2", b"-1", b"0", b"0.5", b"inf", b"-inf", b"3"])
                      for _ in range(len(ks) - (1 if self.chance(0.03) else 0))]
            if self.chance(0.4):
                a += [b"AGGREGATE", self.r.choice([b"SUM", b"MIN", b"MAX", b"max"]
                                                  + ([b"AVG"] if self.chance(0.05) else []))]
            return a

        def zrandmember():
            a = [b"ZRANDMEMBER", K()]
            if self.chance(0.75):
                a.append(self.count(-20, 40))
                if self.chance(0.4):
                    a.append(b"WITHSCORES")
            return a

        def pop(name):
            a = [name, K()]
            if self.chance(0.4):
                a.append(self.count(-1, 6))
            return a

        return [
            (16, zadd),
            (0.3, lambda: [b"ZADD", K()] + [x for m in self.bulk() for x in (self.score(0), m)]),
            (0.2, lambda: [b"ZADD", self.r.choice(LEX_KEYS)] + [x for m in self.bulk() for x in (b"0", m)]),
            (3, lambda: [b"ZINCRBY", K(), self.score(), M()]),
            (1, lambda: [b"ZINCRBY", self.r.choice(LEX_KEYS), b"0", M()]),
            (4, lambda: [b"ZREM", K()] + self.members(1, 4)),
            (3, lambda: [b"ZCARD", K()]),
            (4, lambda: [b"ZSCORE", K(), M()]),
            (2, lambda: [b"ZMSCORE", K()] + self.members(1, 4)),
            (3, lambda: [b"ZCOUNT", K(), srange(), srange()]),
            (2, lambda: [b"ZLEXCOUNT", KL(), lrange_(), lrange_()]),
            (2, lambda: [b"ZRANK", K(), M()]),
            (2, lambda: [b"ZREVRANK", K(), M()]),
            (6, lambda: zrange(False)),
            (2, lambda: byscore(b"ZRANGEBYSCORE")),
            (2, lambda: byscore(b"ZREVRANGEBYSCORE")),
            (2, lambda: bylex(b"ZRANGEBYLEX")),
            (1, lambda: bylex(b"ZREVRANGEBYLEX")),
            (2, lambda: withscores([b"ZREVRANGE", K(), self.idx(8), self.idx(8)])),
            (2, lambda: zrange(True)),
            (2, lambda: pop(b"ZPOPMIN")),
            (2, lambda: pop(b"ZPOPMAX")),
            (1, lambda: [b"ZREMRANGEBYSCORE", K(), srange(), srange()]),
            (1, lambda: [b"ZREMRANGEBYRANK", K(), self.idx(6), self.idx(6)]),
            (1, lambda: [b"ZREMRANGEBYLEX", KL(), lrange_(), lrange_()]),
            (2, lambda: zstore(b"ZUNIONSTORE")),
            (2, lambda: zstore(b"ZINTERSTORE")),
            (2, zrandmember),
            (2, lambda: self.invalid("zset")),
        ]

    def _t_zsetbig(self):
        """Sorted sets of hundreds to thousands of members (Strata's rank index, net/zrank.h, is built
        past 256 members, dropped below 64, and has a second level past 8192 until below 2048): bulk
        loads, then mostly rank and score lookups at far ranks and offsets, and writes in batches
        that take sets across 256 and 64 both ways (the last key also across 8192 and 2048). The
        first command for each key loads it."""
        keys = FAMILY["zsetbig"]
        cur = {"space": ZBIG_MEMBERS}  # of the key K() chose last: M(), rank() and offset() scale with it

        def K():
            k = self.r.choice(keys) if self.chance(0.97) else self.r.choice(SHARED)
            cur["space"] = ZBIG_HUGE if k == keys[-1] else ZBIG_MEMBERS
            return k

        def M():
            return b"z%d" % self.r.randrange(cur["space"])

        def score():
            x = self.r.random()
            if x < 0.6:
                return b"%d" % self.r.randint(-1000, 1000)
            if x < 0.8:
                return b"%d.5" % self.r.randint(-1000, 999)
            if x < 0.97:
                return self.r.choice([b"0", b"1", b"-1", b"7", b"100", b"250", b"-250"])  # ties
            return self.r.choice([b"-inf", b"+inf", b"1e300", b"-1e-300"])

        def bound():
            x = self.r.random()
            if x < 0.1:
                return self.r.choice([b"-inf", b"+inf", b"(-inf", b"(+inf"])
            v = self.r.choice([b"%d" % self.r.randint(-1100, 1100), b"%d.5" % self.r.randint(-1100, 1100),
                               self.r.choice([b"0", b"1", b"7", b"100", b"250", b"-250"])])
            return b"(" + v if self.chance(0.35) else v

        def bounds():
            a, b = bound(), bound()
            if self.chance(0.85):  # mostly non-empty: low end first
                fa = float(a.lstrip(b"("))
                fb = float(b.lstrip(b"("))
                if fa > fb:
                    a, b = b, a
            return a, b

        def rank():
            """An index anywhere in the set, often near 256 (and 8192) and their mirrors."""
            x = self.r.random()
            if x < 0.3:
                v = self.r.choice([0, 1, 63, 64, 127, 128, 255, 256, 257, 258, 511, 512, 1024, 2047, 2048]
                                  + ([4096, 8191, 8192, 8193] if cur["space"] > ZBIG_MEMBERS else []))
                v += self.r.randint(-2, 2)
            elif x < 0.9:
                v = self.r.randint(0, cur["space"] * 7 // 8)
            else:
                v = self.r.choice([10 ** 6, 9223372036854775807])
            return -v - 1 if self.chance(0.3) else v

        def offset():
            x = self.r.random()
            if x < 0.4:
                return self.r.randint(250, cur["space"] * 7 // 8)
            if x < 0.6:
                return self.r.choice([255, 256, 257, 258, 300, 512, 1000]) + self.r.randint(-1, 1)
            if x < 0.9:
                return self.r.randint(0, 40)
            return self.r.choice([-1, 10 ** 6])

        def count():
            return self.r.choice([-1, 0]) if self.chance(0.1) else self.r.randint(1, 12)

        def ws(a):
            return a + [b"WITHSCORES"] if self.chance(0.4) else a

        def load(k=None):
            a = [b"ZADD", k if k is not None else K()]
            if k is not None:
                cur["space"] = ZBIG_HUGE if k == keys[-1] else ZBIG_MEMBERS
            if cur["space"] > ZBIG_MEMBERS:  # distinct members, so most loads pass 8192
                for m in self.r.sample(range(cur["space"]), self.r.randint(6000, 12000)):
                    a += [score(), b"z%d" % m]
                return a
            for _ in range(self.r.randint(500, 3000)):  # members may repeat: the last score counts
                a += [score(), M()]
            return a

        def zadd_batch():
            a = [b"ZADD", K()] + self.flags([b"XX", b"NX", b"GT", b"LT", b"CH"], 0.08)
            for _ in range(self.r.randint(1, 400) if self.chance(0.6) else self.r.randint(1, 5)):
                a += [score(), M()]
            return a

        def zrange():
            if self.chance(0.6):
                start = rank()
                stop = start + self.r.randint(0, 12) if self.chance(0.85) else rank()
                a = [b"ZRANGE", K(), b"%d" % start, b"%d" % stop]
                if self.chance(0.3):
                    a.append(b"REV")
                return ws(a)
            lo, hi = bounds()
            rev = self.chance(0.4)
            a = [b"ZRANGE", K()] + ([hi, lo, b"BYSCORE", b"REV"] if rev else [lo, hi, b"BYSCORE"])
            if self.chance(0.9):
                a += [b"LIMIT", b"%d" % offset(), b"%d" % count()]
            return ws(a)

        def zrevrange():
            start = rank()
            stop = start + self.r.randint(0, 12) if self.chance(0.85) else rank()
            return ws([b"ZREVRANGE", K(), b"%d" % start, b"%d" % stop])

        def byscore(name):
            lo, hi = bounds()
            a = [name, K()] + ([hi, lo] if name == b"ZREVRANGEBYSCORE" else [lo, hi])
            a = ws(a)
            if self.chance(0.9):
                a += [b"LIMIT", b"%d" % offset(), b"%d" % count()]
            return a

        def remrank():
            x = self.r.random()
            if x < 0.1:  # keep only a few: across 256 and 64 at once
                k = self.r.randint(1, 300)
                return [b"ZREMRANGEBYRANK", K()] + self.r.choice([[b"0", b"%d" % -(k + 1)], [b"%d" % k, b"-1"]])
            start = rank()
            return [b"ZREMRANGEBYRANK", K(), b"%d" % start, b"%d" % (start + self.r.randint(0, 600))]

        def pop(name):
            n = self.r.randint(1, 300) if self.chance(0.95) else self.r.randint(300, 3000)
            return [name, K(), b"%d" % n]

        def zmpop():
            a = [b"ZMPOP", b"1", K(), self.r.choice([b"MIN", b"MAX"])]
            if self.chance(0.8):
                a += [b"COUNT", b"%d" % self.r.randint(1, 500)]
            return a

        def store(name):
            srcs = [K() for _ in range(self.r.randint(1, 3))]
            a = [name, K(), b"%d" % len(srcs)] + srcs
            if name != b"ZDIFFSTORE" and self.chance(0.3):
                a += [b"WEIGHTS"] + [self.r.choice([b"1", b"2", b"-1", b"0.5"]) for _ in srcs]
            if name != b"ZDIFFSTORE" and self.chance(0.3):
                a += [b"AGGREGATE", self.r.choice([b"SUM", b"MIN", b"MAX"])]
            return a

        def rangestore():
            src, dst = K(), K()
            if self.chance(0.5):
                start = rank()
                return [b"ZRANGESTORE", dst, src, b"%d" % start, b"%d" % (start + self.r.randint(0, 2000))]
            lo, hi = bounds()
            return [b"ZRANGESTORE", dst, src, lo, hi, b"BYSCORE", b"LIMIT", b"%d" % offset(),
                    b"%d" % self.r.randint(1, 2000)]

        def first():
            # the first commands load every key (the generator never reads replies: a counter)
            k = keys[self.big_loaded]
            self.big_loaded += 1
            return load(k)

        table = [
            (8, lambda: [b"ZRANK", K(), M()]),
            (5, lambda: [b"ZREVRANK", K(), M()]),
            (10, zrange),
            (3, zrevrange),
            (3, lambda: byscore(b"ZRANGEBYSCORE")),
            (3, lambda: byscore(b"ZREVRANGEBYSCORE")),
            (7, lambda: [b"ZCOUNT", K()] + list(bounds())),
            (2, lambda: [b"ZCARD", K()]),
            (1, lambda: [b"ZSCORE", K(), M()]),
            (4, zadd_batch),
            (2, lambda: [b"ZINCRBY", K(), score(), M()]),
            (3, lambda: [b"ZREM", K()] + [M() for _ in range(self.r.randint(1, 300))]),
            (2, remrank),
            (1, lambda: [b"ZREMRANGEBYSCORE", K()] + list(bounds())),
            (1, lambda: pop(b"ZPOPMIN")),
            (1, lambda: pop(b"ZPOPMAX")),
            (1, zmpop),
            (0.3, lambda: [self.r.choice([b"BZPOPMIN", b"BZPOPMAX"]), K(), b"0.01"]),
            (0.5, lambda: store(b"ZUNIONSTORE")),
            (0.3, lambda: store(b"ZINTERSTORE")),
            (0.3, lambda: store(b"ZDIFFSTORE")),
            (0.7, rangestore),
            (1.6, load),
        ]

        def pick():
            if self.big_loaded < len(keys):
                return first()
            fn = self.r.choices([f for _, f in table], weights=[w for w, _ in table])[0]
            return fn()

        return [(1, pick)]

    def _t_generic(self):
        K = lambda: self.key("generic")

        def expire(name):
            if self.chance(0.08):
                t = self.r.choice([b"0", b"-1", b"abc", b"1.5", b"9223372036854775807"])
            elif name == b"EXPIRE":
                t = self.r.choice([b"1000", b"100000", b"86400", b"5000000"])
            else:
                t = self.r.choice([b"1000000", b"100000000"])
            a = [name, K(), t]
            if self.chance(0.25):
                a.append(self.r.choice([b"NX", b"XX", b"nx", b"XX"]))
            if self.chance(0.03):
                # GT/LT only where deterministic: invalid combinations (a GT/LT result could depend on
                # whether a millisecond passed since an equal TTL was set)
                a += self.r.choice([[b"GT", b"LT"], [b"NX", b"XX"], [b"NX", b"GT"], [b"FOO"]])
            return a

        def rename_keys():
            # mostly within the source's family, so type families do not all end up mixed
            src = K()
            fam = [ks for ks in FAMILY.values() if src in ks]
            if fam and self.chance(0.8):
                return [src, self.r.choice(fam[0]) if self.chance(0.85) else self.r.choice(SHARED)]
            return [src, K()]

        return [
            (1, lambda: [b"DEL"] + self.keys("generic", 1, 2)),
            (0.3, lambda: [b"UNLINK"] + self.keys("generic", 1, 3)),
            (5, lambda: [b"EXISTS"] + self.keys("generic", 1, 4)),
            (5, lambda: [b"TYPE", K()]),
            (4, lambda: expire(b"EXPIRE")),
            (1, lambda: expire(b"PEXPIRE")),
            (2, lambda: [b"PERSIST", K()]),
            (4, lambda: [b"TTL", K()]),
            (1, lambda: [b"PTTL", K()]),
            (1, lambda: [b"RENAME"] + rename_keys()),
            (1, lambda: [b"RENAMENX"] + rename_keys()),
            (1, lambda: [b"DBSIZE"]),
            (2, lambda: self.invalid("generic")),
        ]

    def command(self, t):
        table = self.tables[t]
        fn = self.r.choices([f for _, f in table], weights=[w for w, _ in table])[0]
        return fn()

    def stream(self, count):
        """Yields (type, args): count commands of each type (times COUNT_SCALE), interleaved at random."""
        left = {t: count * COUNT_SCALE.get(t, 1) for t in self.types}
        order = list(self.types)
        while True:
            live = [t for t in order if left[t] > 0]
            if not live:
                return
            t = self.r.choices(live, weights=[left[x] for x in live])[0]
            left[t] -= 1
            yield t, self.command(t)


# ---- comparing replies -----------------------------------------------------------------------------------

SORTED = {b"HKEYS", b"HVALS", b"SMEMBERS", b"SINTER", b"SUNION", b"SDIFF"}
TTLS = {b"TTL", b"PTTL"}
RANDOM = {b"HRANDFIELD", b"SRANDMEMBER", b"ZRANDMEMBER"}
LEX = {b"ZLEXCOUNT", b"ZRANGEBYLEX", b"ZREVRANGEBYLEX", b"ZREMRANGEBYLEX"}


class _Skipped:
    def __repr__(self):
        return "(not sent: lex range over mixed scores)"


SKIPPED = _Skipped()


def lex_source(name, args):
    """The sorted set a lex-range command reads, or None when the command is not one."""
    if name in LEX and len(args) >= 2:
        return args[1]
    if name in (b"ZRANGE", b"ZRANGESTORE") and any(a.upper() == b"BYLEX" for a in args):
        i = 2 if name == b"ZRANGESTORE" else 1
        return args[i] if len(args) > i else None
    return None


def _sort_key(x):
    return (0, x) if isinstance(x, bytes) else (1, repr(x).encode())


def _zero_sign(reply):
    """A sorted set's scores with -0 as 0 (see docs/COMPATIBILITY.md)."""
    if isinstance(reply, list):
        return [_zero_sign(x) for x in reply]
    return b"0" if reply == b"-0" else reply


def normalise(name, reply):
    """The reply as compared: unordered replies sorted, TTLs reduced to their class, -0 scores as 0."""
    if isinstance(reply, Err):
        return reply
    if name.startswith(b"Z") or name.startswith(b"BZ"):
        reply = _zero_sign(reply)
    if name in SORTED and isinstance(reply, list):
        return sorted(reply, key=_sort_key)
    if name == b"HGETALL" and isinstance(reply, list):
        return sorted(zip(reply[::2], reply[1::2]), key=lambda p: (_sort_key(p[0]), _sort_key(p[1])))
    if name in TTLS and isinstance(reply, int) and reply >= 0:
        return "a positive TTL"
    return reply


def ttl_close(a, b, name):
    """Positive TTLs compare by class, but a unit mix-up (seconds vs ms) is still a difference."""
    slack = 60 if name == b"TTL" else 60000
    return abs(a - b) <= slack + max(a, b) // 100


def compare(name, ra, rb):
    """None when the replies agree, else a one-line reason."""
    na, nb = normalise(name, ra), normalise(name, rb)
    if na != nb:
        return "replies differ"
    if name in TTLS and isinstance(ra, int) and isinstance(rb, int) and ra >= 0 and not ttl_close(ra, rb, name):
        return "TTLs are too far apart"
    return None


def contents(conn, name, key):
    """The key's contents for checking a random reply: dict (hash, zset) or set; None on an error."""
    if name == b"HRANDFIELD":
        r = conn.call(b"HGETALL", key)
        return dict(zip(r[::2], r[1::2])) if isinstance(r, list) else None
    if name == b"ZRANDMEMBER":
        r = conn.call(b"ZRANGE", key, b"0", b"-1", b"WITHSCORES")
        return dict(zip(r[::2], r[1::2])) if isinstance(r, list) else None
    r = conn.call(b"SMEMBERS", key)
    return set(r) if isinstance(r, list) else None


def check_random_reply(reply, count, paired, content):
    """Checks a HRANDFIELD/SRANDMEMBER/ZRANDMEMBER/SPOP reply against the key's contents. None or why."""
    reply = _zero_sign(reply)
    if isinstance(content, dict):
        content = {k: _zero_sign(v) for k, v in content.items()}
    if content is None:
        return "the key's contents could not be read"
    n = len(content)
    if count is None:
        if n == 0:
            return None if reply is None else "non-nil reply for an empty key"
        if not isinstance(reply, bytes) or isinstance(reply, (Status, Err)):
            return "not a bulk string"
        return None if reply in content else "%r is not in the key" % (reply,)
    if not isinstance(reply, list):
        return "not an array"
    elems = reply[::2] if paired else reply
    if paired:
        if len(reply) % 2:
            return "odd number of elements in a WITH... reply"
        for e, v in zip(reply[::2], reply[1::2]):
            if e in content and content[e] != v:
                return "%r comes with %r, the key has %r" % (e, v, content[e])
    want = min(count, n) if count >= 0 else (-count if n else 0)
    if len(elems) != want:
        return "%d elements, expected %d" % (len(elems), want)
    for e in elems:
        if e not in content:
            return "%r is not in the key" % (e,)
    if count >= 0 and len(set(elems)) != len(elems):
        return "repeated elements for a positive count"
    return None


def random_args(args):
    """(count or None, paired) for a random command's arguments."""
    count = int(args[2]) if len(args) > 2 else None
    paired = len(args) > 3 and args[3].upper() in (b"WITHVALUES", b"WITHSCORES")
    return count, paired


# ---- formatting ------------------------------------------------------------------------------------------


def fmt_arg(b):
    if len(b) > 60:
        return "%s...(%d bytes)" % (repr(b[:40])[1:], len(b))
    if b and re.fullmatch(rb"[A-Za-z0-9:_.+\-()\[]+", b):
        return b.decode()
    return repr(b)[1:]


def fmt_cmd(args):
    return " ".join(fmt_arg(a) for a in args)


def fmt_reply(r, limit=30):
    if isinstance(r, (Status, Err, _Skipped, _NilArray)):
        return repr(r)
    if r is None:
        return "(nil)"
    if isinstance(r, bytes):  # a bulk string, always quoted (a status reply shows as +TEXT)
        return "%s...(%d bytes)" % (repr(r[:40])[1:], len(r)) if len(r) > 60 else repr(r)[1:]
    if isinstance(r, list):
        body = ", ".join(fmt_reply(x) for x in r[:limit])
        return "[%s%s]" % (body, ", ...(%d elements)" % len(r) if len(r) > limit else "")
    return repr(r)


# ---- the run -----------------------------------------------------------------------------------------------


class Run:
    def __init__(self, ref, sub, seed, types, count, check_every, max_diffs, replay):
        self.A, self.B = ref, sub  # reference (redis) and subject (strata)
        self.seed, self.types, self.count = seed, types, count
        self.check_every, self.max_diffs, self.replay = check_every, max_diffs, replay
        self.history = collections.defaultdict(lambda: collections.deque(maxlen=HISTORY))
        self.diffs = 0
        self.skipped = 0
        self.sent = collections.Counter()
        self.sent_cmd = collections.Counter()
        self.idx = 0

    def both(self, args):
        self.A.send(args)
        self.B.send(args)
        return self.A.read(), self.B.read()

    def spop(self, args):
        """SPOP: run on the subject only when it would remove members, check the reply against the
        reference's contents, then SREM the same members on the reference. (reply A, reply B, why)."""
        key = args[1]
        snap = self.A.call(b"SMEMBERS", key)
        count = args[2] if len(args) > 2 else None
        mutating = (isinstance(snap, list) and snap and len(args) <= 3
                    and (count is None or re.fullmatch(rb"[1-9][0-9]{0,8}", count)))
        if not mutating:  # an error, an empty key or a count of 0: nothing is removed, compare exactly
            ra, rb = self.both(args)
            return ra, rb, compare(b"SPOP", ra, rb)
        rb = self.B.call(*args)
        why = check_random_reply(rb, int(count) if count is not None else None, False, set(snap))
        if why:
            return self.A.call(*args), rb, "SPOP reply not valid: " + why
        popped = [rb] if count is None else rb
        self.A.call(b"SREM", key, *popped)
        return rb, rb, None

    def random_cmd(self, name, args):
        ra, rb = self.both(args)
        if isinstance(ra, Err) or isinstance(rb, Err) or type(ra) is not type(rb):
            return ra, rb, compare(name, ra, rb)
        count, paired = random_args(args)
        ca, cb = contents(self.A, name, args[1]), contents(self.B, name, args[1])
        why = check_random_reply(ra, count, paired, cb)
        if why:
            return ra, rb, "%s reply not valid for %s's contents: %s" % (self.A.name, self.B.name, why)
        why = check_random_reply(rb, count, paired, ca)
        if why:
            return ra, rb, "%s reply not valid for %s's contents: %s" % (self.B.name, self.A.name, why)
        return ra, rb, None

    def execute(self, args):
        name = args[0].upper()
        if name == b"SPOP" and len(args) >= 2:
            return self.spop(args)
        if name in RANDOM and len(args) >= 2:
            return self.random_cmd(name, args)
        src = lex_source(name, args)
        if src is not None:
            r = self.A.call(b"ZRANGE", src, b"0", b"-1", b"WITHSCORES")
            if isinstance(r, list) and len(set(r[1::2])) > 1:
                # Redis leaves lex ranges undefined when scores differ: not sent to either server
                self.skipped += 1
                return SKIPPED, SKIPPED, None
        if name == b"DBSIZE":
            # Redis counts keys whose expiry time passed (SET ... EXAT 1) until it reclaims them, at a
            # time of its own; a lookup of every key reclaims them first, so both count live keys.
            ea, eb = self.both([b"EXISTS"] + ALL_KEYS)
            if ea != eb:
                return ea, eb, "EXISTS of every key before DBSIZE differs"
        ra, rb = self.both(args)
        return ra, rb, compare(name, ra, rb)

    def print_history(self, keys):
        for key in keys:
            h = self.history.get(key)
            print("  previous commands on %s (oldest first):" % fmt_arg(key))
            if not h:
                print("    (none)")
            for i, cmd, reply, differed in h:
                print("    #%d %s -> %s%s" % (i, fmt_cmd(cmd), fmt_reply(reply, 8),
                                          "   (DIFFERED)" if differed else ""))

    def report(self, i, args, ra, rb, why, keys):
        print()
        print("DIFFERENCE at command #%d (seed %d): %s" % (i, self.seed, why))
        print("  command: %s" % fmt_cmd(args))
        print("  %-8s %s" % (self.A.name + ":", fmt_reply(ra)))
        print("  %-8s %s" % (self.B.name + ":", fmt_reply(rb)))
        self.print_history(keys)
        print("  replay: %s" % self.replay)

    def resync(self, keys):
        """Copies the keys from the reference to the subject (after a difference, --max-diffs > 1)."""
        for key in keys:
            t = self.A.call(b"TYPE", key)
            self.B.call(b"DEL", key)
            if t == Status(b"string"):
                self.B.call(b"SET", key, self.A.call(b"GET", key))
            elif t == Status(b"hash"):
                self.B.call(b"HSET", key, *self.A.call(b"HGETALL", key))
            elif t == Status(b"set"):
                self.B.call(b"SADD", key, *self.A.call(b"SMEMBERS", key))
            elif t == Status(b"list"):
                self.B.call(b"RPUSH", key, *self.A.call(b"LRANGE", key, b"0", b"-1"))
            elif t == Status(b"zset"):
                r = self.A.call(b"ZRANGE", key, b"0", b"-1", b"WITHSCORES")
                self.B.call(b"ZADD", key, *[x for p in zip(r[1::2], r[::2]) for x in p])
            else:
                continue
            pttl = self.A.call(b"PTTL", key)
            if isinstance(pttl, int) and pttl > 0:
                self.B.call(b"PEXPIRE", key, b"%d" % pttl)

    def dump(self, conn, key):
        t = conn.call(b"TYPE", key)
        cmd = {Status(b"string"): [b"GET", key], Status(b"hash"): [b"HGETALL", key],
               Status(b"set"): [b"SMEMBERS", key], Status(b"list"): [b"LRANGE", key, b"0", b"-1"],
               Status(b"zset"): [b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]}.get(t)
        if cmd is None:
            return t, None, None
        content = normalise(cmd[0], conn.call(*cmd))
        ttl = conn.call(b"TTL", key)
        return t, content, normalise(b"TTL", ttl)

    def check_state(self, when):
        """Compares KEYS * and every key's TYPE, TTL class and contents. Returns the number of
        differences (each one reported)."""
        found = 0
        ka = sorted(self.A.call(b"KEYS", b"*"), key=_sort_key)
        kb = self.B.call(b"KEYS", b"*")
        kb = sorted(kb, key=_sort_key) if isinstance(kb, list) else kb
        if ka != kb:
            print()
            print("STATE DIFFERENCE %s (seed %d): KEYS * differ" % (when, self.seed))
            print("  %-8s %s" % (self.A.name + ":", fmt_reply(ka, 100)))
            print("  %-8s %s" % (self.B.name + ":", fmt_reply(kb, 100)))
            print("  replay: %s" % self.replay)
            found += 1
        extra = [k for k in ka + (kb if isinstance(kb, list) else []) if k not in ALL_KEYS_SET]
        for key in ALL_KEYS + sorted(set(extra)):
            da, db = self.dump(self.A, key), self.dump(self.B, key)
            if da != db:
                print()
                print("STATE DIFFERENCE %s (seed %d): key %s" % (when, self.seed, fmt_arg(key)))
                print("  %-8s type %r, ttl %s, %s" % (self.A.name + ":", da[0], da[2], fmt_reply(da[1], 100)))
                print("  %-8s type %r, ttl %s, %s" % (self.B.name + ":", db[0], db[2], fmt_reply(db[1], 100)))
                self.print_history([key])
                print("  replay: %s" % self.replay)
                found += 1
                if self.diffs + found >= self.max_diffs:
                    break
                self.resync([key])
        return found

    def run(self, gen):
        t0 = time.monotonic()
        for t, args in gen.stream(self.count):
            i = self.idx = self.idx + 1
            keys = list(dict.fromkeys(a for a in args[1:] if a in ALL_KEYS_SET))
            self.sent[t] += 1
            self.sent_cmd[args[0].upper()] += 1
            try:
                ra, rb, why = self.execute(args)
            except (OSError, ConnectionError) as e:
                print()
                print("FAILURE at command #%d (seed %d): %s" % (i, self.seed, e))
                print("  command: %s" % fmt_cmd(args))
                self.print_history(keys)
                print("  replay: %s" % self.replay)
                self.diffs += 1
                return False
            if why:
                self.report(i, args, ra, rb, why, keys)
                self.diffs += 1
            for k in keys:
                self.history[k].append((i, args, ra, why is not None))
            if why:
                if self.diffs >= self.max_diffs:
                    return False
                self.resync(keys)
            if self.check_every and i % self.check_every == 0:
                self.diffs += self.check_state("after command #%d" % i)
                if self.diffs >= self.max_diffs:
                    return False
                print("  %d commands, state equal (%.1f s)" % (i, time.monotonic() - t0), flush=True)
        self.diffs += self.check_state("at the end (after command #%d)" % self.idx)
        return self.diffs == 0


# ---- main --------------------------------------------------------------------------------------------------


def parse_types(text):
    types = {t.strip().lower() for t in text.split(",") if t.strip()}
    bad = types - set(ALL_TYPES)
    if bad:
        sys.exit("unknown type(s) %s; known: %s" % (", ".join(sorted(bad)), ", ".join(ALL_TYPES)))
    types.add("generic")
    return [t for t in ALL_TYPES if t in types]


def start(launcher, redis_path):
    """Starts one server through st_itserver: redis-server when redis_path is set, else the default
    (strata-server, or whatever STRATA_IT_SERVER in our environment names)."""
    saved = os.environ.get("STRATA_IT_SERVER")
    try:
        if redis_path:
            os.environ["STRATA_IT_SERVER"] = redis_path
        p, port = itlaunch.start(launcher)
    finally:
        if saved is None:
            os.environ.pop("STRATA_IT_SERVER", None)
        else:
            os.environ["STRATA_IT_SERVER"] = saved
    return p, port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("launcher", help="the st_itserver binary")
    ap.add_argument("redis_server", nargs="?", default="", help="the redis-server binary")
    ap.add_argument("--seed", default=os.environ.get("STRATA_DIFF_SEED", str(DEFAULT_SEED)))
    ap.add_argument("--count", type=int, default=int(os.environ.get("STRATA_DIFF_COUNT", DEFAULT_COUNT)))
    ap.add_argument("--types", default=os.environ.get("STRATA_DIFF_TYPES", ",".join(sorted(ENABLED))))
    ap.add_argument("--self-check", action="store_true")
    ap.add_argument("--check-every", type=int, default=DEFAULT_CHECK_EVERY)
    ap.add_argument("--max-diffs", type=int, default=1)
    o = ap.parse_args()

    redis_path = o.redis_server
    if not redis_path or redis_path.endswith("-NOTFOUND") or not os.access(redis_path, os.X_OK):
        print("SKIP: redis-server not found (%r); the differential test needs one" % redis_path)
        sys.exit(77)
    seed = random.SystemRandom().randrange(1, 1 << 31) if o.seed == "random" else int(o.seed)
    types = parse_types(o.types)
    count = max(0, o.count)
    max_diffs = max(1, o.max_diffs)
    replay = "STRATA_DIFF_SEED=%d STRATA_DIFF_TYPES=%s %s %s %s %s --count %d%s" % (
        seed, ",".join(types), sys.executable, sys.argv[0], o.launcher, redis_path, count,
        " --self-check" if o.self_check else "")
    subject = "redis-B" if o.self_check else "strata"
    if not o.self_check and os.environ.get("STRATA_IT_SERVER"):
        print("note: STRATA_IT_SERVER=%s: the subject is that binary, not strata-server"
              % os.environ["STRATA_IT_SERVER"])
    print("differential test: seed %d, types %s, %d commands per type, %s vs %s"
          % (seed, ",".join(types), count, "redis" if not o.self_check else "redis-A", subject))
    print("replay: %s" % replay, flush=True)

    pa, port_a = start(o.launcher, redis_path)
    pb, port_b = start(o.launcher, redis_path if o.self_check else None)
    ok = False
    t0 = time.monotonic()
    run = None
    try:
        ref = Conn(port_a, "redis-A" if o.self_check else "redis")
        sub = Conn(port_b, subject)
        for c in (ref, sub):
            r = c.call(b"FLUSHALL")
            if r != Status(b"OK"):
                print("FAIL: FLUSHALL on %s answered %s" % (c.name, fmt_reply(r)))
                sys.exit(1)
        run = Run(ref, sub, seed, types, count, o.check_every, max_diffs, replay)
        ok = run.run(Gen(random.Random(seed), types))
        ref.close()
        sub.close()
    except Exception:  # a crash of the test itself is a failure; the servers still get stopped
        import traceback
        traceback.print_exc()
        ok = False
    finally:
        rc_b = itlaunch.stop(pb, 60)
        rc_a = itlaunch.stop(pa, 60)
    elapsed = time.monotonic() - t0
    if rc_b != 0 or rc_a != 0:
        print("FAIL: a server did not stop cleanly (%s: %s, redis: %s)" % (subject, rc_b, rc_a))
        ok = False
    if run:
        print()
        print("summary: seed %d, %d commands in %.1f s, %d difference(s)" % (seed, run.idx, elapsed, run.diffs))
        if run.skipped:
            print("  %d lex-range command(s) not sent: their sorted set had mixed scores" % run.skipped)
        print("  per type: %s" % ", ".join("%s %d" % (t, run.sent[t]) for t in types))
        print("  per command: %s" % ", ".join("%s %d" % (fmt_arg(k), v) for k, v in sorted(run.sent_cmd.items())))
    print("test_differential: %s" % ("PASSED" if ok else "FAILED (replay: %s)" % replay))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
