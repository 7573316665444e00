#!/bin/sh
# portmap_conf.sh - tether-portmap's configuration file: -n on the
# shipped example says "configuration OK", -n on a bad file prints every
# error as file:line:col with the line and a caret and exits 1, and a
# daemon started with -f listens where the file says (and where -p says
# when the option overrides it), without root.
# Usage: portmap_conf.sh TETHER_PORTMAP RPCPY EXAMPLE_CONF TETHERCTL
set -u
TP=$1 RPCPY=$2 EXAMPLE=$3 CTL=$4
. "$(dirname "$0")/lib.sh"
t_setup pmfeat-conf
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

launch() {
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
}
t_port 3001
t_start launch t_ctl_up "no control socket"
[ "$(python3 "$RPCPY" null udp 127.0.0.1 $PORT 2)" = SUCCESS ] ||
	fail "no answer on the -p port"
[ "$(python3 "$RPCPY" null udp 127.0.0.1 $((PORT + 1)) 2)" = no-reply ] ||
	fail "answers on the file's port although -p overrides it"
regs=$("$CTL" -s "$DIR/ctl.sock" show registrations) || fail "tetherctl"
printf '%s\n' "$regs" | grep -q "netid=local" &&
	fail "socket none still registers a local socket"
printf '%s\n' "$regs" | grep -q "^registration prog=100000 vers=2 netid=udp addr=127.0.0.1.$((PORT / 256)).$((PORT % 256)) " ||
	fail "not listening per the file: $regs"
t_stop
echo "portmap conf: all checks passed"
