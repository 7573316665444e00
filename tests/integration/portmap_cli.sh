#!/bin/sh
# portmap_cli.sh - tether-portmap's command line and start-up errors,
# without root or namespaces: -V, -h, -n, usage errors (status 2), a
# missing -f file (1), and on an unprivileged port of 127.0.0.1 with no
# local socket and no state file: it answers NULL calls and a burst of
# UDP calls (taken in batches), and a
# second instance on the same port fails with a message and status 1.
# Usage: portmap_cli.sh TETHER_PORTMAP RPCPY
set -u
TP=$1 RPCPY=$2
. "$(dirname "$0")/lib.sh"
t_setup pmfeat-cli
expect() {	# status, then the command
	want=$1
	shift
	"$@" >/dev/null 2>&1
	got=$?
	[ $got = "$want" ] || fail "$*: status $got, want $want"
}
command -v python3 >/dev/null || fail "python3 not found"
[ "$("$TP" -V)" = "tether-portmap 0.1.0" ] || fail "-V"
"$TP" -h | grep -q -- "-S FILE" || fail "-h does not describe -S"
[ "$("$TP" -n)" = "configuration OK" ] || fail "-n"
expect 2 "$TP" -x
expect 2 "$TP" -p 70000
expect 2 "$TP" -m 0
expect 2 "$TP" extra-operand
expect 1 "$TP" -n -f /nonexistent/portmap.conf

# A port below the kernel's ephemeral range (32768 and up), so parallel
# tests' outgoing connections cannot take it; if another test holds it
# anyway the daemon exits at once, and we try the next one.
launch() {	# ADDR
	"$TP" -d -a "${1:-127.0.0.1}" -p $PORT -s "" -S "" 2>/dev/null &
	PID=$!
}
answers() { [ "$(python3 "$RPCPY" null udp 127.0.0.1 $PORT 2)" = SUCCESS ]; }
t_port 0
t_start launch answers "no answer on 127.0.0.1"
[ "$(python3 "$RPCPY" null tcp 127.0.0.1 $PORT 4)" = SUCCESS ] ||
	fail "no answer over TCP"
# 80 UDP datagrams back to back, with datagrams that get no reply among
# them: each call answered once, right, from the address it was sent to.
r=$(python3 "$RPCPY" burst 127.0.0.1 $PORT)
[ "$r" = OK ] || fail "UDP burst: $r"
err=$("$TP" -d -a 127.0.0.1 -p $PORT -s "" -S "" 2>&1)
status=$?
[ $status = 1 ] || fail "second instance: status $status, want 1"
echo "$err" | grep -q "cannot listen: 127.0.0.1:$PORT" ||
	fail "second instance: no clear message: $err"
kill $PID
wait $PID
PID=
# On the wildcard address: a broadcast call (rpcinfo -b) is answered,
# from the address of the interface it came in on (lo's broadcast).
launch 0.0.0.0
t_wait 50 0.1 answers || fail "no answer on 0.0.0.0:$PORT"
r=$(python3 "$RPCPY" null udp 127.255.255.255 $PORT 2)
[ "$r" = SUCCESS ] || fail "UDP broadcast call: $r"
# Its GETADDR names the interface's address, not the broadcast one.
r=$(python3 "$RPCPY" getaddr udp 127.255.255.255 $PORT 100000 3 udp)
[ "$r" = "127.0.0.1.$((PORT >> 8)).$((PORT & 255))" ] ||
	fail "GETADDR by broadcast: $r"
r=$(python3 "$RPCPY" getaddr udp 127.0.0.2 $PORT 100000 3 udp)
[ "$r" = "127.0.0.2.$((PORT >> 8)).$((PORT & 255))" ] ||
	fail "GETADDR to 127.0.0.2: $r"
kill $PID
wait $PID
PID=
echo "portmap cli: all checks passed"
