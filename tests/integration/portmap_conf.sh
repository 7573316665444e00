#!/bin/sh
# portmap_conf.sh - tether-portmap's configuration file: -n on the
# shipped example says "configuration OK", -n on a bad file prints every
# error as file:line:col with the line and a caret and exits 1, and a
# daemon started with -f listens where the file says (and where -p says
# when the option overrides it), without root.
# Usage: portmap_conf.sh TETHER_PORTMAP RPCPY EXAMPLE_CONF TETHERCTL
set -u
TP=$1 RPCPY=$2 EXAMPLE=$3 CTL=$4
DIR=$(mktemp -d /tmp/pmfeat-conf.$$.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	[ -f "$DIR/log" ] && sed 's/^/  log: /' "$DIR/log" >&2
	exit 1
}
command -v python3 >/dev/null || fail "python3 not found"

out=$("$TP" -n -f "$EXAMPLE" 2>&1) || fail "-n on the example: $out"
[ "$out" = "configuration OK" ] || fail "-n on the example: $out"

cat >"$DIR/bad.conf" <<'CONF'
# two mistakes and a good line
port 70000
listen 127.0.0.1
forward on rate fast
CONF
out=$("$TP" -n -f "$DIR/bad.conf" 2>&1) && fail "-n on a bad file: status 0"
printf '%s\n' "$out" | grep -qxF "$DIR/bad.conf:2:6: error: port is 1..65535, not '70000'" ||
	fail "no port error: $out"
printf '%s\n' "$out" | grep -qxF "$DIR/bad.conf:4:17: error: forward rate is 1..100000, not 'fast'" ||
	fail "no forward error: $out"
printf '%s\n' "$out" | grep -qxF "                ^" || fail "no caret: $out"
printf '%s\n' "$out" | grep -q "configuration OK" && fail "bad file said OK"

PORT=$((20000 + ($$ + 3001) % 10000))
tries=0
while :; do
	cat >"$DIR/good.conf" <<CONF
listen 127.0.0.1
port $((PORT + 1))
socket none; state none
control "$DIR/ctl.sock"
max-registrations total 10 per-owner 5
CONF
	out=$("$TP" -n -f "$DIR/good.conf" 2>&1)
	[ "$out" = "configuration OK" ] || fail "-n on good.conf: $out"
	# -p overrides the file's port.
	"$TP" -d -f "$DIR/good.conf" -p $PORT 2>"$DIR/log" &
	PID=$!
	i=0
	while kill -0 $PID 2>/dev/null && [ ! -S "$DIR/ctl.sock" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "no control socket"
		sleep 0.1
	done
	kill -0 $PID 2>/dev/null && break
	PID=
	tries=$((tries + 1))
	[ $tries -ge 5 ] && fail "tether-portmap did not start on 5 ports"
	PORT=$((PORT + 7))
done
[ "$(python3 "$RPCPY" null udp 127.0.0.1 $PORT 2)" = SUCCESS ] ||
	fail "no answer on the -p port"
[ "$(python3 "$RPCPY" null udp 127.0.0.1 $((PORT + 1)) 2)" = no-reply ] ||
	fail "answers on the file's port although -p overrides it"
regs=$("$CTL" -s "$DIR/ctl.sock" show registrations) || fail "tetherctl"
printf '%s\n' "$regs" | grep -q "netid=local" &&
	fail "socket none still registers a local socket"
printf '%s\n' "$regs" | grep -q "^registration prog=100000 vers=2 netid=udp addr=127.0.0.1.$((PORT / 256)).$((PORT % 256)) " ||
	fail "not listening per the file: $regs"
kill $PID
wait $PID || fail "daemon exited with status $? (sanitizer report in the log?)"
PID=
echo "portmap conf: all checks passed"
