# lib.sh - what the portmap shell tests share, sourced (never run) as
# . "$(dirname "$0")/lib.sh": fail() with the daemon's log, a work
# directory and daemons cleaned up at exit even on failure, polling with a
# bound, tether-portmap started on a free port below the ephemeral range,
# stopped with its exit status checked, and test namespaces removed.
# POSIX sh (dash); the caller runs under set -u.

# fail MESSAGE: says FAIL on stderr with $DIR/log (when there is one) and
# exits 1; the EXIT trap (t_setup) then cleans up.
fail() {
	echo "FAIL: $*" >&2
	[ -n "${DIR:-}" ] && [ -f "$DIR/log" ] && sed 's/^/  log: /' "$DIR/log" >&2
	exit 1
}

# t_setup PREFIX [VAR...]: makes DIR=/tmp/PREFIX.<pid>.XXXXXX and traps
# EXIT, INT and TERM: the processes whose pids the variables PID and
# VAR... hold at that moment are killed (and waited for if they are our
# children), then DIR is removed.
t_setup() {
	DIR=$(mktemp -d "/tmp/$1.$$.XXXXXX") || { echo "FAIL: mktemp" >&2; exit 1; }
	shift
	PID=
	T_PIDVARS="$*"
	for _v in $T_PIDVARS; do
		eval "$_v="
	done
	trap t_cleanup EXIT
	trap 'exit 1' INT TERM
}
t_cleanup() {
	for _v in $T_PIDVARS PID; do
		eval "_p=\${$_v:-}"
		for _q in $_p; do
			kill "$_q" 2>/dev/null && wait "$_q" 2>/dev/null
		done
	done
	rm -rf "$DIR"
}

# t_forget VAR PID: drop PID (killed and reaped by the test) from the
# pid list in VAR, so that t_cleanup never signals a pid reused since.
t_forget() {
	eval "_l=\${$1:-}"
	_k=
	for _q in $_l; do
		[ "$_q" = "$2" ] || _k="$_k $_q"
	done
	eval "$1=\$_k"
}

# t_wait TRIES DELAY CMD...: runs CMD until it succeeds, sleeping DELAY
# seconds between tries; returns 1 once it has failed TRIES + 1 times.
t_wait() {
	_n=$1 _d=$2
	shift 2
	_i=0
	until "$@"; do
		_i=$((_i + 1))
		[ $_i -gt "$_n" ] && return 1
		sleep "$_d"
	done
	return 0
}

# t_port OFFSET: PORT=20000 + (pid + OFFSET) % 10000, below the kernel's
# ephemeral range (32768 and up) so that parallel tests' outgoing
# connections cannot take it; scripts differ in OFFSET.
t_port() {
	PORT=$((20000 + ($$ + $1) % 10000))
}

# t_start LAUNCH READY WHAT: runs LAUNCH (a command that starts the daemon
# in the background on $PORT and sets PID) and waits, 5 s at most, until
# READY succeeds (fail "WHAT" after that). A daemon that exits meanwhile
# found its port taken by another test: the next try is 7 ports up, and
# after 5 tries the test fails.
t_start() {
	_tries=0
	while :; do
		$1
		t_wait 50 0.1 t_up_or_gone "$2" || fail "$3 (port $PORT)"
		kill -0 "$PID" 2>/dev/null && return 0
		PID=
		_tries=$((_tries + 1))
		[ $_tries -ge 5 ] && fail "tether-portmap did not start on 5 ports"
		PORT=$((PORT + 7))
	done
}
t_ctl_up() {	# READY for a daemon with control "$DIR/ctl.sock"
	[ -S "$DIR/ctl.sock" ]
}
t_up_or_gone() {	# READY: true once the daemon has exited or READY holds
	! kill -0 "$PID" 2>/dev/null || $1
}

# t_stop: SIGTERM to the daemon $PID; it must exit with status 0 (a
# sanitizer build reports leaks and errors at exit into the log).
t_stop() {
	kill "$PID"
	wait "$PID" ||
		fail "daemon exited with status $? (sanitizer report in the log?)"
	PID=
}

# t_netns_del NS...: kills every process in the network namespaces and
# deletes them (for EXIT traps; namespaces that are gone are skipped).
t_netns_del() {
	for _ns in "$@"; do
		for _p in $(ip netns pids "$_ns" 2>/dev/null); do
			kill -9 "$_p" 2>/dev/null
		done
		ip netns del "$_ns" 2>/dev/null
	done
	return 0
}
