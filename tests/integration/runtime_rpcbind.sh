#!/usr/bin/env bash
# runtime_rpcbind.sh BIN - a tether server registers with Debian's rpcbind,
# rpcinfo sees and reaches it, it is found again within 2 s after rpcbind
# is killed with -9 and restarted, and portmap v2 SET/UNSET work. Runs
# itself again inside private mount and network namespaces (unshare), so
# rpcbind gets its own /run and loopback and the host is not touched.
set -euo pipefail
bin=$1
. "$(dirname "$0")/lib.sh"
if [ "${TETHER_IN_NS:-}" != 1 ]; then
	for p in rpcbind rpcinfo unshare ip; do
		command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
		command -v "$p" >/dev/null ||
			{ echo "FAIL: $p not found (install rpcbind iproute2 util-linux)"; exit 1; }
	done
	export TETHER_IN_NS=1
	# A PID namespace too: when this script (its init) ends, the kernel
	# kills whatever it left behind, rpcbind included; its own /proc
	# keeps pids meaningful (LeakSanitizer reads /proc/PID/task).
	exec unshare -m -n -p -f --mount-proc --kill-child --propagation private "$0" "$@"
fi
PATH=$PATH:/usr/sbin:/sbin
mount -t tmpfs tmpfs /run
ip link set lo up
mkdir -p /run/rpcbind
rpcb=
srv=
cleanup() {
	[ -n "$srv" ] && kill -9 "$srv" 2>/dev/null || true
	[ -n "$rpcb" ] && kill -9 "$rpcb" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
# (not lib.sh's: on stdout, with the registrations)
fail() { echo "FAIL: $*"; rpcinfo -p 2>&1 || true; exit 1; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

start_rpcbind() {
	rm -f /run/rpcbind.sock
	rpcbind -f -w &
	rpcb=$!
	t_wait 99 0.05 pm_up || fail "rpcbind did not start"
}
pm_up() { [ -S /run/rpcbind.sock ] && rpcinfo -p >/dev/null 2>&1; }

prog=536871680	# 0x20000300
start_rpcbind
"$bin" serve $prog &
srv=$!
for _ in $(seq 100); do
	[ "$(rpcinfo -p | grep -c " $prog ")" = 2 ] && break
	sleep 0.05
done
rpcinfo -p | grep -q "$prog *1 *tcp" || fail "tcp registration not listed"
rpcinfo -p | grep -q "$prog *1 *udp" || fail "udp registration not listed"
rpcinfo -T tcp localhost $prog 1 | grep -q "ready and waiting" ||
	fail "rpcinfo -T tcp did not reach the server"
rpcinfo -T udp localhost $prog 1 | grep -q "ready and waiting" ||
	fail "rpcinfo -T udp did not reach the server"
rpcinfo -t 127.0.0.1 $prog 1 | grep -q "ready and waiting" ||
	fail "rpcinfo -t (portmap v2) did not reach the server"
echo "registered and reachable"

# Our lookups agree with rpcinfo's table.
port=$(rpcinfo -p | awk -v p=$prog '$1 == p && $3 == "tcp" { print $4 }')
got=$("$bin" getaddr $prog 1 tcp)
[ "$got" = "127.0.0.1:$port" ] || fail "getaddr (local v4) gave $got, not port $port"
got=$("$bin" getaddr $prog 1 tcp remote)
[ "$got" = "127.0.0.1:$port" ] || fail "getaddr (TCP 111) gave $got, not port $port"
# (rpcbind answers an unknown version of a known program with another
# version's address, for the server to say PROG_MISMATCH; so ask for a
# program nobody registered.)
"$bin" getaddr $((prog + 5)) 1 tcp 2>/dev/null && fail "getaddr found an unregistered program"
echo "getaddr agrees: 127.0.0.1:$port"
# A tether client finds it through the portmapper and calls it.
"$bin" call $prog 1 tcp >/dev/null || fail "lookup and call over tcp"
uport=$(rpcinfo -p | awk -v p=$prog '$1 == p && $3 == "udp" { print $4 }')
got=$("$bin" getaddr $prog 1 udp)
[ "$got" = "127.0.0.1:$uport" ] || fail "getaddr udp gave $got, not port $uport"
"$bin" call $prog 1 udp >/dev/null || fail "lookup and call over udp"
"$bin" call $((prog + 5)) 1 tcp 2>/dev/null && fail "lookup of an unregistered program"
echo "tether client found it through the portmapper (tcp, udp)"

# kill -9 and restart the portmapper: found again within 2 s.
kill -9 "$rpcb"
wait "$rpcb" 2>/dev/null || true
rpcb=
start_rpcbind
t0=$(ms)
until rpcinfo -T tcp localhost $prog 1 >/dev/null 2>&1; do
	[ $(( $(ms) - t0 )) -lt 3000 ] || fail "not registered again after a restart"
	sleep 0.02
done
dt=$(( $(ms) - t0 ))
[ "$dt" -le 2000 ] || fail "registered again only after $dt ms"
rpcinfo -T udp localhost $prog 1 >/dev/null || fail "udp not registered again"
echo "found again $dt ms after the portmapper restarted"

# One-shot SET/UNSET over the local socket and over portmap v2.
"$bin" set 536871681 3 tcp 127.0.0.1:4321 || fail "set (v4)"
rpcinfo -p | grep -q "536871681 *3 *tcp *4321" || fail "v4 set not listed"
"$bin" set 536871681 3 tcp 127.0.0.1:4322 2>/dev/null && fail "a second address was accepted"
"$bin" unset 536871681 3 || fail "unset (v4)"
rpcinfo -p | grep -q "536871681" && fail "v4 unset left the entry"
"$bin" set 536871682 2 udp 127.0.0.1:4323 v2 || fail "set (v2)"
rpcinfo -p | grep -q "536871682 *2 *udp *4323" || fail "v2 set not listed"
"$bin" unset 536871682 2 v2 || fail "unset (v2)"
rpcinfo -p | grep -q "536871682" && fail "v2 unset left the entry"
echo "one-shot set/unset over v4 and v2"

# A server that stops unregisters.
kill -TERM "$srv"
wait "$srv" || fail "server exited with an error"
srv=
rpcinfo -p | grep -q " $prog " && fail "registrations left after the server stopped"
echo "unregistered on exit"
echo "PASS"
