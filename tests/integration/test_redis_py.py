#!/usr/bin/env python3
"""test_redis_py.py ST_ITSERVER -- a smoke test of strata-server with redis-py (Debian python3-redis).

Starts a server through st_itserver (the C harness: free loopback port, temporary directory,
clean SIGTERM stop) and uses the ordinary redis-py API: set/get with options, incr, expire/ttl,
scan_iter, mget/mset, a pipeline, binary values, INFO/CLIENT LIST/CONFIG parsed by redis-py, and
RESP3 via protocol=3 when the installed redis-py has it (5.0 and later).
Exit: 0 passed, 1 failed, 77 redis-py is not installed (CTest SKIP)."""
import inspect
import os
import sys
import time

import itlaunch

try:
    import redis
except ImportError:
    print("SKIP: the redis module (python3-redis) is not installed for", sys.executable)
    sys.exit(77)

failures = []


def check(desc, want, got):
    if want == got:
        print("ok:", desc)
    else:
        print("FAIL: %s\n  want: %r\n  got:  %r" % (desc, want, got))
        failures.append(desc)


def stop(p):
    check("server stops cleanly", 0, itlaunch.stop(p, 60))


def smoke(port):
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, decode_responses=True)
    check("ping", True, r.ping())
    check("flushall", True, r.flushall())
    check("set/get", True, r.set("k", "v"))
    check("get", "v", r.get("k"))
    check("get missing", None, r.get("missing"))
    check("set nx on existing", None, r.set("k", "x", nx=True))
    check("set xx", True, r.set("k", "v2", xx=True))
    check("set get=True", "v2", r.set("k", "v3", get=True))
    check("set px", True, r.set("p", "1", px=100000))
    ttl = r.pttl("p")
    check("pttl in range", True, 98000 <= ttl <= 100000)
    check("incr", 1, r.incr("n"))
    check("incrby", 11, r.incrby("n", 10))
    check("decr", 10, r.decr("n"))
    check("incrbyfloat", 10.5, r.incrbyfloat("n", 0.5))
    try:
        r.incr("k")
        check("incr on a non-integer raises", "ResponseError", "no error")
    except redis.exceptions.ResponseError as e:
        check("incr on a non-integer", "value is not an integer or out of range", str(e))
    check("expire", True, r.expire("k", 100))
    check("ttl", True, 98 <= r.ttl("k") <= 100)
    check("persist", True, r.persist("k"))
    check("ttl after persist", -1, r.ttl("k"))
    check("ttl of a missing key", -2, r.ttl("missing"))
    check("getex", "v3", r.getex("k", ex=50))
    check("ttl after getex", True, 48 <= r.ttl("k") <= 50)
    check("append", 5, r.append("ap", "hello"))
    check("getrange", "ell", r.getrange("ap", 1, 3))
    check("setrange", 5, r.setrange("ap", 0, "J"))
    check("strlen", 5, r.strlen("ap"))
    check("getdel", "Jello", r.getdel("ap"))
    check("exists", 0, r.exists("ap"))
    check("type", "string", r.type("k"))
    check("rename", True, r.rename("k", "k2"))
    check("renamenx onto an existing key", False, r.renamenx("k2", "p"))
    check("mset", True, r.mset({"m1": "a", "m2": "b", "m3": "c"}))
    check("mget with a missing key", ["a", None, "c"], r.mget("m1", "nope", "m3"))
    check("msetnx refused", False, r.msetnx({"m1": "x", "m9": "y"}))
    check("delete", 2, r.delete("m1", "m2", "nope"))

    # scan_iter over 500 keys
    pipe = r.pipeline(transaction=False)
    for i in range(500):
        pipe.set("scan:%d" % i, i)
    check("pipeline of 500 sets", [True] * 500, pipe.execute())
    keys = list(r.scan_iter(match="scan:*", count=50))
    check("scan_iter sees each key once", 500, len(keys))
    check("scan_iter sees every key", set("scan:%d" % i for i in range(500)), set(keys))
    check("keys pattern", ["scan:42"], sorted(r.keys("scan:42")))
    check("dbsize", 500 + 4, r.dbsize())  # k2 p n m3

    # a pipeline mixing reads and writes, replies in order
    pipe = r.pipeline(transaction=False)
    pipe.set("pl", 1).incr("pl").get("pl").expire("pl", 30).ttl("pl").delete("pl").exists("pl")
    res = pipe.execute()
    check("pipeline replies in order", [True, 2, "2", True, 30, 1, 0], res[:4] + [min(res[4], 30)] + res[5:])

    # binary values
    b = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
    blob = bytes(range(256)) * 40 + b"\r\n\x00end"
    check("binary set", True, b.set(b"bin\x00key", blob))
    check("binary get", blob, b.get(b"bin\x00key"))
    big = os.urandom(1 << 20)
    check("1 MiB set", True, b.set("big", big))
    check("1 MiB get", big, b.get("big"))

    # databases
    r1 = redis.Redis(host="127.0.0.1", port=port, db=1, socket_timeout=10, decode_responses=True)
    check("db 1 set", True, r1.set("k2", "db1"))
    check("db 1 value", "db1", r1.get("k2"))
    check("db 0 value", "v3", r.get("k2"))
    check("flushdb in db 1", True, r1.flushdb())
    check("db 0 untouched", "v3", r.get("k2"))

    # server commands, parsed by redis-py
    info = r.info()
    check("info has redis_version", True, "redis_version" in info)
    check("info keyspace db0 keys", r.dbsize(), info.get("db0", {}).get("keys"))
    check("info server section", True, "redis_version" in r.info("server") and "connected_clients" not in r.info("server"))
    check("client_setname", True, r.client_setname("py"))
    check("client_getname", "py", r.client_getname())
    mine = [c for c in r.client_list() if c.get("name") == "py"]
    check("client_list parses and shows us", 1, len(mine))
    check("client_id", True, isinstance(r.client_id(), int))
    check("config_get", {"maxclients": "10000"}, r.config_get("maxclients"))
    check("config_set", True, r.config_set("timeout", 0))
    secs, usecs = r.time()
    check("time", True, abs(secs - time.time()) < 5 and 0 <= usecs < 1000000)
    check("command_count", True, r.command_count() > 50)
    check("randomkey is a key", True, r.exists(r.randomkey()) == 1)
    check("echo", "hi", r.echo("hi"))

    # HELLO: RESP3 through protocol=3 when this redis-py has it
    hello2 = r.execute_command("HELLO", "2")
    as_dict = dict(zip(hello2[::2], hello2[1::2])) if isinstance(hello2, list) else hello2
    check("HELLO 2 proto", 2, as_dict.get("proto"))
    if "protocol" in inspect.signature(redis.Redis.__init__).parameters:
        r3 = redis.Redis(host="127.0.0.1", port=port, protocol=3, socket_timeout=10, decode_responses=True)
        check("RESP3 ping", True, r3.ping())
        check("RESP3 get missing", None, r3.get("missing"))
        check("RESP3 set/get", "x", (r3.set("r3", "x"), r3.get("r3"))[1])
        check("RESP3 config_get is a map", {"maxclients": "10000"}, r3.config_get("maxclients"))
        check("RESP3 info", True, "redis_version" in r3.info())
    else:
        print("note: redis-py %s has no protocol=3 (added in 5.0); RESP3 is covered by test_server_proto"
              % redis.__version__)


def main():
    launcher = sys.argv[1]
    p, port = itlaunch.start(launcher)
    try:
        smoke(port)
    except Exception as e:  # a crash of the test is a failure, with the server still stopped
        import traceback
        traceback.print_exc()
        failures.append("exception: %r" % (e,))
    finally:
        stop(p)
    if failures:
        print("test_redis_py: %d check(s) FAILED" % len(failures))
        sys.exit(1)
    print("test_redis_py: all checks passed (redis-py %s)" % redis.__version__)


if __name__ == "__main__":
    main()
