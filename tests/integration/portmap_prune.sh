#!/bin/sh
# portmap_prune.sh - tether-portmap's `prune INTERVAL`, without root:
# services register over the local socket from processes that stay up;
# their registrations (and the pid in the state file) last while they
# live, and go when the process exits or, for TCP, when the port stops
# accepting connections while the process lives on; a live TCP service
# stays. Without `prune` nothing is dropped.
# Usage: portmap_prune.sh TETHER_PORTMAP TETHERCTL RPCPY
set -u
TP=$1 CTL=$2 RPCPY=$3
. "$(dirname "$0")/lib.sh"
# (every holder is killed at exit, even one that has not registered yet)
t_setup pmfeat-prune HOLDERS
command -v python3 >/dev/null || fail "python3 not found"

t_port 5003
start() {	# prune setting
	prune=$1
	t_start launch t_ctl_up "no control socket"
}
launch() {
	cat >"$DIR/pm.conf" <<CONF
listen 127.0.0.1
port $PORT
socket "$DIR/rpcbind.sock"
state "$DIR/state"
control "$DIR/ctl.sock"
prune $prune
CONF
	rm -f "$DIR/ctl.sock"
	"$TP" -d -f "$DIR/pm.conf" 2>>"$DIR/log" &
	PID=$!
}
hold() {	# prog netid -> sets HPID (the holder's pid)
	python3 "$RPCPY" hold "$DIR/rpcbind.sock" "$1" 1 "$2" \
		>"$DIR/hold.$1" 2>&1 &
	HOLDERS="$HOLDERS $!"
	t_wait 50 0.1 grep -q " TRUE" "$DIR/hold.$1" 2>/dev/null ||
		fail "holder $1 did not register: $(cat "$DIR/hold.$1")"
	HPID=$(cut -d' ' -f1 "$DIR/hold.$1")
}
regs() {
	"$CTL" -s "$DIR/ctl.sock" show registrations || fail "tetherctl"
}
listed() {	# prog netid
	regs | grep -q "^registration prog=$1 vers=1 netid=$2 "
}
unlisted() {	# prog netid
	! listed "$1" "$2"
}
wait_gone() {	# prog netid what
	t_wait 60 0.1 unlisted "$1" "$2" || fail "$3: still registered after 6 s"
}

# Without pruning nothing goes, even when the process exits.
start off
hold 300301 udp
H1=$HPID
kill $H1
wait $H1 2>/dev/null
t_forget HOLDERS $H1
H1=
sleep 1
listed 300301 udp || fail "pruned although prune is off"
t_stop

# With pruning every 200ms (the state file keeps 300301, pid and all).
grep -q "^300301 1 udp .* pid=[0-9]*$" "$DIR/state" ||
	fail "no pid in the state file: $(cat "$DIR/state")"
start 200ms
wait_gone 300301 udp "a registration whose process exited"
hold 300302 udp
H1=$HPID
hold 300303 tcp
H2=$HPID
hold 300304 tcp
regs | grep -q "^registration prog=300303 vers=1 netid=tcp .* pid=$H2$" ||
	fail "pid not shown: $(regs)"
grep -q "^300303 1 tcp .* pid=$H2$" "$DIR/state" ||
	fail "pid not saved: $(cat "$DIR/state")"
sleep 1
for p in 300302:udp 300303:tcp 300304:tcp; do
	listed ${p%:*} ${p#*:} || fail "live service $p pruned"
done

# The process exits: gone.
kill $H1
wait $H1 2>/dev/null
t_forget HOLDERS $H1
H1=
wait_gone 300302 udp "a udp registration whose process exited"
# The TCP port closes, the process lives on: gone too.
kill -USR1 $H2
wait_gone 300303 tcp "a tcp registration whose port closed"
kill -0 $H2 || fail "holder died instead of closing its port"
listed 300304 tcp || fail "a live TCP service was pruned"
out=$("$CTL" -s "$DIR/ctl.sock" show prune)
[ "$out" = "prune interval=200ms exited=2 closed=1" ] ||
	fail "prune counters: $out"
grep -q "pruned prog 300303 vers 1 tcp .*: its TCP port refuses connections" \
	"$DIR/log" || fail "pruning not logged"
grep -q "^300303 " "$DIR/state" && fail "pruned entry still in the state file"
t_stop
echo "portmap prune: all checks passed"
