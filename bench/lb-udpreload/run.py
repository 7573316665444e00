#!/usr/bin/python3
# run.py - what a reload does to UDP flows whose backend it removes:
# tether-lb against nginx 1.22 stream (Debian nginx, libnginx-mod-stream;
# HAProxy 2.6 proxies no UDP) in one run, same backends, same clients.
# N clients each send one datagram to backend b0, which answers DELAY
# seconds late; while the answers are on their way the proxy reloads a
# configuration with b1 in place of b0. Printed per proxy: late answers
# that reached their client from the frontend address, the clients'
# next datagrams answered by b0 (the flow kept) or b1 (re-balanced),
# new clients sent to the removed b0, how long after the reload the old
# generation was gone (tether-lb: the "replaced configuration was
# freed" log line; nginx: its old worker process exited), and RSS
# before the reload and after. Behaviour, not speed: the figures do not
# depend on the machine's load, except the times.
# Usage: run.py TETHER_LB [--clients N] [--delay S] [--idle S]
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# The late-answering UDP backend of the integration tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "integration"))
from lb_test import LateUdpBackend as LateBackend  # noqa: E402

NGINX_STREAM = "/usr/lib/nginx/modules/ngx_stream_module.so"


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def free_port():
    """A port free for UDP on 127.0.0.1..3, below the ephemeral range."""
    import random
    while True:
        p = random.randint(20000, 32000)
        ok = True
        for a in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((a, p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return p


def rss_kib(pids):
    tot = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        tot += int(line.split()[1])
        except OSError:
            pass
    return tot


def children(pid):
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


class Tether:
    name = "tether-lb"

    def __init__(self, exe, d, port, bport, idle):
        self.d, self.port, self.bport, self.idle = d, port, bport, idle
        self.conf = os.path.join(d, "lb.conf")
        self.write("127.0.0.2")
        self.err = open(os.path.join(d, "lb.err"), "w+")
        self.proc = subprocess.Popen([exe, "-d", "-f", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        self.wait_log("started:", 1)

    def write(self, backend):
        with open(self.conf, "w") as f:
            f.write("service s {\n    listen 127.0.0.1:%d udp\n"
                    "    backend b %s:%d\n    limits idle-timeout %ds\n}\n"
                    % (self.port, backend, self.bport, self.idle))

    def text(self):
        self.err.flush()
        with open(self.err.name) as f:
            return f.read()

    def wait_log(self, s, n, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            if self.text().count(s) >= n:
                return True
            time.sleep(0.01)
        return False

    def reload(self):
        self.write("127.0.0.3")
        self.proc.send_signal(signal.SIGHUP)
        if not self.wait_log("reloaded:", 1):
            raise RuntimeError("tether-lb did not reload: " + self.text())

    def old_gone(self):
        return "replaced configuration was freed" in self.text()

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        self.err.close()


class Nginx:
    name = "nginx"

    def __init__(self, d, port, bport, idle):
        self.d, self.port, self.bport, self.idle = d, port, bport, idle
        self.conf = os.path.join(d, "nginx.conf")
        self.write("127.0.0.2")
        self.proc = subprocess.Popen(
            ["nginx", "-p", d, "-e", os.path.join(d, "err"), "-c",
             self.conf], stdin=subprocess.DEVNULL)
        end = time.time() + 10
        while len(children(self.proc.pid)) < 1 and time.time() < end:
            time.sleep(0.02)
        time.sleep(0.3)
        self.old = children(self.proc.pid)

    def write(self, backend):
        with open(self.conf, "w") as f:
            f.write("""load_module %s;
worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log %s/err warn;
events { worker_connections 4096; }
stream {
    server {
        listen 127.0.0.1:%d udp;
        proxy_pass %s:%d;
        proxy_timeout %ds;
    }
}
""" % (NGINX_STREAM, self.d, self.d, self.port, backend, self.bport,
       self.idle))

    def reload(self):
        self.write("127.0.0.3")
        self.proc.send_signal(signal.SIGHUP)
        end = time.time() + 10
        while time.time() < end:
            if [c for c in children(self.proc.pid) if c not in self.old]:
                time.sleep(0.05)
                return
            time.sleep(0.01)
        raise RuntimeError("nginx started no new worker")

    def old_gone(self):
        return not [c for c in children(self.proc.pid) if c in self.old]

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def scenario(px, port, b0, b1, n, delay, idle):
    clients = []
    for i in range(n):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.%d.%d" % (1 + i // 250, 1 + i % 250), 0))
        u.settimeout(0.05)
        clients.append(u)
    r = {}
    try:
        for u in clients:
            u.sendto(b"q", ("127.0.0.1", port))
        end = time.time() + 5
        while len(b0.received) < n and time.time() < end:
            time.sleep(0.005)
        if len(b0.received) < n:
            raise RuntimeError("%s: b0 got %d of %d" %
                               (px.name, len(b0.received), n))
        rss0 = rss_kib(px.pids())
        t0 = time.time()
        px.reload()
        r["reload_s"] = time.time() - t0
        if r["reload_s"] > delay * 0.8:
            raise RuntimeError("reload slower than the backend's delay")

        def collect(msg, wait):
            got = {}
            end = time.time() + wait
            while time.time() < end and len(got) < n:
                for i, u in enumerate(clients):
                    if i in got:
                        continue
                    try:
                        d, peer = u.recvfrom(65536)
                    except (socket.timeout, BlockingIOError):
                        continue
                    except OSError:
                        continue
                    if peer == ("127.0.0.1", port) and \
                            d.endswith(b":" + msg):
                        got[i] = d.split(b":")[0].decode()
            return got

        for u in clients:
            u.settimeout(0.001)
        late = collect(b"q", delay + 2)
        r["late"] = len(late)
        for u in clients:
            u.sendto(b"again", ("127.0.0.1", port))
        again = collect(b"again", delay + 2)
        r["again_b0"] = sum(1 for v in again.values() if v == "b0")
        r["again_b1"] = sum(1 for v in again.values() if v == "b1")
        before = len(b0.received)
        fresh = []
        for i in range(20):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.200.%d" % (1 + i), 0))
            fresh.append(u)
            u.sendto(b"new", ("127.0.0.1", port))
        time.sleep(0.3)
        for u in fresh:
            u.close()
        r["new_to_b0"] = len(b0.received) - before
        r["rss_before"] = rss0
        r["rss_during"] = rss_kib(px.pids())
        end = time.time() + idle + delay + 10
        while not px.old_gone() and time.time() < end:
            time.sleep(0.05)
        r["old_gone_s"] = time.time() - t0 if px.old_gone() else None
        r["rss_after"] = rss_kib(px.pids())
    finally:
        for u in clients:
            u.close()
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tether_lb")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--delay", type=float, default=1.0)
    ap.add_argument("--idle", type=int, default=3)
    a = ap.parse_args()
    if shutil.which("nginx") is None or not os.path.exists(NGINX_STREAM):
        log("nginx or its stream module missing (scripts/deps bench)")
        return 1
    results = {}
    for kind in ("tether-lb", "nginx"):
        d = tempfile.mkdtemp(prefix="lb-udpreload.%d." % os.getpid())
        port, bport = free_port(), free_port()
        b0 = LateBackend("b0", "127.0.0.2", bport, a.delay)
        b1 = LateBackend("b1", "127.0.0.3", bport, 0)
        px = None
        try:
            if kind == "tether-lb":
                px = Tether(a.tether_lb, d, port, bport, a.idle)
            else:
                px = Nginx(d, port, bport, a.idle)
            results[kind] = scenario(px, port, b0, b1, a.clients,
                                     a.delay, a.idle)
        finally:
            if px is not None:
                px.stop()
            b0.stop()
            b1.stop()
            shutil.rmtree(d, ignore_errors=True)
    rows = [("late answers delivered (of %d)" % a.clients, "late"),
            ("next datagram answered by b0 (flow kept)", "again_b0"),
            ("next datagram answered by b1 (re-balanced)", "again_b1"),
            ("new clients sent to the removed b0 (of 20)", "new_to_b0"),
            ("old generation gone after (s)", "old_gone_s"),
            ("reload took (s)", "reload_s"),
            ("RSS KiB before the reload", "rss_before"),
            ("RSS KiB with the kept flows", "rss_during"),
            ("RSS KiB after the old generation went", "rss_after")]
    print("%-44s %10s %10s" % ("UDP reload, backend removed", "tether-lb",
                                "nginx"))
    for label, key in rows:
        vals = []
        for kind in ("tether-lb", "nginx"):
            v = results[kind][key]
            vals.append("-" if v is None else
                        "%.2f" % v if isinstance(v, float) else str(v))
        print("%-44s %10s %10s" % (label, vals[0], vals[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
