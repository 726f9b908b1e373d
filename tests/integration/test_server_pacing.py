#!/usr/bin/env python3
"""test_server_pacing.py ST_ITSERVER -- write slowdowns park the writing connection, not its worker.

One worker, tiny memtables, and level-0 triggers of 30 tables. SAVE flushes a memtable into one
level-0 table, so 29 rounds of SET + SAVE leave 29 tables and the 30th makes writes slow down
(delayed_write_rate 16 KiB/s) while a compaction of 60 MB merges them. A writer then pipelines two
SETs of 64 KiB: the first goes at once and takes four seconds of the schedule, so the second waits
for its slot with its connection parked on a timer. Meanwhile a second client on the same worker
gets PING and GET answered before the writer's second reply exists: the worker is not asleep.
The second write then lands, in order, and INFO counts the slowdowns.
Raw sockets and RESP by hand: nothing but python3 is needed.
Exit: 0 passed, 1 failed."""
import os
import select
import socket
import sys
import time

import itlaunch

failures = []


def check(desc, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + desc + ("" if ok else "\n  " + str(detail)))
    if not ok:
        failures.append(desc)


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return False
        chunk = self.s.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk
        return True

    def reply(self, timeout=30):
        """One RESP2 reply (simple, error, integer, bulk); None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if b"\r\n" in self.buf:
                line, rest = self.buf.split(b"\r\n", 1)
                kind = line[:1]
                if kind in (b"+", b"-", b":"):
                    self.buf = rest
                    return line
                if kind == b"$":
                    n = int(line[1:])
                    if n < 0:
                        self.buf = rest
                        return None
                    if len(rest) >= n + 2:
                        self.buf = rest[n + 2:]
                        return rest[:n]
            left = deadline - time.monotonic()
            if left <= 0 or not self._fill(left):
                return "timeout"

    def call(self, *args):
        self.send(command(*args))
        return self.reply()


def info_field(c, name):
    text = c.call("INFO", "storage")
    for line in text.decode().splitlines() if isinstance(text, bytes) else []:
        if line.startswith(name + ":"):
            return int(line.split(":", 1)[1])
    return None


def main():
    launcher = sys.argv[1]
    p, port = itlaunch.start(launcher, ["--workers", "1", "--appendfsync", "no", "--write-buffer", "4MiB",
                               "--level0-file-num-compaction-trigger", "30",
                               "--level0-slowdown-writes-trigger", "30",
                               "--level0-stop-writes-trigger", "1000", "--delayed-write-rate", "16KiB"])
    try:
        a = Conn(port)
        big = os.urandom(2 << 20)
        for i in range(29):
            a.call("SET", "fill%d" % i, big)
            check_save = a.call("SAVE")
            if check_save != b"+OK":
                check("SAVE %d" % i, False, check_save)
                return
        check("29 level-0 tables, nothing slowed yet",
              info_field(a, "level0_files") == 29 and info_field(a, "engine_write_slowdowns") == 0,
              (info_field(a, "level0_files"), info_field(a, "engine_write_slowdowns")))
        a.call("SET", "fill29", big)
        check("the 30th table", a.call("SAVE") == b"+OK")

        v1, v2 = os.urandom(64 << 10), os.urandom(64 << 10)
        a.send(command("SET", "w1", v1) + command("SET", "w2", v2))
        check("first paced write goes at once", a.reply(timeout=30) == b"+OK")
        b = Conn(port)
        check("PING on the same worker while a write is parked", b.call("PING") == b"+PONG")
        check("GET on the same worker while a write is parked", b.call("GET", "fill3") == big)
        pending = a.reply(timeout=0.05)
        check("the parked write has not been answered yet", pending == "timeout", pending)
        second = pending if pending != "timeout" else a.reply(timeout=60)
        check("the parked write lands after its slot", second == b"+OK", second)
        check("its value is stored", b.call("GET", "w2") == v2)
        check("earlier write intact", b.call("GET", "w1") == v1)
        slow = info_field(b, "engine_write_slowdowns")
        check("INFO counts the slowdowns", slow is not None and slow >= 2, slow)
    finally:
        rc = itlaunch.stop(p)
        check("server stops cleanly", rc == 0, rc)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


main()
