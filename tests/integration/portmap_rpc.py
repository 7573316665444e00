#!/usr/bin/env python3
"""portmap_rpc.py - raw portmap/rpcbind calls for the tether-portmap
interop test: SET/UNSET over the local socket, calls from a chosen source
address and port, a fixed list of probes whose replies are compared
between tether-portmap and Debian's rpcbind, and rpcbomb payloads."""
import errno
import os
import socket
import struct
import sys

XID = 0x7e7e0001


def u(*v):
    return b''.join(struct.pack('>I', x & 0xffffffff) for x in v)


def s(t):
    t = t.encode() if isinstance(t, str) else t
    return u(len(t)) + t + b'\0' * ((4 - len(t) % 4) % 4)


def rpcb(prog, vers, netid='', addr='', owner=''):
    return u(prog, vers) + s(netid) + s(addr) + s(owner)


def msg(vers, proc, args, prog=100000, rpcvers=2):
    return u(XID, 0, rpcvers, prog, vers, proc, 0, 0, 0, 0) + args


def read_record(so):
    r = b''
    while True:
        h = so.recv(4, socket.MSG_WAITALL)
        if len(h) < 4:
            return None
        n = struct.unpack('>I', h)[0]
        r += so.recv(n & 0x7fffffff, socket.MSG_WAITALL)
        if n & 0x80000000:
            return r



def other_ports(src):
    """src first, then other ports of the same kind (privileged or not):
    rpcinfo and libtirpc, run as root, take reserved ports too, and a
    connection of theirs in TIME_WAIT makes that source port unusable
    for a while. What the test needs is a port of that kind, not one."""
    host, p = src
    yield src
    lo, n = (600, 424) if p < 1024 else (p, 1)
    for k in range(1, 40 if p < 1024 else 1):
        yield (host, lo + (p - lo + 37 * k) % n)


def bind_near(so, src):
    for cand in other_ports(src):
        try:
            so.bind(cand)
            return
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            last = e
    raise last


def connect_from(fam, src, dst):
    """A TCP connection to dst from src (or a port of the same kind)."""
    if not src:
        so = socket.socket(fam, socket.SOCK_STREAM)
        so.settimeout(1.0)
        so.connect(dst)
        return so
    last = None
    for cand in other_ports(src):
        so = socket.socket(fam, socket.SOCK_STREAM)
        so.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        so.settimeout(1.0)
        try:
            so.bind(cand)
            so.connect(dst)
            return so
        except OSError as e:
            so.close()
            if e.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                raise
            last = e
    raise last


def call(kind, m, host='127.0.0.1', port=111, src=None, path=None):
    """One call; returns the reply bytes after the XID, or a word."""
    try:
        if kind == 'udp':
            fam = socket.AF_INET6 if ':' in host else socket.AF_INET
            so = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET:
                # Also to a broadcast address (rpcinfo -b).
                so.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            if src:
                bind_near(so, src)
            so.settimeout(0.5)
            so.sendto(m, (host, port))
            r = so.recv(65536)
        else:
            if kind == 'unix':
                so = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                so.settimeout(2.0)
                so.connect(path)
            else:
                fam = socket.AF_INET6 if ':' in host else socket.AF_INET
                so = connect_from(fam, src, (host, port))
            so.sendall(u(0x80000000 | len(m)) + m)
            r = read_record(so)
            if r is None:
                return 'closed'
        so.close()
    except socket.timeout:
        return 'no-reply'
    except OSError as e:
        return 'error:' + e.__class__.__name__
    return r[4:].hex()


def verdict(hexreply):
    """Name a reply: TRUE/FALSE for bool results, else the status."""
    if len(hexreply) < 8 or not all(c in '0123456789abcdef' for c in hexreply):
        return hexreply
    w = [int(hexreply[i:i + 8], 16) for i in range(0, len(hexreply), 8)]
    if w[1] == 1:
        return 'DENIED-' + ({0: 'RPC_MISMATCH', 1: 'AUTH'}[w[2]] +
                            ('-%d' % w[3] if w[2] == 1 else ''))
    st = w[4]
    if st != 0:
        return {1: 'PROG_UNAVAIL', 2: 'PROG_MISMATCH', 3: 'PROC_UNAVAIL',
                4: 'GARBAGE_ARGS', 5: 'SYSTEM_ERR'}.get(st, str(st))
    if len(w) == 6:
        return {0: 'FALSE', 1: 'TRUE'}.get(w[5], str(w[5]))
    return 'SUCCESS'


# Calls whose replies must be byte-identical between the two daemons.
# Left out on purpose: SET over UDP/TCP (tether-portmap refuses it from
# an unprivileged port where rpcbind accepts it from any loopback port)
# and RPC version 3 (we answer RPC_MISMATCH as RFC 5531 says; libtirpc
# drops the call); both are checked on tether-portmap alone.
def probes():
    p = []
    for k in ('udp', 'tcp'):
        p += [
            (k, 'v2 NULL', msg(2, 0, b'')),
            (k, 'v2 CALLIT', msg(2, 5, u(100000, 2, 0) + s(b''))),
            (k, 'v3 CALLIT', msg(3, 5, u(100000, 3, 0) + s(b''))),
            (k, 'v4 BCAST', msg(4, 5, u(100000, 4, 0) + s(b''))),
            (k, 'v4 INDIRECT', msg(4, 10, u(100000, 4, 0) + s(b''))),
            (k, 'v3 proc 9', msg(3, 9, b'')),
            (k, 'v4 proc 13', msg(4, 13, b'')),
            (k, 'vers 5', msg(5, 0, b'')),
            (k, 'vers 1', msg(1, 0, b'')),
            (k, 'prog 7', msg(2, 0, b'', prog=7)),
            (k, 'v2 GETPORT self udp', msg(2, 3, u(100000, 2, 17, 0))),
            (k, 'v2 GETPORT self tcp vers 9', msg(2, 3, u(100000, 9, 6, 0))),
            (k, 'v2 GETPORT none', msg(2, 3, u(99, 1, 6, 0))),
            (k, 'v3 UADDR2TADDR', msg(3, 7, s('127.0.0.1.0.111'))),
            (k, 'v3 UADDR2TADDR bad', msg(3, 7, s('x'))),
            (k, 'v3 TADDR2UADDR', msg(3, 8, u(16) + s(bytes(
                [2, 0, 0, 111, 127, 0, 0, 1] + [0] * 8)))),
            (k, 'v4 GETADDRLIST self', msg(4, 11, rpcb(100000, 4))),
            (k, 'v4 GETADDRLIST v2', msg(4, 11, rpcb(100000, 2))),
            (k, 'v4 GETVERSADDR v2', msg(4, 9, rpcb(100000, 2))),
            (k, 'v4 GETVERSADDR v9', msg(4, 9, rpcb(100000, 9))),
            (k, 'v3 GETADDR v7', msg(3, 3, rpcb(100000, 7))),
            (k, 'v3 GETADDR none', msg(3, 3, rpcb(99, 1))),
        ]
        for prog, vers in ((300001, 1), (300001, 2), (300002, 1),
                           (300003, 1), (300004, 3), (300005, 1)):
            p += [
                (k, 'v2 GETPORT %d/%d tcp' % (prog, vers),
                 msg(2, 3, u(prog, vers, 6, 0))),
                (k, 'v2 GETPORT %d/%d udp' % (prog, vers),
                 msg(2, 3, u(prog, vers, 17, 0))),
                (k, 'v3 GETADDR %d/%d' % (prog, vers),
                 msg(3, 3, rpcb(prog, vers))),
                (k, 'v4 GETVERSADDR %d/%d' % (prog, vers),
                 msg(4, 9, rpcb(prog, vers))),
                (k, 'v4 GETADDRLIST %d/%d' % (prog, vers),
                 msg(4, 11, rpcb(prog, vers))),
            ]
    # TCP only: a truncated SET is GARBAGE_ARGS (libtirpc's UDP path
    # reads stale buffer bytes past a short datagram).
    p.append(('tcp', 'v3 SET truncated', msg(3, 1, u(1))))
    return p


# The registrations both daemons get through the local socket.
REGS = [
    (300001, 1, 'tcp', '0.0.0.0.3.1'),
    (300001, 1, 'udp', '0.0.0.0.3.2'),
    (300001, 2, 'tcp', '127.0.0.1.3.3'),
    (300002, 1, 'tcp6', '::.3.4'),          # v3/v4 only: not in v2's view
    (300002, 1, 'udp6', '::1.3.5'),
    (300003, 1, 'local', '/run/t300003.sock'),
    (300004, 3, 'udp', '0.0.0.0.3.6'),
    (300004, 3, 'tcp', '0.0.0.0.3.7'),
    (300005, 1, 'udp', '192.0.2.7.3.8'),
]


def burst(host, port, n=80):
    """n UDP calls sent back to back from one socket (so the daemon
    takes them in batches), mixed with datagrams that get no reply: a
    reply message, an oversized call, CALLIT with forwarding off. Every
    call must be answered once, from host:port, with its own XID and
    the right answer. Returns 'OK' or what went wrong."""
    v6 = ':' in host
    so = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                       socket.SOCK_DGRAM)
    so.settimeout(2.0)
    want = {}
    for i in range(n):
        xid = 0x5a000000 + i
        k = i % 5
        if k == 0:      # v2 GETPORT of our own tcp registration
            m, w = msg(2, 3, u(100000, 2, 6, 0)), u(0, 0, 0, 0, port)
        elif k == 1:    # v4 GETADDR of our own udp registration
            m = msg(4, 3, rpcb(100000, 4))
            w = u(0, 0, 0, 0) + s('%s.%d.%d' % (host, port >> 8, port & 255))
        elif k == 2:    # another program: PROG_UNAVAIL
            m, w = msg(2, 0, b'', prog=100099), u(0, 0, 0, 1)
        elif k == 3:    # NULL
            m, w = msg(2, 0, b''), u(0, 0, 0, 0)
        else:           # no reply expected for these
            m = [u(xid, 1, 0, 0, 0, 0),                      # a reply
                 msg(2, 0, b'\0' * 9100),                   # too large
                 msg(2, 5, u(100000, 2, 0, 0))][i // 5 % 3]  # CALLIT
            w = None
        so.sendto(u(xid) + m[4:], (host, port))
        if w is not None:
            want[xid] = u(1) + w
    got = {}
    try:
        while len(got) < len(want):
            r, src = so.recvfrom(65536)
            xid = struct.unpack('>I', r[:4])[0]
            if src[:2] != (host, port):
                return 'reply from %s' % (src,)
            if xid in got or xid not in want:
                return 'unexpected or repeated xid %x' % xid
            got[xid] = r[4:]
    except socket.timeout:
        return 'only %d of %d replies' % (len(got), len(want))
    for xid, w in want.items():
        if got[xid] != w:
            return 'xid %x: %s, want %s' % (xid, got[xid].hex(), w.hex())
    so.settimeout(0.3)
    try:
        r = so.recv(65536)
        return 'reply to a datagram that gets none: %s' % r.hex()
    except socket.timeout:
        pass
    return 'OK'


def main():
    cmd = sys.argv[1]
    if cmd == 'register':
        path = sys.argv[2]
        for prog, vers, netid, addr in REGS:
            r = verdict(call('unix', msg(3, 1, rpcb(prog, vers, netid, addr,
                                                   'ignored')), path=path))
            print('SET', prog, vers, netid, addr, r)
            if r != 'TRUE':
                return 1
        # The same mapping again is TRUE, another address FALSE.
        print('SET again', verdict(call('unix', msg(3, 1, rpcb(
            300001, 1, 'tcp', '0.0.0.0.3.1', 'x')), path=path)))
        print('SET other addr', verdict(call('unix', msg(3, 1, rpcb(
            300001, 1, 'tcp', '0.0.0.0.9.9', 'x')), path=path)))
        return 0
    if cmd == 'probe':
        for k, name, m in probes():
            print(k, name, call(k, m))
        return 0
    if cmd == 'set':
        # set KIND HOST SRCPORT PROG VERS NETID UADDR [PATH]
        kind, host, sport = sys.argv[2], sys.argv[3], int(sys.argv[4])
        prog, vers = int(sys.argv[5]), int(sys.argv[6])
        m = msg(3, 1, rpcb(prog, vers, sys.argv[7], sys.argv[8], 'x'))
        src = (host, sport) if sport else None
        path = sys.argv[9] if len(sys.argv) > 9 else None
        print(verdict(call(kind, m, host=host, src=src, path=path)))
        return 0
    if cmd == 'set-pid':
        # set-pid PATH PROG VERS NETID UADDR: SET over the local socket,
        # printing this process's pid (the daemon sees it by SO_PEERCRED)
        m = msg(3, 1, rpcb(int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
                           sys.argv[6], 'x'))
        print(os.getpid(), verdict(call('unix', m, path=sys.argv[2])))
        return 0
    if cmd == 'fwdprobe':
        # fwdprobe PROG [HOST]: remote calls (CALLIT, BCAST, INDIRECT)
        # over UDP to PROG version 1 procedure 1 (ECHO int) and to
        # programs, versions and procedures that do not exist. Ports in
        # the answers are replaced by P (they differ between runs).
        prog = int(sys.argv[2])
        host = sys.argv[3] if len(sys.argv) > 3 else '127.0.0.1'
        cases = [
            ('v2-callit-echo', 2, msg(2, 5, u(prog, 1, 1) + s(u(41)))),
            ('v3-callit-echo', 3, msg(3, 5, u(prog, 1, 1) + s(u(41)))),
            ('v4-bcast-echo', 4, msg(4, 5, u(prog, 1, 1) + s(u(41)))),
            ('v4-indirect-echo', 4, msg(4, 10, u(prog, 1, 1) + s(u(41)))),
            ('v4-indirect-noprog', 4, msg(4, 10, u(300099, 1, 0) + s(b''))),
            ('v3-callit-noprog', 3, msg(3, 5, u(300099, 1, 0) + s(b''))),
            ('v4-indirect-badvers', 4, msg(4, 10, u(prog, 7, 0) + s(b''))),
            ('v2-callit-badvers', 2, msg(2, 5, u(prog, 7, 0) + s(b''))),
            ('v4-indirect-rpcbind-set', 4,
             msg(4, 10, u(100000, 4, 1) + s(b''))),
            ('v4-indirect-garbage', 4, msg(4, 10, u(prog))),
            ('v4-indirect-noproc', 4, msg(4, 10, u(prog, 1, 9) + s(b''))),
        ]
        for name, vers, m in cases:
            r = call('udp', m, host=host)
            v = verdict(r)
            if v == 'SUCCESS':
                b = bytes.fromhex(r)
                body = b[20:]
                if vers == 2:
                    port = struct.unpack('>I', body[:4])[0]
                    rest = body[4:]
                    where = 'port=P' if port else 'port=0'
                else:
                    n = struct.unpack('>I', body[:4])[0]
                    addr = body[4:4 + n].decode()
                    rest = body[4 + ((n + 3) & ~3):]
                    where = 'addr=' + '.'.join(addr.split('.')[:-2]) + '.P'
                v = 'SUCCESS %s results=%s' % (where, rest.hex())
            print(name, v)
        return 0
    if cmd == 'hold':
        # hold PATH PROG VERS NETID: open a tcp or udp socket on
        # 127.0.0.1, register it (at the wildcard address, as libtirpc
        # does) over the local socket, print "pid verdict", then live
        # until SIGTERM; SIGUSR1 closes the socket (the process stays).
        import signal
        kind = sys.argv[5]
        so = socket.socket(socket.AF_INET, socket.SOCK_STREAM
                           if kind.startswith('tcp') else socket.SOCK_DGRAM)
        # A port below the ephemeral range, so that a probe of it once
        # closed cannot connect to itself.
        base = 21000 + os.getpid() % 9000
        for k in range(200):
            try:
                so.bind(('127.0.0.1', 21000 + (base - 21000 + 13 * k) % 9000))
                break
            except OSError:
                continue
        else:
            print('no free port', file=sys.stderr)
            return 1
        if kind.startswith('tcp'):
            so.listen(8)
        port = so.getsockname()[1]
        m = msg(3, 1, rpcb(int(sys.argv[3]), int(sys.argv[4]), kind,
                           '0.0.0.0.%d.%d' % (port >> 8, port & 255), 'x'))
        print(os.getpid(), verdict(call('unix', m, path=sys.argv[2])),
              flush=True)
        signal.signal(signal.SIGUSR1, lambda *a: so.close())
        while True:
            signal.pause()
    if cmd == 'set2':
        # set2 KIND HOST SRCPORT PROG VERS PROT PORT: portmap v2 SET
        kind, host, sport = sys.argv[2], sys.argv[3], int(sys.argv[4])
        m = msg(2, 1, u(*[int(a) for a in sys.argv[5:9]]))
        print(verdict(call(kind, m, host=host,
                           src=(host, sport) if sport else None)))
        return 0
    if cmd == 'null':
        # null KIND HOST PORT VERS: a NULL call to any port
        print(verdict(call(sys.argv[2], msg(int(sys.argv[5]), 0, b''),
                           host=sys.argv[3], port=int(sys.argv[4]))))
        return 0
    if cmd == 'getaddr':
        # getaddr KIND HOST PORT PROG VERS NETID: rpcbind v3 GETADDR's
        # universal address (or the failure's word)
        r = call(sys.argv[2], msg(3, 3, rpcb(int(sys.argv[5]),
                                           int(sys.argv[6]), sys.argv[7])),
                 host=sys.argv[3], port=int(sys.argv[4]))
        try:
            b = bytes.fromhex(r)
            n = struct.unpack('>I', b[20:24])[0]
            print(b[24:24 + n].decode())
        except (ValueError, struct.error):
            print(r)
        return 0
    if cmd == 'burst':
        # burst HOST PORT: batched UDP calls, see burst()
        print(burst(sys.argv[2], int(sys.argv[3])))
        return 0
    if cmd == 'rpcvers3':
        print(verdict(call(sys.argv[2], msg(2, 0, b'', rpcvers=3))))
        return 0
    if cmd == 'unset':
        # unset PATH PROG VERS NETID
        m = msg(3, 2, rpcb(int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
        print(verdict(call('unix', m, path=sys.argv[2])))
        return 0
    if cmd == 'bomb':
        # CVE-2017-8779: small datagrams announcing huge lengths.
        for i in range(2000):
            so = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            so.sendto(msg(3, 1, u(100000, 4, 0xfffffff0) + b'A' * 16),
                      ('127.0.0.1', 111))
            so.sendto(msg(3, 7, u(0x7ffffff0) + b'B' * 64),
                      ('127.0.0.1', 111))
            so.sendto(msg(2, 5, u(1, 1, 1, 0xffffff00)), ('127.0.0.1', 111))
            so.sendto(msg(3, 8, u(0xffffffff, 0xffffffff)),
                      ('127.0.0.1', 111))
            so.close()
        # A TCP record announcing 2 GiB, then 1 MiB of it.
        so = socket.create_connection(('127.0.0.1', 111))
        try:
            so.sendall(u(0xffffffff) + msg(3, 0, b''))
            so.sendall(b'C' * (1 << 20))
        except OSError:
            pass
        so.close()
        print('sent')
        return 0
    print('unknown command', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
