#!/usr/bin/python3
"""epmap_detach.py - tether-epmap started without -d: the command returns
0 only once the detached daemon answers a bind, with its stdio on
/dev/null; a start that fails (its port in use, a local socket in a
directory it cannot make) prints why on its stderr and exits 1, not only
in syslog; and started with descriptors 0-2 closed, detached or not, it
serves and no socket lands on them.
Usage: epmap_detach.py TETHER_EPMAP"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid

EPM = ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", 3)
NDR = ("8a885d04-1ceb-11c9-9fe8-08002b104860", 2)
TIMEOUT = 30

EPMAP = os.path.realpath(sys.argv[1]) if len(sys.argv) == 2 else None
started = []


def fail(msg):
    print("FAIL:", msg)
    raise SystemExit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def write_conf(tmp, name, port, sock):
    path = os.path.join(tmp, name + ".conf")
    with open(path, "w") as f:
        f.write("listen 127.0.0.1:%d\nsocket %s\n" % (port, sock))
    return path


def start(conf, *opts, closed=False):
    """tether-epmap -f conf opts, waited for: (status, stderr). With
    closed, descriptors 0-2 are closed when it starts."""
    if closed:
        r = subprocess.run(["/bin/sh", "-c",
                            'exec "$@" <&- >&- 2>&-', "sh", EPMAP,
                            "-f", conf] + list(opts), timeout=TIMEOUT)
        return r.returncode, ""
    r = subprocess.run([EPMAP, "-f", conf] + list(opts),
                       capture_output=True, text=True, timeout=TIMEOUT)
    return r.returncode, r.stderr


def daemon_pid(conf):
    """The tether-epmap whose command line names conf (its starting
    command gone, that is the detached one), or None."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/exe" % d) != EPMAP:
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if conf.encode() in f.read().split(b"\0"):
                    started.append(int(d))
                    return int(d)
        except OSError:
            pass
    return None


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def stop(pid):
    os.kill(pid, signal.SIGTERM)
    end = time.time() + TIMEOUT
    while not gone(pid):
        if time.time() > end:
            fail("pid %d did not stop" % pid)
        time.sleep(0.05)


def std_null(pid, what):
    for fd in (0, 1, 2):
        target = os.readlink("/proc/%d/fd/%d" % (pid, fd))
        if target != "/dev/null":
            fail("%s: descriptor %d is %s, not /dev/null" % (what, fd,
                                                             target))


def syntax(u, vers):
    return uuid.UUID(u).bytes_le + struct.pack("<HH", vers, 0)


def binds(port, what):
    """A DCE/RPC bind to the endpoint mapper on port is acknowledged."""
    body = struct.pack("<HHIBxxx", 5840, 5840, 0, 1)
    body += struct.pack("<HBx", 0, 1) + syntax(*EPM) + syntax(*NDR)
    pdu = struct.pack("<BBBBIHHI", 5, 0, 11, 3, 0x10, 16 + len(body),
                      0, 1) + body
    try:
        with socket.create_connection(("127.0.0.1", port), 5) as s:
            s.sendall(pdu)
            hdr = s.recv(16, socket.MSG_WAITALL)
    except OSError as e:
        fail("%s: no bind to the endpoint mapper: %s" % (what, e))
    if len(hdr) < 16 or hdr[0] != 5 or hdr[2] != 12:
        fail("%s: the bind is not acknowledged: %r" % (what, hdr))


def refused(r, what, want):
    status, err = r
    if status != 1 or want not in err:
        fail("%s: status %d, wanted 1 and %r on stderr: %r" %
             (what, status, want, err))
    print("ok:", what)


def main(tmp):
    port = free_port()
    sock = os.path.join(tmp, "epmap.sock")
    good = write_conf(tmp, "good", port, sock)
    status, err = start(good)
    pid = daemon_pid(good)  # first: a failure below still stops it
    if status != 0 or err != "":
        fail("good detached start: %d %r" % (status, err))
    if pid is None:
        fail("no detached tether-epmap found")
    # It serves already: no polling.
    binds(port, "detached")
    if not os.path.exists(sock):
        fail("detached: no local socket")
    std_null(pid, "detached")
    print("ok: a detached start exits 0 and serves")

    # Its port in use: the listen error on stderr, status 1.
    second = write_conf(tmp, "second", port, os.path.join(tmp, "2.sock"))
    refused(start(second), "second instance, detached",
            "tether-epmap: listen 127.0.0.1:%d: address already in use\n"
            % port)
    if daemon_pid(second) is not None:
        fail("second instance: a process is left")
    stop(pid)

    nodir = os.path.join(tmp, "no", "such", "epmap.sock")
    refused(start(write_conf(tmp, "nodir", port, nodir)),
            "local socket in a missing directory, detached",
            "tether-epmap: local socket %s: " % nodir)

    # Descriptors 0-2 closed, detached: still exits 0 and serves (with
    # daemon(3), what landed on 0-2 was overwritten with /dev/null).
    closed = write_conf(tmp, "closed", port, sock)
    status, _ = start(closed, closed=True)
    pid = daemon_pid(closed)
    if status != 0:
        fail("detached with 0-2 closed: status %d" % status)
    if pid is None:
        fail("no detached tether-epmap (0-2 closed) found")
    binds(port, "detached with 0-2 closed")
    std_null(pid, "detached with 0-2 closed")
    stop(pid)
    print("ok: detached with 0-2 closed")

    # The same in the foreground: stderr is /dev/null, not a socket
    # that log lines would be written to.
    p = subprocess.Popen(["/bin/sh", "-c", 'exec "$@" <&- >&- 2>&-', "sh",
                          EPMAP, "-d", "-f", closed])
    started.append(p.pid)
    end = time.time() + TIMEOUT
    while not os.path.exists(sock):
        if p.poll() is not None or time.time() > end:
            fail("-d with 0-2 closed: no local socket (status %r)" %
                 p.poll())
        time.sleep(0.05)
    binds(port, "-d with 0-2 closed")
    std_null(p.pid, "-d with 0-2 closed")
    p.send_signal(signal.SIGTERM)
    if p.wait(TIMEOUT) != 0:
        fail("-d with 0-2 closed: exit status %d" % p.returncode)
    print("ok: -d with 0-2 closed")


if __name__ == "__main__":
    if EPMAP is None:
        print(__doc__)
        sys.exit(2)
    tmp = tempfile.mkdtemp(prefix="tether-epmap-detach-")
    try:
        main(tmp)
    finally:
        for pid in started:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
