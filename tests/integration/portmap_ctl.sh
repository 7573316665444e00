#!/bin/sh
# portmap_ctl.sh - tether-portmap's control socket through tetherctl,
# without root or namespaces: a registration made over the local socket
# is listed with its owner and the registering pid, calls are counted
# per version and procedure, a wrong version is counted as rejected,
# forwarding shows off, and bad commands get "error:" with status 1.
# Usage: portmap_ctl.sh TETHER_PORTMAP TETHERCTL RPCPY
set -u
TP=$1 CTL=$2 RPCPY=$3
. "$(dirname "$0")/lib.sh"
t_setup pmfeat-ctl
has() {	# text pattern: fixed-string line match
	printf '%s\n' "$1" | grep -qxF -- "$2" || {
		printf '%s\n' "$1" | sed 's/^/  got: /' >&2
		fail "missing line: $2"
	}
}
command -v python3 >/dev/null || fail "python3 not found"

launch() {
	"$TP" -d -a 127.0.0.1 -p $PORT -s "$DIR/rpcbind.sock" \
		-S "$DIR/state" -C "$DIR/ctl.sock" 2>"$DIR/log" &
	PID=$!
}
t_port 0
t_start launch t_ctl_up "no control socket"
[ "$(stat -c %a "$DIR/ctl.sock")" = 660 ] || fail "control socket mode"

# A registration over the local socket: owner from the uid, pid kept.
out=$(python3 "$RPCPY" set-pid "$DIR/rpcbind.sock" 300001 1 tcp 0.0.0.0.3.1)
set -- $out
[ "${2:-}" = TRUE ] || fail "SET over the local socket: $out"
regpid=$1
uid=$(id -u)
if [ "$uid" = 0 ]; then owner=superuser; else owner=$uid; fi

for i in 1 2; do
	[ "$(python3 "$RPCPY" null udp 127.0.0.1 $PORT 2)" = SUCCESS ] ||
		fail "v2 NULL over UDP"
done
[ "$(python3 "$RPCPY" null tcp 127.0.0.1 $PORT 4)" = SUCCESS ] ||
	fail "v4 NULL over TCP"
[ "$(python3 "$RPCPY" null udp 127.0.0.1 $PORT 7)" = PROG_MISMATCH ] ||
	fail "version 7 not refused"

regs=$("$CTL" -s "$DIR/ctl.sock" show registrations) ||
	fail "show registrations failed"
has "$regs" "registration prog=300001 vers=1 netid=tcp addr=0.0.0.0.3.1 owner=$owner pid=$regpid"
has "$regs" "registration prog=100000 vers=2 netid=udp addr=127.0.0.1.$((PORT / 256)).$((PORT % 256)) owner=superuser pid=- builtin"

calls=$("$CTL" -s "$DIR/ctl.sock" show calls) || fail "show calls failed"
has "$calls" "calls vers=2 proc=null count=2"
has "$calls" "calls vers=4 proc=null count=1"
has "$calls" "calls vers=3 proc=set count=1"
has "$calls" "calls vers=2 proc=getport count=0"
[ "$(printf '%s\n' "$calls" | wc -l)" = 28 ] || fail "not 6+9+13 procedures"

rej=$("$CTL" -s "$DIR/ctl.sock" show rejected) || fail "show rejected failed"
has "$rej" "rejected reason=version count=1"
has "$rej" "rejected reason=program count=0"

fwd=$("$CTL" -s "$DIR/ctl.sock" show forwarding) ||
	fail "show forwarding failed"
printf '%s\n' "$fwd" | grep -q "^forwarding state=off forwarded=0 " ||
	fail "forwarding: $fwd"

all=$("$CTL" -s "$DIR/ctl.sock" show all) || fail "show all failed"
[ "$(printf '%s\n' "$all" | grep -c '^registration ')" = \
	"$(printf '%s\n' "$regs" | wc -l)" ] || fail "show all: registrations"
printf '%s\n' "$all" | grep -q "^calls vers=4 proc=getstat " ||
	fail "show all: calls"
printf '%s\n' "$all" | grep -q "^rejected reason=version count=1" ||
	fail "show all: rejected"
printf '%s\n' "$all" | grep -q "^forwarding state=off" ||
	fail "show all: forwarding"

# Errors: status 1 and an "error:" line.
out=$("$CTL" -s "$DIR/ctl.sock" show nothing) && fail "bad command: status 0"
printf '%s\n' "$out" | grep -q "^error: show registrations" ||
	fail "bad command: $out"
long=$(head -c 400 /dev/zero | tr '\0' x)
out=$("$CTL" -s "$DIR/ctl.sock" show "$long") && fail "long line: status 0"
[ "$out" = "error: command too long" ] || fail "long line: $out"

# The daemon still answers, and removes its socket at exit.
[ "$(python3 "$RPCPY" null udp 127.0.0.1 $PORT 3)" = SUCCESS ] ||
	fail "no answer after the control checks"
t_stop
[ -e "$DIR/ctl.sock" ] && fail "control socket left behind"
echo "portmap ctl: all checks passed"
