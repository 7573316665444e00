#!/bin/sh
# portmap_inner.sh - one scenario of the tether-portmap interop test, run
# inside the test's network namespace and a private mount namespace
# (tmpfs on /run, so the host's /run/rpcbind.sock is never touched).
# Usage: portmap_inner.sh rpcbind|tether TETHER_PORTMAP PEER RPCPY WORK
# Writes WORK/<mode>.* for the outer script to compare; exits non-zero
# when a check that needs no comparison fails.
set -u
MODE=$1 TP=$2 PEER=$3 RPCPY=$4 WORK=$5
SOCK=/run/rpcbind.sock
PEERPROG=536871065	# 0x20000099
STATE=$WORK/tether.state
# Debian's python3: it must run under setpriv as another user too.
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
O=$WORK/$MODE
DPID=
SPID=

fail() {
	echo "FAIL ($MODE): $*" >&2
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	exit 1
}

mount -t tmpfs tmpfs /run || fail "cannot mount a private /run"
mkdir -p /run/rpcbind

wait_ready() {
	i=0
	while [ $i -lt 50 ]; do
		if [ -S $SOCK ] && rpcinfo -T udp localhost 100000 2 \
			>/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	fail "daemon did not come up"
}

start_daemon() {
	if [ "$MODE" = rpcbind ]; then
		rpcbind -f -w >>"$O.log" 2>&1 &
	else
		"$TP" -d -S "$STATE" "$@" >>"$O.log" 2>&1 &
	fi
	DPID=$!
	wait_ready
}

start_daemon
$PY "$RPCPY" register $SOCK >"$O.register" || fail "register failed"
rpcinfo -p >"$O.p" 2>&1
rpcinfo -s >"$O.s" 2>&1
rpcinfo >"$O.dump" 2>&1
rpcinfo -l localhost 300001 1 >"$O.l" 2>&1
{
	rpcinfo -T tcp localhost 100000 4
	rpcinfo -T udp localhost 100000 3
	rpcinfo -T tcp localhost 100000 2
	rpcinfo -T udp localhost 100000 9
	rpcinfo -T tcp localhost 300002 1
	rpcinfo -a 127.0.0.1.0.111 -T tcp 100000 4
	rpcinfo -a 127.0.0.1.0.111 -T udp 100000 2
} >"$O.t" 2>&1
$PY "$RPCPY" probe >"$O.probe" || fail "probe failed"

# A libtirpc server registers through the local socket.
"$PEER" server >"$O.peer" 2>&1 &
SPID=$!
i=0
until grep -q registered "$O.peer" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "libtirpc server did not register: $(cat "$O.peer")"
	sleep 0.1
done
{
	rpcinfo -s | grep "^ *$PEERPROG " | sed 's/  */ /g'
	rpcinfo -T tcp localhost $PEERPROG 1
	rpcinfo -T udp localhost $PEERPROG 1
	"$PEER" client tcp
	"$PEER" client udp
} >"$O.peerlisted" 2>&1
grep -q "$PEERPROG.*1 *local\?,*udp,tcp,udp6,tcp6\|$PEERPROG .*1 .*tcp" \
	"$O.peerlisted" || fail "libtirpc server not listed: $(cat "$O.peerlisted")"
grep -q "ECHO over tcp: 42" "$O.peerlisted" || fail "clnt_create over tcp"
grep -q "ECHO over udp: 42" "$O.peerlisted" || fail "clnt_create over udp"

if [ "$MODE" = rpcbind ]; then
	kill $SPID $DPID
	wait 2>/dev/null
	exit 0
fi

# ---- tether-portmap only from here ----

# kill -9 and restart: every registration is still there.
rpcinfo >"$O.before-kill" 2>&1
kill -9 $DPID
wait $DPID 2>/dev/null
start_daemon
rpcinfo >"$O.after-kill" 2>&1
cmp -s "$O.before-kill" "$O.after-kill" ||
	fail "registrations lost across kill -9: $(diff "$O.before-kill" "$O.after-kill")"
"$PEER" client tcp >>"$O.peerlisted" 2>&1 || fail "clnt_create after restart"

# Who may SET. Over UDP/TCP only a privileged port on loopback.
check() {
	want=$1
	shift
	got=$("$@" 2>&1)
	[ "$got" = "$want" ] || fail "$*: got '$got', want '$want'"
}
check DENIED-RPC_MISMATCH $PY "$RPCPY" rpcvers3 udp
check DENIED-RPC_MISMATCH $PY "$RPCPY" rpcvers3 tcp
check DENIED-AUTH-5 $PY "$RPCPY" set udp 127.0.0.1 0 400001 1 udp 0.0.0.0.4.1
check DENIED-AUTH-5 $PY "$RPCPY" set tcp 127.0.0.1 0 400001 1 udp 0.0.0.0.4.1
check TRUE $PY "$RPCPY" set udp 127.0.0.1 800 400001 1 udp 0.0.0.0.4.1
check TRUE $PY "$RPCPY" set2 tcp 127.0.0.1 801 400002 1 6 1026
check DENIED-AUTH-5 $PY "$RPCPY" set2 udp 127.0.0.1 0 400002 1 6 1026
ip addr add 10.77.0.1/32 dev lo ||
	fail "extra address on lo"
check DENIED-AUTH-5 $PY "$RPCPY" set udp 10.77.0.1 802 400003 1 udp 0.0.0.0.4.3
check DENIED-AUTH-5 $PY "$RPCPY" set2 tcp 10.77.0.1 803 400003 1 17 1027
rpcinfo -p | grep -q " 400002 .*1026" || fail "v2 SET not in rpcinfo -p"

# Ownership: uid 65534 registers through the local socket; another uid
# cannot remove it, root can.
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
OTHER="setpriv --reuid=65533 --regid=65533 --clear-groups"
# Those users may not be able to reach the source or build tree (a
# checkout under /root, say): they run a copy from a directory of /tmp.
PYDIR=$(mktemp -d /tmp/tether-pmtest.XXXXXX) || fail "mktemp"
trap 'rm -rf "$PYDIR"' EXIT
chmod 755 "$PYDIR" && cp "$RPCPY" "$PYDIR/portmap_rpc.py" &&
	chmod 644 "$PYDIR/portmap_rpc.py" || fail "copy portmap_rpc.py"
UPY=$PYDIR/portmap_rpc.py
check TRUE $NOBODY $PY "$UPY" set unix x 0 400010 1 tcp 0.0.0.0.4.10 $SOCK
rpcinfo | grep -q "400010 .*65534" || fail "owner 65534 not shown"
check FALSE $OTHER $PY "$UPY" unset $SOCK 400010 1 tcp
check FALSE $NOBODY $PY "$UPY" unset $SOCK 100000 4 ""
check TRUE $NOBODY $PY "$UPY" set unix x 0 400011 1 tcp 0.0.0.0.4.11 $SOCK
check TRUE $NOBODY $PY "$UPY" unset $SOCK 400011 1 tcp
check TRUE $PY "$RPCPY" unset $SOCK 400010 1 ""
check FALSE $PY "$RPCPY" unset $SOCK 400010 1 ""

# CVE-2017-8779: huge announced lengths must not allocate.
rss() { awk '/^VmRSS/ { print $2 }' /proc/$DPID/status; }
before=$(rss)
$PY "$RPCPY" bomb >/dev/null || fail "bomb sender failed"
sleep 0.3
after=$(rss)
echo "rpcbomb: VmRSS $before kB -> $after kB" >>"$O.log"
[ $((after - before)) -lt 8192 ] ||
	fail "rpcbomb grew the daemon from $before kB to $after kB"
kill -0 $DPID || fail "daemon died under the rpcbomb"
rpcinfo -T udp localhost 100000 2 >/dev/null || fail "no answer after the rpcbomb"

# A truncated state file: rejected with a message, kept aside, and the
# daemon starts with an empty table.
kill $SPID
kill -9 $DPID
wait 2>/dev/null
SPID=
head -c 40 "$STATE" >"$STATE.cut" && mv "$STATE.cut" "$STATE"
start_daemon
[ -f "$STATE.bad" ] || fail "bad state file not kept aside"
grep -q "state file rejected" "$O.log" || fail "no message for the bad state file"
rpcinfo | grep -q " 300001 " && fail "registrations from a bad state file"
kill $DPID
wait 2>/dev/null

# Sockets handed over as systemd does (LISTEN_PID/LISTEN_FDS): used as
# they are, nothing else bound, the local socket left in place at exit.
$PY "$(dirname "$RPCPY")/portmap_activate.py" "$TP" -d -S "" >>"$O.log" 2>&1 &
DPID=$!
wait_ready
rpcinfo >"$O.activated" 2>&1
grep -q "100000 *4 *local *$SOCK" "$O.activated" ||
	fail "inherited local socket not registered: $(cat "$O.activated")"
grep -q "100000 *2 *tcp *127.0.0.1.0.111" "$O.activated" ||
	fail "inherited TCP socket not registered"
grep -q "tcp6" "$O.activated" && fail "bound [::]:111 besides the inherited sockets"
rpcinfo -T tcp localhost 100000 4 >/dev/null || fail "inherited TCP socket"
check TRUE $PY "$RPCPY" set unix x 0 400020 1 tcp 0.0.0.0.4.20 $SOCK
kill $DPID
wait 2>/dev/null
[ -S $SOCK ] || fail "the inherited local socket was removed"

# -u: bind as root, then run as nobody; the state file is still written.
# (in /tmp: nobody may not be able to reach WORK, e.g. under /root)
mkdir -p "$PYDIR/nobody" && chown nobody "$PYDIR/nobody"
rm -f $SOCK
"$TP" -d -u nobody -S "$PYDIR/nobody/state" >>"$O.log" 2>&1 &
DPID=$!
wait_ready
[ "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' /proc/$DPID/status)" = \
	"$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)" ] ||
	fail "privileges not dropped: $(grep Uid /proc/$DPID/status)"
check TRUE $PY "$RPCPY" set unix x 0 400030 1 tcp 0.0.0.0.4.30 $SOCK
grep -Eq "^400030 1 tcp 0.0.0.0.4.30 superuser( pid=[0-9]+)?$" "$PYDIR/nobody/state" ||
	fail "state file not written after dropping privileges"
kill $DPID
wait $DPID
st=$?
[ $st = 0 ] || fail "exit status $st after SIGTERM"
# A sanitizer build reports leaks and errors at exit into the log.
grep -q "Sanitizer\|runtime error" "$O.log" &&
	fail "sanitizer report: $(grep -m3 "Sanitizer\|runtime error" "$O.log")"
exit 0
