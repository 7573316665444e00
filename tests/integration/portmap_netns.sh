#!/bin/sh
# portmap_netns.sh - interop test of tether-portmap against Debian's
# rpcbind, rpcinfo and a libtirpc server and client, in a network
# namespace made for the test (port 111 free, lo up) with a private /run.
# Both daemons get the same registrations; rpcinfo -p / -s / -l / the
# full listing / -T / -a, and raw probe replies, must be identical.
# Then tether-portmap alone: kill -9 and restart, SET access rules,
# ownership, the rpcbomb, a truncated state file.
# Usage: portmap_netns.sh TETHER_PORTMAP PEER WORKDIR
# Needs root and: iproute2 rpcbind python3 util-linux (setpriv, unshare).
set -u
TP=$1 PEER=$2 WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
NS=tpm-$$
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || fail "needs root (network and mount namespaces)"
for t in ip rpcbind rpcinfo python3 unshare setpriv cmp; do
	command -v $t >/dev/null 2>&1 ||
		fail "$t not found (Debian: iproute2 rpcbind python3 util-linux)"
done
[ -x "$TP" ] && [ -x "$PEER" ] || fail "binaries missing"

trap 't_netns_del $NS' EXIT
trap 'exit 1' INT TERM

rm -rf "$WORK"
mkdir -p "$WORK"
chmod 755 "$WORK"
ip netns add $NS || fail "ip netns add"
ip netns exec $NS ip link set lo up || fail "lo up"

for mode in rpcbind tether; do
	ip netns exec $NS unshare -m sh "$HERE/portmap_inner.sh" $mode \
		"$TP" "$PEER" "$HERE/portmap_rpc.py" "$WORK" ||
		fail "$mode scenario (logs in $WORK)"
	# Nothing of this mode may survive into the next.
	for p in $(ip netns pids $NS); do
		kill -9 "$p" 2>/dev/null
	done
done

status=0
for f in register p s dump l t probe; do
	if ! diff -u "$WORK/rpcbind.$f" "$WORK/tether.$f" >"$WORK/diff.$f"; then
		echo "FAIL: $f differs from rpcbind:" >&2
		head -40 "$WORK/diff.$f" >&2
		status=1
	fi
done
# The libtirpc server's ports differ between runs: compare the rest.
sed 's/[0-9.]*\.[0-9]*\.[0-9]*$//' "$WORK/rpcbind.peerlisted" |
	grep -v ECHO >"$WORK/rpcbind.peer-cmp"
sed 's/[0-9.]*\.[0-9]*\.[0-9]*$//' "$WORK/tether.peerlisted" |
	grep -v ECHO >"$WORK/tether.peer-cmp"
diff -u "$WORK/rpcbind.peer-cmp" "$WORK/tether.peer-cmp" >&2 || status=1
[ $status = 0 ] && echo "portmap interop: all checks passed"
exit $status
