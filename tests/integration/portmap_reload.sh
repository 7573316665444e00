#!/bin/sh
# portmap_reload.sh - tether-portmap re-reads its -f file on SIGHUP, in a
# network namespace of its own (unshare -n, so it listens on port 111
# where Debian's rpcinfo -p looks). A registration made before the
# reloads is still listed by rpcinfo -p after each of them, as is the
# state file and a TCP connection opened before them; a good file
# turns forwarding on, changes its rate and the control socket's
# connection limit (tetherctl show forwarding) and lowers
# max-registrations (the next SET over the limit is refused); a broken
# file is logged as file:line:col and changes nothing; a changed port
# is logged as needing a restart and the daemon keeps answering on the
# old one; a new control path and pruning take effect at once, and a
# removed control socket file is bound again by a reload; run as
# user nobody, new admin limits keep the control socket it could not
# bind again; detached with a relative -f path, SIGHUP finds the file.
# Needs root and: rpcinfo (rpcbind) python3 util-linux (unshare).
# Usage: portmap_reload.sh TETHER_PORTMAP TETHERCTL RPCPY
set -u
TP=$1 CTL=$2 RPCPY=$3

if [ -z "${PMRELOAD_INNER:-}" ]; then
	for t in rpcinfo python3 unshare ip; do
		command -v $t >/dev/null ||
			{ echo "FAIL: $t not found" >&2; exit 1; }
	done
	[ "$(id -u)" = 0 ] || { echo "FAIL: needs root" >&2; exit 1; }
	# The namespace dies with the shell; every process in it is ours.
	PMRELOAD_INNER=1 exec unshare -n sh "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"
t_setup pmreload HOLD
ip link set lo up || fail "lo up"

# Wait until the log has one more line matching $1 than $2 (the count
# before the signal).
wait_log() {
	t_wait 100 0.05 log_more "$1" "$2" || fail "no log line: $1"
}
log_more() {
	[ "$(grep -c -- "$1" "$DIR/log")" -gt "$2" ] && return 0
	kill -0 $PID 2>/dev/null || fail "daemon died"
	return 1
}
hup() {
	n=$(grep -c "reloaded configuration from\|reload of .* failed" \
		"$DIR/log")
	kill -HUP $PID || fail "kill -HUP"
	wait_log "reloaded configuration from\|reload of .* failed" "$n"
}
ctl() { "$CTL" -s "$DIR/ctl.sock" "$@" || fail "tetherctl $*"; }
rpcinfo_has() {	# rpcinfo -p lists program $1 version $2 proto $3 port $4
	rpcinfo -p 127.0.0.1 >"$DIR/p" 2>&1 || fail "rpcinfo -p: $(cat "$DIR/p")"
	awk -v p="$1" -v v="$2" -v t="$3" -v n="$4" \
		'$1 == p && $2 == v && $3 == t && $4 == n { f = 1 }
		 END { exit !f }' "$DIR/p" ||
		{ sed 's/^/  rpcinfo: /' "$DIR/p" >&2; fail "rpcinfo -p: no $*"; }
}

CONF=$DIR/portmap.conf
cat >"$CONF" <<CONF
listen 127.0.0.1
port 111
socket "$DIR/rpcbind.sock"
state "$DIR/state"
control "$DIR/ctl.sock"
admin conns 4
max-registrations total 100 per-owner 100
forward off
CONF
"$TP" -d -f "$CONF" 2>"$DIR/log" &
PID=$!
wait_log "ready:" 0

# A registration (over the local socket) and a TCP connection held open
# across the reloads.
out=$(python3 "$RPCPY" set-pid "$DIR/rpcbind.sock" 300011 1 tcp \
	127.0.0.1.3.1) || fail "SET: $out"
[ "${out#* }" = TRUE ] || fail "SET: $out"
rpcinfo_has 300011 1 tcp 769
# The held connection sends a NULL call once $DIR/go exists.
python3 -c 'import os, socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", 111))
print("up", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
c = struct.pack(">10I", 77, 0, 2, 100000, 2, 0, 0, 0, 0, 0)
s.sendall(struct.pack(">I", 0x80000000 | len(c)) + c)
s.settimeout(5)
r = s.recv(4096)
ok = len(r) >= 28 and struct.unpack(">7I", r[:28])[1:3] == (77, 1)
print("served" if ok else "not served", flush=True)' "$DIR/go" >"$DIR/hold" &
HOLD=$!
t_wait 100 0.05 grep -q up "$DIR/hold" || fail "no held connection"
ctl show forwarding | grep -q "^forwarding state=off " ||
	fail "forwarding not off at start"

# 1. A good file: forwarding on with a rate, fewer registrations,
# a larger admin connection limit.
# (The daemon's own entries do not count against the limit.)
nregs=$(ctl show registrations | grep -vc " builtin$")
[ "$nregs" = 1 ] || fail "expected 1 registration, got $nregs"
limit=2
cat >"$CONF" <<CONF
listen 127.0.0.1
port 111
socket "$DIR/rpcbind.sock"
state "$DIR/state"
control "$DIR/ctl.sock"
admin conns 8
max-registrations total $limit per-owner $limit
forward on rate 7 burst 9
CONF
hup
grep -q "reloaded configuration from $CONF: 6 settings changed, 0 not applied" \
	"$DIR/log" || fail "no summary with 6 changes"
grep -q "reload: forward: 'off' -> 'on'" "$DIR/log" ||
	fail "forward change not logged"
grep -q "forwarding on: local callers, 7/s burst 9" "$DIR/log" ||
	fail "forwarding not started with the new rate"
ctl show forwarding | grep -q "^forwarding state=on " ||
	fail "forwarding not on after the reload"
rpcinfo_has 300011 1 tcp 769
[ -f "$DIR/state" ] && grep -q 300011 "$DIR/state" ||
	fail "state file lost the registration"
# The new limit: one more registration fits, the next is refused.
out=$(python3 "$RPCPY" set-pid "$DIR/rpcbind.sock" 300012 1 tcp \
	127.0.0.1.3.2)
[ "${out#* }" = TRUE ] || fail "SET under the new limit: $out"
out=$(python3 "$RPCPY" set-pid "$DIR/rpcbind.sock" 300013 1 tcp \
	127.0.0.1.3.3)
[ "${out#* }" = FALSE ] || fail "SET over the new limit: $out"

# 2. A broken file: errors with file:line:col, nothing changes.
cat >"$CONF" <<CONF
listen 127.0.0.1
port 111
forward off rate fast
max-registrations total 1000
CONF
hup
grep -qF "$CONF:3:18: error: forward rate is 1..100000, not 'fast'" \
	"$DIR/log" || fail "no file:line:col error"
grep -q "reload of $CONF failed: .*; keeping the running configuration" \
	"$DIR/log" || fail "no 'keeping' line"
ctl show forwarding | grep -q "^forwarding state=on " ||
	fail "a broken file turned forwarding off"
out=$(python3 "$RPCPY" set-pid "$DIR/rpcbind.sock" 300013 1 tcp \
	127.0.0.1.3.3)
[ "${out#* }" = FALSE ] || fail "a broken file changed the limit: $out"
rpcinfo_has 300011 1 tcp 769

# 3. A setting that needs a restart: logged, the old port kept.
cat >"$CONF" <<CONF
listen 127.0.0.1
port 1111
socket "$DIR/rpcbind.sock"
state "$DIR/state"
control "$DIR/ctl.sock"
admin conns 8
max-registrations total $limit per-owner $limit
forward on rate 7 burst 9
CONF
hup
grep -q "reload: port changed from '111' to '1111': needs a restart; keeping '111'" \
	"$DIR/log" || fail "no 'needs a restart' line for port"
grep -q "reloaded configuration from $CONF: 0 settings changed, 1 not applied" \
	"$DIR/log" || fail "no summary with 1 not applied"
rpcinfo_has 300011 1 tcp 769
rpcinfo_has 300012 1 tcp 770
[ "$(python3 "$RPCPY" null udp 127.0.0.1 1111 2)" = no-reply ] ||
	fail "answers on the new port without a restart"

# 4. Runtime settings again: a new control socket path (the old one
# goes away) and pruning started (the registrations' processes, the
# short-lived SET clients, have exited, so pruning drops them).
cat >"$CONF" <<CONF
listen 127.0.0.1
port 111
socket "$DIR/rpcbind.sock"
state "$DIR/state"
control "$DIR/ctl2.sock"
admin conns 8
max-registrations total $limit per-owner $limit
forward on rate 7 burst 9
prune 200ms
CONF
hup
grep -q "reloaded configuration from $CONF: 2 settings changed, 0 not applied" \
	"$DIR/log" || fail "no summary with 2 changes"
grep -qF "reload: control: '$DIR/ctl.sock' -> '$DIR/ctl2.sock'" \
	"$DIR/log" || fail "control change not logged"
[ -S "$DIR/ctl2.sock" ] || fail "no new control socket"
[ -e "$DIR/ctl.sock" ] && fail "old control socket left behind"
"$CTL" -s "$DIR/ctl2.sock" show prune | grep -q "^prune interval=200ms " ||
	fail "prune interval not applied"
t_wait 100 0.05 grep -q "pruned prog 300011 vers 1 tcp .*: process exited" \
	"$DIR/log" || fail "pruning did not start"

# 5. The control socket file removed (a tmpfiles cleanup, an rm): a
# reload with the file unchanged binds it again (it kept the unlinked
# socket: "No such file or directory" until a restart).
rm "$DIR/ctl2.sock"
hup
"$CTL" -s "$DIR/ctl2.sock" show prune | grep -q "^prune interval=200ms " ||
	fail "removed control socket: tetherctl does not reach the daemon"
grep -qF "reload: control socket $DIR/ctl2.sock was removed or replaced: binding it again" \
	"$DIR/log" || fail "removed control socket: not logged"

# The connection opened before the reloads is still open and served.
touch "$DIR/go"
t_wait 100 0.05 grep -q served "$DIR/hold" ||
	fail "held connection: no answer"
grep -qx served "$DIR/hold" || fail "held connection: $(cat "$DIR/hold")"
wait $HOLD
HOLD=

t_stop

# Running as another user (user nobody), with the control socket in a
# directory only root may write: new admin limits apply to the open
# socket; it is not closed and bound again, which that user could not.
chmod 755 "$DIR"
mkdir -m 755 "$DIR/priv" "$DIR/nb"
chown nobody "$DIR/nb"
CONF2=$DIR/portmap2.conf
mv "$DIR/log" "$DIR/log1"
cat >"$CONF2" <<CONF
listen 127.0.0.1
port 111
socket ""
state "$DIR/nb/state"
control "$DIR/priv/ctl.sock"
admin conns 4
user nobody
CONF
"$TP" -d -f "$CONF2" 2>"$DIR/log" &
PID=$!
wait_log "ready:" 0
"$CTL" -s "$DIR/priv/ctl.sock" show registrations >/dev/null ||
	fail "user nobody: no control socket"
sed -i 's/^admin conns 4$/admin conns 8/' "$CONF2"
hup
grep -q "control socket lost" "$DIR/log" && fail "control socket lost"
"$CTL" -s "$DIR/priv/ctl.sock" show registrations >/dev/null ||
	fail "user nobody: the control socket is gone after the reload"
grep -q "reloaded configuration from $CONF2: 1 setting changed, 0 not applied" \
	"$DIR/log" || fail "user nobody: admin conns not applied"
t_stop

# Detached (no -d: detaching moves to /) with a relative -f path: SIGHUP
# still finds the file (forwarding turns on, seen through tetherctl).
cat >"$DIR/portmap3.conf" <<CONF
listen 127.0.0.1
port 111
socket ""
state "$DIR/state3"
control "$DIR/ctl3.sock"
forward off
CONF
(cd "$DIR" && "$TP" -f portmap3.conf) || fail "detached start"
# Ours: that command line, in this network namespace.
for p in $(pgrep -f -- "-f portmap3.conf"); do
	[ "$(readlink /proc/$p/ns/net)" = "$(readlink /proc/$$/ns/net)" ] &&
		PID=$p
done
[ -n "$PID" ] || fail "detached daemon: no pid"
fwd3() {	# forwarding state, through ctl3.sock
	"$CTL" -s "$DIR/ctl3.sock" show forwarding 2>/dev/null |
		grep -q "^forwarding state=$1 "
}
t_wait 100 0.05 fwd3 off || fail "detached daemon: no control socket"
sed -i 's/^forward off$/forward on/' "$DIR/portmap3.conf"
kill -HUP "$PID" || fail "kill -HUP (detached)"
t_wait 100 0.05 fwd3 on || fail "relative -f: the reload did not take"
kill "$PID"
gone() { ! kill -0 "$PID" 2>/dev/null; }
t_wait 100 0.05 gone || fail "detached daemon did not stop"
PID=
echo "portmap reload: all checks passed"
