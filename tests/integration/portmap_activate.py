#!/usr/bin/env python3
"""portmap_activate.py - start a daemon the way systemd socket activation
does: bind TCP and UDP 127.0.0.1:111 and the local socket
/run/rpcbind.sock, put them at fds 3, 4, 5, set LISTEN_PID (our pid,
which exec keeps) and LISTEN_FDS, and exec the command line given."""
import os
import socket
import sys

socks = []
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(('127.0.0.1', 111))
t.listen(16)
socks.append(t)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('127.0.0.1', 111))
socks.append(u)
path = '/run/rpcbind.sock'
if os.path.exists(path):
    os.unlink(path)
x = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
x.bind(path)
os.chmod(path, 0o666)
x.listen(16)
socks.append(x)
for i, so in enumerate(socks):
    os.dup2(so.fileno(), 3 + i, inheritable=True)
env = dict(os.environ)
env['LISTEN_PID'] = str(os.getpid())
env['LISTEN_FDS'] = str(len(socks))
os.execve(sys.argv[1], sys.argv[1:], env)
