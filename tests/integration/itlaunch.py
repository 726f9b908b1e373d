"""itlaunch.py -- start and stop a strata-server through st_itserver, for the Python integration tests.

st_itserver (tests/integration/itserver.c) starts the server on a free loopback port with a temporary
directory, prints "PORT DATA_DIR" once it answers PING, and stops it cleanly when its stdin closes."""
import select
import subprocess
import sys


def start(launcher, args=()):
    """Starts the server with args; returns (process, port). Exits 1 if it does not come up in 60 s."""
    p = subprocess.Popen([launcher] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready, _, _ = select.select([p.stdout], [], [], 60)
    line = p.stdout.readline().decode() if ready else ""
    if not line:
        p.kill()
        p.wait(10)
        print("FAIL: the server did not start")
        sys.exit(1)
    return p, int(line.split()[0])


def stop(p, timeout=120):
    """Closes the launcher's stdin (it stops the server) and returns its exit status, or "timeout"."""
    p.stdin.close()
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return "timeout"
