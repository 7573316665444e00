#!/bin/sh
# portmap_detach.sh - tether-portmap started without -d: the command
# returns 0 only once the detached daemon answers, with its stdio on
# /dev/null; a start that fails (a port in use, an unknown -u user)
# prints why on its stderr and exits 1, not only in syslog; and started
# with descriptors 0-2 closed, detached or not, no socket lands on them.
# Usage: portmap_detach.sh TETHER_PORTMAP RPCPY
set -u
TP=$1 RPCPY=$2
. "$(dirname "$0")/lib.sh"
t_setup pmfeat-detach FG
command -v python3 >/dev/null || fail "python3 not found"
TPX=$(readlink -f "$TP")

answers() { [ "$(python3 "$RPCPY" null udp 127.0.0.1 $PORT 2)" = SUCCESS ]; }
answers_tcp() { [ "$(python3 "$RPCPY" null tcp 127.0.0.1 $PORT 4)" = SUCCESS ]; }

# daemon_pid ARG: the tether-portmap whose command line has the word
# ARG (a path unique to one start), once its starting command is gone.
daemon_pid() {
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/exe" 2>/dev/null)" = "$TPX" ] || continue
		tr '\0' '\n' <"$_p/cmdline" 2>/dev/null | grep -qxF -- "$1" &&
			echo "${_p#/proc/}"
	done
}

# std_null PID: its descriptors 0, 1 and 2 are /dev/null, not a socket.
std_null() {
	for _f in 0 1 2; do
		_l=$(readlink "/proc/$1/fd/$_f")
		[ "$_l" = /dev/null ] || {
			echo "  pid $1 fd $_f: $_l" >&2
			return 1
		}
	done
}

gone() {	# PID: exited (a zombie nobody reaps counts)
	! kill -0 "$1" 2>/dev/null ||
		[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# stop_detached: SIGTERM to the detached daemon $PID, which must go.
stop_detached() {
	kill "$PID"
	t_wait 50 0.1 gone "$PID" || fail "pid $PID did not stop"
	PID=
}

# detached NAME ARGS...: tether-portmap without -d on 127.0.0.1:$PORT,
# control socket $DIR/NAME.sock; ST is its exit status, ERR its stderr.
detached() {
	_n=$1
	shift
	ERR=$("$TP" -a 127.0.0.1 -p $PORT -C "$DIR/$_n.sock" "$@" 2>&1)
	ST=$?
}

# A good start, on the first of 5 ports that no other test holds.
t_port 3
tries=0
while :; do
	detached good -s "$DIR/pm.sock" -S "$DIR/state"
	[ $ST = 1 ] && echo "$ERR" | grep -q "cannot listen" || break
	tries=$((tries + 1))
	[ $tries -ge 5 ] && fail "tether-portmap did not start on 5 ports"
	PORT=$((PORT + 7))
done
# The pid first, so that a failure below still stops the daemon.
PID=$(daemon_pid "$DIR/good.sock")
[ $ST = 0 ] || fail "good detached start: status $ST: $ERR"
[ -z "$ERR" ] || fail "good detached start printed: $ERR"
[ -n "$PID" ] || fail "no detached tether-portmap found"
# It serves already: no polling.
answers || fail "the detached daemon does not answer over UDP"
answers_tcp || fail "the detached daemon does not answer over TCP"
std_null "$PID" || fail "the detached daemon's stdio is not /dev/null"

# A second instance on the same port: the bind error on stderr, status 1.
detached second -s "" -S ""
[ $ST = 1 ] || fail "second instance, detached: status $ST, want 1"
echo "$ERR" | grep -q "^tether-portmap: cannot listen: 127.0.0.1:$PORT" ||
	fail "second instance, detached: no message on stderr: '$ERR'"
[ -z "$(daemon_pid "$DIR/second.sock")" ] ||
	fail "second instance: a process is left"
stop_detached

# A user that cannot be switched to: the detached child says so and
# exits; the command exits 1 and nothing is left listening.
detached nouser -s "" -S "" -u no-such-user-tether
[ $ST = 1 ] || fail "unknown user, detached: status $ST, want 1"
echo "$ERR" | grep -q "^tether-portmap: fatal: dropping privileges: " ||
	fail "unknown user, detached: no message on stderr: '$ERR'"
[ -z "$(daemon_pid "$DIR/nouser.sock")" ] ||
	fail "unknown user: a process is left"
if [ "$(id -u)" = 0 ]; then
	echo "$ERR" | grep -q "no such user: no-such-user-tether" ||
		fail "unknown user: '$ERR'"
	# Dropped in the child that serves, which runs as nobody.
	detached nobody -s "" -S "" -u nobody
	PID=$(daemon_pid "$DIR/nobody.sock")
	[ $ST = 0 ] || fail "-u nobody, detached: status $ST: $ERR"
	[ -n "$PID" ] || fail "no detached tether-portmap -u nobody found"
	answers || fail "-u nobody: no answer"
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$PID/status")
	[ "$uid" = "$(id -u nobody)" ] || fail "-u nobody: runs as uid $uid"
	stop_detached
fi

# Descriptors 0-2 closed, detached: still exits 0 and serves (with
# daemon(3), what landed on 0-2 was overwritten with /dev/null).
"$TP" -a 127.0.0.1 -p $PORT -s "" -S "" -C "$DIR/closed.sock" <&- >&- 2>&-
ST=$?
PID=$(daemon_pid "$DIR/closed.sock")
[ $ST = 0 ] || fail "detached with 0-2 closed: status $ST"
[ -n "$PID" ] || fail "no detached tether-portmap (0-2 closed) found"
answers || fail "detached with 0-2 closed: no answer over UDP"
answers_tcp || fail "detached with 0-2 closed: no answer over TCP"
std_null "$PID" || fail "detached with 0-2 closed: a socket on 0-2"
stop_detached

# The same in the foreground: stderr is /dev/null, not a socket that
# log lines would be written to.
"$TP" -d -a 127.0.0.1 -p $PORT -s "" -S "" <&- >&- 2>&- &
FG=$!
t_wait 50 0.1 answers || fail "-d with 0-2 closed: no answer over UDP"
answers_tcp || fail "-d with 0-2 closed: no answer over TCP"
std_null "$FG" || fail "-d with 0-2 closed: a socket on 0-2"
kill "$FG"
wait "$FG" || fail "-d with 0-2 closed: exit status $?"
FG=
echo "portmap detach: all checks passed"
