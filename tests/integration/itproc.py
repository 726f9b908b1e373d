"""itproc.py -- processes and ports for the Python integration tests that start their own servers
(test_scaleout.py, test_sst_tool.py), with the C harness's rules (tests/util/server_harness.h):

  - Ports: free loopback ports, each locked on byte `port` of ${TMPDIR:-/tmp}/strata-it-ports.lock.
    strata-server binds with SO_REUSEPORT, so two tests that picked the same port would both bind
    it and split each other's connections. The locks are POSIX record locks of this process (they
    conflict with the harness's OFD locks) and last until close().
  - spawn: a child that dies with the test (PR_SET_PDEATHSIG), its output appended to a log file.
  - end: SIGTERM, then SIGKILL past a deadline; every wait is bounded.
"""
import ctypes
import fcntl
import os
import signal
import socket
import subprocess


class NoFreePort(Exception):
    """Every port picked was taken."""


def die_with_parent():
    # Runs in the child before exec: a test killed by a CTest timeout takes its servers with it.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Ports:
    def __init__(self, picks=64, error=NoFreePort):
        self.picks = picks
        self.error = error  # raised when every pick is taken
        path = os.path.join(os.environ.get("TMPDIR") or "/tmp", "strata-it-ports.lock")
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError:
            self.fd = -1  # no locking possible: the "in use" retry still protects most cases
        self.taken = set()

    def pick(self):
        for _ in range(self.picks):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port in self.taken:
                continue
            if self.fd >= 0:
                try:
                    fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port, os.SEEK_SET)
                except OSError:
                    continue  # another test process holds this port
            self.taken.add(port)
            return port
        raise self.error("no free port after %d picks" % self.picks)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
        self.fd = -1


def log_tail(path, keep=16 << 10):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - keep))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def spawn(argv, log_path, banner, who):
    """Starts argv with stdout and stderr appended to log_path, after a banner line naming `who`
    (the test) and `banner` (the process)."""
    with open(log_path, "ab") as log:
        log.write(("---- %s: %s: %s\n" % (who, banner, " ".join(argv))).encode())
        log.flush()
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=die_with_parent)


def end(p, deadline_s):
    """SIGTERM, then waits; SIGKILL past the deadline. Returns the exit status or "timeout"."""
    if p is None or p.poll() is not None:
        return None if p is None else p.returncode
    p.terminate()
    try:
        return p.wait(deadline_s)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(10)
        return "timeout"
