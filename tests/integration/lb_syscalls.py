#!/usr/bin/python3
# lb_syscalls.py - system calls tether-lb spends on one proxied
# connection, counted with strace (integration). The backend answers and
# closes while tether-lb is stopped (SIGSTOP), so the reply and its FIN
# are both queued when it runs again: tether-lb must take the end of the
# stream from the short read that returns the reply, without a second
# recv that returns 0. Only the client's FIN then costs a zero read. And
# no setsockopt(TCP_NODELAY) per accepted connection.
# Usage: lb_syscalls.py TETHER_LB
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lb_test  # noqa: E402  (free_ports, tmpdir, fail)

N = 5
REPLY = b"R" * 3000


def lb_pid(lb, conf):
    """The traced tether-lb: the process whose command line is ours
    (strace's own command line starts with strace)."""
    want = [lb, "-d", "-f", conf]
    end = time.time() + 5
    while time.time() < end:
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().decode(errors="replace").split("\0")
            except OSError:
                continue
            if argv[:4] == want:
                return int(d)
        time.sleep(0.02)
    lb_test.fail("tether-lb did not start under strace")


def stopped(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: lb_syscalls.py TETHER_LB\n")
        return 2
    lb = sys.argv[1]
    p, q = lb_test.free_ports(2)
    d = lb_test.tmpdir()
    conf = os.path.join(d, "lb.conf")
    with open(conf, "w") as f:
        f.write("log-level info\nservice s {\n    listen 127.0.0.1:%d\n"
                "    backend b 127.0.0.2:%d\n}\n" % (p, q))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.2", q))
    ls.listen(16)
    trace = os.path.join(d, "trace")
    err = open(os.path.join(d, "stderr"), "w+")
    st = subprocess.Popen(["strace", "-f", "-qq", "-e",
                           "trace=recvfrom,setsockopt",
                           "-o", trace, lb, "-d", "-f", conf],
                          stdout=subprocess.DEVNULL, stderr=err)
    pid = None
    try:
        end = time.time() + 10
        while True:
            err.flush()
            with open(err.name) as f:
                if "started:" in f.read():
                    break
            if time.time() > end or st.poll() is not None:
                lb_test.fail("tether-lb did not start")
            time.sleep(0.05)
        pid = lb_pid(lb, conf)
        for i in range(N):
            c = socket.create_connection(("127.0.0.1", p), timeout=5)
            c.sendall(b"REQ\n")
            b, _ = ls.accept()
            b.settimeout(5)
            got = b""
            while not got.endswith(b"\n"):
                chunk = b.recv(64)
                if not chunk:
                    lb_test.fail("backend: EOF before the request")
                got += chunk
            os.kill(pid, signal.SIGSTOP)
            end = time.time() + 5
            while not stopped(pid):
                if time.time() > end:
                    lb_test.fail("tether-lb did not stop")
                time.sleep(0.01)
            b.sendall(REPLY)
            b.close()
            time.sleep(0.1)     # reply and FIN reach tether-lb's socket
            os.kill(pid, signal.SIGCONT)
            buf = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
            if buf != REPLY:
                lb_test.fail("connection %d: %d bytes of %d" % (
                    i, len(buf), len(REPLY)))
            c.close()
        end = time.time() + 5
        while True:
            err.flush()
            with open(err.name) as f:
                if f.read().count("end=closed") >= N:
                    break
            if time.time() > end:
                lb_test.fail("not every connection was logged closed")
            time.sleep(0.05)
    finally:
        if st.poll() is None:
            try:
                if pid is not None:
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGTERM)
                else:
                    st.terminate()
            except ProcessLookupError:
                pass
            try:
                st.wait(10)
            except subprocess.TimeoutExpired:
                st.kill()
                st.wait()
        ls.close()
    with open(trace) as f:
        traced = f.readlines()
    lines = [ln for ln in traced if "recvfrom(" in ln]
    # TCP_NODELAY: set once on the listener and on each backend socket;
    # an accepted socket inherits it from the listener, so no setsockopt
    # per accept (lb_test.py's nodelay checks that both sockets end up
    # with it).
    nodelay = [ln for ln in traced if "setsockopt(" in ln and
               "TCP_NODELAY" in ln]
    if len(nodelay) != N + 1:
        lb_test.fail("%d setsockopt(TCP_NODELAY) for %d connections "
                     "(expected %d: the listener's and one per backend "
                     "socket, none per accepted one):\n%s" % (
                         len(nodelay), N, N + 1, "".join(nodelay)))
    zero = [ln for ln in lines if ln.rstrip().endswith("= 0")]
    full = [ln for ln in lines if ln.rstrip().endswith("= %d" % len(REPLY))]
    if len(full) < N:
        lb_test.fail("strace saw %d reads of the reply, expected %d:\n%s" % (
            len(full), N, "".join(lines)))
    # One zero read per connection: the client's FIN. The backend's FIN
    # came with the reply.
    if len(zero) != N:
        lb_test.fail("%d reads returned 0 for %d connections (expected "
                     "%d: the backend's FIN must be taken from the short "
                     "read):\n%s" % (len(zero), N, N, "".join(lines)))
    print("ok syscalls: %d recvfrom for %d connections, %d of them 0; "
          "%d setsockopt(TCP_NODELAY)" % (len(lines), N, len(zero),
                                          len(nodelay)))
    return 0


if __name__ == "__main__":
    try:
        rc = main()
    except AssertionError as e:
        sys.stderr.write("FAIL syscalls: %s\n" % e)
        rc = 1
    finally:
        import shutil
        for t in lb_test.TMPDIRS:
            shutil.rmtree(t, ignore_errors=True)
    sys.exit(rc)
