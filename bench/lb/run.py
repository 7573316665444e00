#!/usr/bin/python3
# run.py - tether-lb against HAProxy 2.6 (mode tcp) and nginx 1.22 stream
# in one run: same nginx backend, same load generators (wrk, iperf3),
# proxy pinned to CPU 0 and load generator to CPU 1. Prints req/s or
# Mbit/s per row, the ratio to direct, tether/best-peer, CPU time of each
# proxy per unit, and RSS for N idle proxied connections.
# Usage: run.py TETHER_LB [--duration S] [--rounds N] [--idle N]
#               [--rows 1,2,..] [--splice on|off] [--no-idle]
#               [--half-close-off] [--io-uring] [--kernel-relay]
#               [--floor FLOOR]
#               [--floor-uring FLOOR] [--floor-sockmap FLOOR]
#               [--backend-cpu N]
# --io-uring adds tether-lb with `io-uring on` (its io_uring data path).
# --kernel-relay adds tether-krelay: tether-lb with `io-uring on` and
# `kernel-relay on` (long sessions move to a BPF sockmap and the kernel
# relays their bytes; needs root: CAP_BPF and CAP_NET_ADMIN). Its CPU
# column counts only the process, not the kernel's softirq and kworker
# time, like floor-sockmap's.
# --half-close-off adds tether-lb with `half-close off` (nginx stream's
# default) as a second tether column. --floor/--floor-uring add the
# floor relays of floor.c: the least a user-space relay can do per
# request (epoll, and io_uring), so the table shows how far above the
# peers any user-space proxy could get on this machine.
# --floor-sockmap adds floor.c's kernel relay (a BPF sockmap redirects
# the bytes; user space only connects and closes): its CPU column counts
# only the process, not the kernel's softirq and kworker time.
import argparse
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NGINX_STREAM = "/usr/lib/nginx/modules/ngx_stream_module.so"
BIG = 10 << 20
PROXY_CPU = "0"
LOAD_CPU = "1"
BACKEND_CPU = None
PROCS = []
NOFILE = 20000		# set by main from RLIMIT_NOFILE
MAXCONN = 9900		# proxied connections the fd limit allows
# The global lines of the tether-krelay column (--kernel-relay).
KRELAY_GLOB = "io-uring on\nkernel-relay on\n"


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def port_free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(used=set()):
    """A free port below the ephemeral range (self-connect flakes)."""
    import random
    while True:
        p = random.randint(20000, 32000)
        if p not in used and port_free(p):
            used.add(p)
            return p


def start(argv, cpu=None, **kw):
    if cpu is not None:
        argv = ["taskset", "-c", cpu] + argv
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kw)
    PROCS.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in PROCS:
        PROCS.remove(p)


def listening(port):
    """Whether a socket listens on port (read from /proc: connecting
    would disturb iperf3)."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and \
               int(fields[1].split(":")[1], 16) == port:
                return True
    return False


def wait_port(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d" % (proc.args,
                                                     proc.returncode))
        if listening(port):
            return
        time.sleep(0.05)
    raise RuntimeError("nothing listens on %d" % port)


def children(pid):
    """pid and its descendants (nginx master and worker)."""
    out = [pid]
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                for c in f.read().split():
                    out += children(int(c))
    except OSError:
        pass
    return out


def cpu_seconds(pid):
    tot = 0.0
    pids = children(pid)
    if pid in FLOOR_PAIRS:
        pids.append(FLOOR_PAIRS[pid])
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            tot += (int(fields[11]) + int(fields[12]))
        except OSError:
            pass
    return tot / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    tot = 0
    for p in children(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        tot += int(line.split()[1])
        except OSError:
            pass
    return tot


def real_pid(proc):
    """The proxy under taskset: taskset execs, so the pid is the same."""
    return proc.pid


# ------------------------------------------------------------ backends


def start_backend(d, port):
    root = os.path.join(d, "www")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "small"), "wb") as f:
        f.write(b"x" * 100)
    with open(os.path.join(root, "big"), "wb") as f:
        f.write(os.urandom(1 << 20) * 10)
    conf = os.path.join(d, "backend.conf")
    with open(conf, "w") as f:
        f.write("""worker_processes 1;
daemon off;
master_process off;
pid %(d)s/backend.pid;
error_log %(d)s/backend.err warn;
worker_rlimit_nofile %(nofile)d;
events { worker_connections 30000; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_temp_path %(d)s/t1;
    proxy_temp_path %(d)s/t2;
    fastcgi_temp_path %(d)s/t3;
    uwsgi_temp_path %(d)s/t4;
    scgi_temp_path %(d)s/t5;
    server {
        listen 127.0.0.1:%(p)d backlog=4096;
        root %(root)s;
    }
}
""" % {"d": d, "p": port, "root": root, "nofile": NOFILE})
    p = start(["nginx", "-p", d, "-e", os.path.join(d, "backend.err"),
               "-c", conf], cpu=BACKEND_CPU)
    wait_port(port, p)
    return p


def start_iperf(port):
    p = start(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    return p


# ------------------------------------------------------------ proxies


def start_tether(lb, d, port, http, iperf_port, iperf_be, splice,
                 tag="tether-lb", glob=""):
    conf = os.path.join(d, "%s.conf" % tag)
    with open(conf, "w") as f:
        f.write(glob + """log-level warn
max-conns 40000
service web {
    listen 127.0.0.1:%d
    backend b1 127.0.0.1:%d
    limits backlog 4096 idle-timeout 10m
    %s
}
service bulk {
    listen 127.0.0.1:%d
    backend b1 127.0.0.1:%d
    limits idle-timeout 10m
    %s
}
""" % (port, http, splice, iperf_port, iperf_be, splice))
    p = start([lb, "-d", "-f", conf], cpu=PROXY_CPU,
              stdout=subprocess.DEVNULL,
              stderr=open(os.path.join(d, "%s.err" % tag), "w"))
    wait_port(port, p)
    return p


def start_floor(exe, port, http, iperf_port, iperf_be):
    """floor.c has one backend per process: one for HTTP, one for
    iperf3. The first is returned (CPU is summed over both by the
    caller through FLOOR_PAIRS)."""
    p = start([exe, str(port), str(http)], cpu=PROXY_CPU)
    q = start([exe, str(iperf_port), str(iperf_be)], cpu=PROXY_CPU)
    wait_port(port, p)
    wait_port(iperf_port, q)
    FLOOR_PAIRS[p.pid] = q.pid
    return p


FLOOR_PAIRS = {}


def start_haproxy(d, port, http, iperf_port, iperf_be):
    conf = os.path.join(d, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write("""global
    maxconn %(mc)d
    nbthread 1
defaults
    mode tcp
    maxconn %(mc)d
    timeout connect 5s
    timeout client 10m
    timeout server 10m
frontend web
    bind 127.0.0.1:%(p)d
    backlog 4096
    default_backend web
backend web
    server b1 127.0.0.1:%(h)d
frontend bulk
    bind 127.0.0.1:%(ip)d
    default_backend bulk
backend bulk
    server b1 127.0.0.1:%(ib)d
""" % {"p": port, "h": http, "ip": iperf_port, "ib": iperf_be,
       "mc": MAXCONN})
    p = start(["haproxy", "-db", "-f", conf], cpu=PROXY_CPU,
              stdout=subprocess.DEVNULL,
              stderr=open(os.path.join(d, "haproxy.err"), "w"))
    wait_port(port, p)
    return p


def start_nginx(d, port, http, iperf_port, iperf_be):
    conf = os.path.join(d, "nginx-stream.conf")
    with open(conf, "w") as f:
        f.write("""load_module %(mod)s;
worker_processes 1;
daemon off;
master_process off;
pid %(d)s/stream.pid;
error_log %(d)s/stream.err warn;
worker_rlimit_nofile %(nofile)d;
events { worker_connections %(mc2)d; }
stream {
    server {
        listen 127.0.0.1:%(p)d backlog=4096;
        proxy_pass 127.0.0.1:%(h)d;
        proxy_timeout 10m;
    }
    server {
        listen 127.0.0.1:%(ip)d;
        proxy_pass 127.0.0.1:%(ib)d;
        proxy_timeout 10m;
    }
}
""" % {"mod": NGINX_STREAM, "d": d, "p": port, "h": http,
       "ip": iperf_port, "ib": iperf_be, "nofile": NOFILE,
       "mc2": 2 * MAXCONN})
    p = start(["nginx", "-p", d, "-e", os.path.join(d, "stream.err"),
               "-c", conf], cpu=PROXY_CPU)
    wait_port(port, p)
    return p


# ------------------------------------------------------------ loads

UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "k": 1e3}


class RowFailed(Exception):
    """A load run that cannot be taken as a figure: wrk counted non-2xx
    or 3xx responses or socket errors (a proxy that fails fast would
    otherwise look fast)."""


def wrk(port, conns, path, close, dur):
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", "-c%d" % conns,
            "-d%ds" % dur, "--timeout", "10s"]
    if close:
        argv += ["-H", "Connection: close"]
    argv.append("http://127.0.0.1:%d/%s" % (port, path))
    r = subprocess.run(argv, capture_output=True, text=True,
                       timeout=dur + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    if r.returncode != 0 or m is None:
        raise RuntimeError("wrk: %s %s" % (r.stdout, r.stderr))
    rps = float(m.group(1))
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    sock = re.search(r"Socket errors: (.*)", r.stdout)
    if errs or sock:
        raise RowFailed("wrk errors on :%d at %.1f req/s: %s" % (
            port, rps, "; ".join(x.group(0) for x in (errs, sock) if x)))
    return rps


def iperf(port, dur):
    import json
    r = subprocess.run(["taskset", "-c", LOAD_CPU, "iperf3", "-c",
                        "127.0.0.1", "-p", str(port), "-t", str(dur), "-J"],
                       capture_output=True, text=True, timeout=dur + 60)
    if r.returncode != 0:
        raise RuntimeError("iperf3: %s %s" % (r.stdout[-500:], r.stderr))
    j = json.loads(r.stdout)
    return j["end"]["sum_received"]["bits_per_second"] / 1e6


# Rows: (name, unit, per-unit label, function(port, iperf_port, dur))
ROWS = [
    ("keep-alive 50", "req/s", "us/req",
     lambda p, ip, d: wrk(p, 50, "small", False, d)),
    ("keep-alive 200", "req/s", "us/req",
     lambda p, ip, d: wrk(p, 200, "small", False, d)),
    ("conn/req 50", "req/s", "us/req",
     lambda p, ip, d: wrk(p, 50, "small", True, d)),
    ("conn/req 200", "req/s", "us/req",
     lambda p, ip, d: wrk(p, 200, "small", True, d)),
    ("10 MiB GETs", "Mbit/s", "ms/GB",
     lambda p, ip, d: wrk(p, 4, "big", False, d) * BIG * 8 / 1e6),
    ("iperf3 1 stream", "Mbit/s", "ms/GB",
     lambda p, ip, d: iperf(ip, d)),
]


def per_unit(unit, value, cpu, dur):
    """CPU time of the proxy per request (us) or per GB (ms)."""
    if value <= 0:
        return float("nan")
    if unit == "req/s":
        return cpu / (value * dur) * 1e6
    return cpu / (value * dur / 8 / 1e3) * 1e3


# ------------------------------------------------------------ idle memory


class Holder:
    """Accepts connections, echoes what they send, holds them open."""

    def __init__(self, port):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(4096)
        self.lsock.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.conns = []

    def poll(self, t=0.0):
        for key, _ in self.sel.select(t):
            if key.data is None:
                while True:
                    try:
                        c, _ = self.lsock.accept()
                    except (BlockingIOError, OSError):
                        break
                    c.setblocking(False)
                    self.conns.append(c)
                    self.sel.register(c, selectors.EVENT_READ, 1)
            else:
                try:
                    d = key.fileobj.recv(64)
                    if d:
                        key.fileobj.send(d)
                    else:
                        self.sel.unregister(key.fileobj)
                except OSError:
                    self.sel.unregister(key.fileobj)

    def close(self):
        for c in self.conns:
            c.close()
        self.sel.close()
        self.lsock.close()


def idle_rss(proc, port, holder, n):
    """Open n connections through the proxy, send one byte on each and
    read the echo, then measure the proxy's RSS. Returns (reached,
    rss_before_kib, rss_after_kib)."""
    pid = real_pid(proc)
    time.sleep(0.3)
    before = rss_kib(pid)
    clients = []
    ok = 0
    try:
        for i in range(n):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect_ex(("127.0.0.1", port))
            except OSError:
                c.close()
                break
            clients.append(c)
            if i % 200 == 199:
                holder.poll(0)
        pending = list(clients)
        sent = set()
        end = time.time() + 60
        while pending and time.time() < end:
            holder.poll(0.01)
            rest = []
            for c in pending:
                try:
                    if c not in sent:
                        c.send(b"p")
                        sent.add(c)
                    if c.recv(1) == b"p":
                        ok += 1
                        continue
                    c.close()
                    continue
                except (BlockingIOError, InterruptedError):
                    rest.append(c)
                except OSError:
                    continue
            pending = rest
        time.sleep(1.0)
        after = rss_kib(pid)
    finally:
        for c in clients:
            c.close()
    # let the backend side close too
    end = time.time() + 5
    while time.time() < end and len(holder.conns) > 0:
        holder.poll(0.05)
        if all(k.data is None for k in holder.sel.get_map().values()):
            break
    for c in holder.conns:
        try:
            holder.sel.unregister(c)
        except (KeyError, ValueError):
            pass
        c.close()
    holder.conns = []
    return ok, before, after


# ------------------------------------------------------------ main


def splice_line(mode):
    return "" if mode == "default" else "splice %s" % mode


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def fmt(v):
    if v != v:
        return "-"
    if v >= 100:
        return "%.0f" % v
    return "%.2f" % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lb")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--splice", default="on",
                    choices=("on", "off", "default"))
    ap.add_argument("--rows", default="all",
                    help="comma-separated row numbers (1-6) or 'all'")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-idle", action="store_true")
    ap.add_argument("--half-close-off", action="store_true",
                    help="also run tether-lb with `half-close off`")
    ap.add_argument("--io-uring", action="store_true",
                    help="also run tether-lb with `io-uring on`")
    ap.add_argument("--kernel-relay", action="store_true",
                    help="also run tether-lb with `io-uring on` and "
                    "`kernel-relay on`")
    ap.add_argument("--floor", help="floor.c relay on epoll")
    ap.add_argument("--floor-uring", help="floor.c relay on io_uring")
    ap.add_argument("--floor-sockmap",
                    help="floor.c relay through a BPF sockmap")
    ap.add_argument("--backend-cpu", default=None,
                    help="pin the nginx backend to this CPU (default: "
                    "it floats)")
    a = ap.parse_args()
    for tool in ("nginx", "haproxy", "wrk", "iperf3", "taskset"):
        if shutil.which(tool) is None:
            log("run.py: %s not found (scripts/deps bench)" % tool)
            return 2
    if os.cpu_count() < 2:
        global LOAD_CPU
        LOAD_CPU = PROXY_CPU
    global NOFILE, MAXCONN, BACKEND_CPU
    BACKEND_CPU = a.backend_cpu
    nofile = raise_nofile(max(4 * a.idle + 1000, 100000))
    NOFILE = nofile
    # A proxied connection costs the proxy two fds, and this script two
    # (client and backend side).
    MAXCONN = (nofile - 200) // 2
    rows = ROWS if a.rows == "all" else \
        [ROWS[int(i) - 1] for i in a.rows.split(",")]
    d = tempfile.mkdtemp(prefix="bench_lb.%d." % os.getpid())
    try:
        return run(a, d, rows, nofile)
    finally:
        for p in list(PROCS):
            stop(p)
        shutil.rmtree(d, ignore_errors=True)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def run(a, d, rows, nofile):
    http = free_port()
    ibe = free_port()
    start_backend(d, http)
    start_iperf(ibe)
    names = ["direct", "tether-lb", "haproxy", "nginx"]
    extra = []
    if a.half_close_off:
        extra.append("tether-hc0")
    if a.io_uring:
        extra.append("tether-uring")
    if a.kernel_relay:
        extra.append("tether-krelay")
    if a.floor:
        extra.append("floor")
    if a.floor_uring:
        extra.append("floor-uring")
    if a.floor_sockmap:
        extra.append("floor-sockmap")
    names += extra
    # All proxies run at once (idle but for the one measured), and each
    # row measures all of them back to back, round after round: the
    # machine's load changes over time, and this spreads it evenly.
    # The proxies' order changes each round (direct always comes first):
    # round r runs proxy (b + r) mod n for b in 0, 1, n-1, 2, n-2, ...
    # (a Williams design). Over n rounds each proxy takes every place
    # once, none always runs last (after the most sockets left in
    # TIME_WAIT by the row), and none always right after the same one,
    # as a plain rotation would have it.
    ports = {"direct": (http, ibe, None)}
    for name in names[1:]:
        port, iport = free_port(), free_port()
        if name == "tether-lb":
            proc = start_tether(a.lb, d, port, http, iport, ibe,
                                splice_line(a.splice))
        elif name == "tether-hc0":
            proc = start_tether(a.lb, d, port, http, iport, ibe,
                                splice_line(a.splice) +
                                "\n    half-close off", tag=name)
        elif name == "tether-uring":
            proc = start_tether(a.lb, d, port, http, iport, ibe,
                                splice_line(a.splice), tag=name,
                                glob="io-uring on\n")
        elif name == "tether-krelay":
            proc = start_tether(a.lb, d, port, http, iport, ibe,
                                splice_line(a.splice), tag=name,
                                glob=KRELAY_GLOB)
        elif name == "haproxy":
            proc = start_haproxy(d, port, http, iport, ibe)
        elif name == "nginx":
            proc = start_nginx(d, port, http, iport, ibe)
        else:
            exe = {"floor": a.floor, "floor-uring": a.floor_uring,
                   "floor-sockmap": a.floor_sockmap}[name]
            proc = start_floor(exe, port, http, iport, ibe)
        ports[name] = (port, iport, proc)
    vals = {}
    cpus = {}
    # (target, row) -> why, for each that failed in any round: reported
    # as FAILED, not as a figure, and the run exits 1.
    failed = {}
    for rnd in range(a.rounds):
        n = len(names) - 1
        base = [0] + [((j + 1) // 2 if j % 2 else n - j // 2) % n
                      for j in range(1, n)]
        order = names[:1] + [names[1 + (b + rnd) % n] for b in base]
        log("round %d order: %s" % (rnd + 1, " ".join(order)))
        for row in rows:
            for name in order:
                port, iport, proc = ports[name]
                c0 = cpu_seconds(proc.pid) if proc else 0
                try:
                    v = row[3](port, iport, a.duration)
                except RowFailed as e:
                    failed.setdefault((name, row[0]), str(e))
                    v = float("nan")
                    log("round %d %-10s %-16s FAILED: %s" % (
                        rnd + 1, name, row[0], e))
                c1 = cpu_seconds(proc.pid) if proc else 0
                vals.setdefault((name, row[0]), []).append(v)
                cpus.setdefault((name, row[0]), []).append(
                    per_unit(row[1], v, c1 - c0, a.duration)
                    if proc and v == v else float("nan"))
                if v == v:
                    log("round %d %-10s %-16s %12.1f %s" % (
                        rnd + 1, name, row[0], v, row[1]))
                time.sleep(0.3)
    for name in names[1:]:
        stop(ports[name][2])
    for p in list(PROCS):
        if p.pid in FLOOR_PAIRS.values():
            stop(p)
    nan = float("nan")
    res = {k: nan if k in failed else median(v) for k, v in vals.items()}
    cpu = {k: nan if k in failed else median(v) for k, v in cpus.items()}

    def shown(name, row):
        return "FAILED" if (name, row[0]) in failed else \
            fmt(res[(name, row[0])])

    def ratio(x, y):
        return x / y if y and x == x and y == y else nan

    def best_of(h, n):
        return max(h, n) if h == h and n == n else nan
    print("\nbench.lb: %d round(s) of %ds per row and target (median), "
          "proxy on CPU %s, load on CPU %s, backend on %s; tether-lb "
          "splice %s" % (a.rounds, a.duration, PROXY_CPU, LOAD_CPU,
                         "CPU " + BACKEND_CPU if BACKEND_CPU else
                         "any CPU", a.splice))
    print("Shared machine: compare ratios within this run only.\n")
    hdr = "%-16s %-6s %10s %10s %10s %10s  %6s %6s %6s  %8s  %s" % (
        "row", "unit", "direct", "tether", "haproxy", "nginx", "t/dir",
        "h/dir", "n/dir", "t/best", "cpu/unit t h n")
    print(hdr)
    print("-" * len(hdr))
    for row in rows:
        dv = res[("direct", row[0])]
        t, h, n = (res[(x, row[0])] for x in names[1:4])
        best = best_of(h, n)
        print("%-16s %-6s %10s %10s %10s %10s  %6s %6s %6s  %8s  "
              "%s %s %s %s" % (
                  row[0], row[1], shown("direct", row),
                  shown("tether-lb", row), shown("haproxy", row),
                  shown("nginx", row), fmt(ratio(t, dv)),
                  fmt(ratio(h, dv)), fmt(ratio(n, dv)),
                  fmt(ratio(t, best)),
                  fmt(cpu[("tether-lb", row[0])]),
                  fmt(cpu[("haproxy", row[0])]),
                  fmt(cpu[("nginx", row[0])]), row[2]))
    # Per-round tether/best: how much the ratio moves between rounds.
    print("\ntether/best peer in each round (min .. max):")
    for row in rows:
        per = []
        for r in range(a.rounds):
            t = vals[("tether-lb", row[0])][r]
            per.append(ratio(t, best_of(vals[("haproxy", row[0])][r],
                                        vals[("nginx", row[0])][r])))
        ok = [x for x in per if x == x]
        print("  %-16s %s   (%s .. %s)" % (
            row[0], " ".join(fmt(x) for x in per),
            fmt(min(ok)) if ok else "-", fmt(max(ok)) if ok else "-"))
    if extra:
        print("\nother targets, median value, ratio to the best peer, "
              "CPU per unit:")
        for row in rows:
            h, n = res[("haproxy", row[0])], res[("nginx", row[0])]
            best = best_of(h, n)
            print("  %-16s %s" % (row[0], "   ".join(
                "%s %s (%s, %s %s)" % (
                    x, shown(x, row), fmt(ratio(res[(x, row[0])], best)),
                    fmt(cpu[(x, row[0])]), row[2]) for x in extra)))
    if failed:
        print("\nFAILED (no figure):")
        for (name, row), why in sorted(failed.items()):
            print("  %-12s %-16s %s" % (name, row, why))
    if a.no_idle:
        return 1 if failed else 0
    print("\nidle connections (target %d, tried %d: RLIMIT_NOFILE %d): "
          "RSS of the proxy" % (a.idle, min(a.idle, MAXCONN), nofile))
    hport = free_port()
    holder = Holder(hport)
    mem = {}
    ibe = free_port()
    idle_names = names[1:4] + (["tether-uring"] if a.io_uring else []) + \
        (["tether-krelay"] if a.kernel_relay else [])
    try:
        for name in idle_names:
            port, iport = free_port(), free_port()
            if name == "tether-lb":
                proc = start_tether(a.lb, d, port, hport, iport, ibe,
                                    splice_line(a.splice))
            elif name in ("tether-uring", "tether-krelay"):
                proc = start_tether(a.lb, d, port, hport, iport, ibe,
                                    splice_line(a.splice), tag=name,
                                    glob="io-uring on\n" if
                                    name == "tether-uring" else KRELAY_GLOB)
            elif name == "haproxy":
                proc = start_haproxy(d, port, hport, iport, ibe)
            else:
                proc = start_nginx(d, port, hport, iport, ibe)
            try:
                mem[name] = idle_rss(proc, port, holder,
                                     min(a.idle, MAXCONN))
            finally:
                stop(proc)
    finally:
        holder.close()
    for name in idle_names:
        ok, b, af = mem[name]
        print("%-12s reached %6d  RSS %8d KiB (start %6d KiB)  %7.2f KiB/conn"
              % (name, ok, af, b, (af - b) / ok if ok else 0))
    h = mem["haproxy"][2]
    t = mem["tether-lb"][2]
    print("tether/haproxy RSS ratio %.2f" % (t / h if h else 0))
    # Idle io_uring sessions each wait in two receives: kernel memory,
    # like epoll's registrations, not in any proxy's RSS. An idle
    # session never reads, so none moves to the kernel relay (its maps
    # are kernel memory too).
    for name in ("tether-uring", "tether-krelay"):
        if name in mem:
            print("%s/haproxy RSS ratio %.2f" %
                  (name, mem[name][2] / h if h else 0))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        for p in list(PROCS):
            stop(p)
        sys.exit(130)
