#!/bin/sh
# portmap_fwd.sh - interop test of forwarding (CALLIT / BCAST /
# INDIRECT) against Debian's rpcbind -r, in a network namespace with a
# veth pair (loopback cannot broadcast; the far end sits in a second
# namespace). For each daemon: a libtirpc server registers, then
# `rpcinfo -b PROG VERS` (a real broadcast, v2 and v3) and raw remote
# calls over loopback (every answer and every silence) are recorded and
# must be the same for both. tether-portmap alone: forwarding is off
# without -F (no answer, counted), a caller on another host is refused,
# and tetherctl shows what was forwarded.
# Usage: portmap_fwd.sh TETHER_PORTMAP PEER RPCPY TETHERCTL WORKDIR
# Needs root and: iproute2 rpcbind rpcinfo python3 util-linux (unshare).
set -u
TP=$1 PEER=$2 RPCPY=$3 CTL=$4 WORK=$5
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
NS=${PMFWD_NS:-pmfeat-fwd-$$}
NS2=${PMFWD_NS2:-pmfeat-fwdp-$$}
PEERPROG=536871065
. "$(dirname "$0")/lib.sh"

if [ "${PMFWD_INNER:-}" = 1 ]; then
	# One daemon's scenario, in the namespace with a private /run.
	MODE=$6
	O=$WORK/$MODE
	DPID= SPID=
	stop() {
		[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
		[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
		wait 2>/dev/null
		DPID= SPID=
	}
	ifail() {
		stop
		fail "($MODE) $*"
	}
	mount -t tmpfs tmpfs /run || fail "cannot mount a private /run"
	mkdir -p /run/rpcbind
	start() {	# daemon arguments
		if [ "$MODE" = rpcbind ]; then
			rpcbind -f -r >>"$O.log" 2>&1 &
		else
			"$TP" -d -S "" -C /run/tpm.ctl "$@" >>"$O.log" 2>&1 &
		fi
		DPID=$!
		i=0
		until [ -S /run/rpcbind.sock ] &&
			rpcinfo -T udp 127.0.0.1 100000 2 >/dev/null 2>&1; do
			i=$((i + 1))
			[ $i -gt 50 ] && ifail "daemon did not come up"
			sleep 0.1
		done
		"$PEER" server >"$O.peer" 2>&1 &
		SPID=$!
		i=0
		until grep -q registered "$O.peer" 2>/dev/null; do
			i=$((i + 1))
			[ $i -gt 50 ] && ifail "libtirpc server did not register"
			sleep 0.1
		done
	}
	if [ "$MODE" = tether ]; then
		# Off by default: no answer at all, every call counted.
		start
		python3 "$RPCPY" fwdprobe $PEERPROG >"$O.off" ||
			ifail "fwdprobe (off)"
		grep -v ' no-reply$' "$O.off" | grep -v ' SYSTEM_ERR$' |
			grep -q . && ifail "answers with forwarding off: $(cat "$O.off")"
		"$CTL" -s /run/tpm.ctl show forwarding >"$O.ctl-off"
		grep -q "state=off forwarded=0 .* refused-off=11 " "$O.ctl-off" ||
			ifail "forwarding off counters: $(cat "$O.ctl-off")"
		stop
		rm -f /run/rpcbind.sock
		start -F
	else
		start
	fi
	python3 "$RPCPY" fwdprobe $PEERPROG >"$O.probe-raw" || ifail "fwdprobe"
	# Truncated arguments: libtirpc decodes past the end of the datagram
	# into whatever its buffer held before (here the previous call's
	# version), so rpcbind answers PROG_MISMATCH; we answer GARBAGE_ARGS
	# (checked below) and leave the case out of the comparison.
	grep -v '^v4-indirect-garbage ' "$O.probe-raw" >"$O.probe"
	# The broadcast: rpcinfo waits for answers until its own timeout.
	timeout 60 rpcinfo -b $PEERPROG 1 >"$O.bcast-raw" 2>"$O.bcast-err"
	sed 's/\.[0-9]*\.[0-9]*\([[:space:]]\)/.P.P\1/' "$O.bcast-raw" |
		sort >"$O.bcast"
	if [ "$MODE" = tether ]; then
		"$CTL" -s /run/tpm.ctl show forwarding >"$O.ctl"
		grep -q "^forwarding state=on forwarded=[1-9]" "$O.ctl" ||
			ifail "nothing forwarded: $(cat "$O.ctl")"
		# A caller on another host is not served.
		# (/run/netns is hidden by our private /run: enter the far
		# namespace through a process that lives in it.)
		nsenter --net=/proc/$PMFWD_FAR/ns/net python3 "$RPCPY" \
			fwdprobe $PEERPROG 10.77.0.1 >"$O.remote" 2>&1 ||
			ifail "remote fwdprobe"
		grep -q "^v4-indirect-echo no-reply$" "$O.remote" ||
			ifail "remote caller served: $(cat "$O.remote")"
		"$CTL" -s /run/tpm.ctl show forwarding >"$O.ctl2"
		grep -q "refused-remote=[1-9]" "$O.ctl2" ||
			ifail "remote refusals not counted: $(cat "$O.ctl2")"
		[ "$(grep -c "forwarding: refused a remote call from 10.77.0.2" \
			"$O.log")" = 1 ] ||
			ifail "remote refusals not logged once: $(cat "$O.log")"
	fi
	stop
	exit 0
fi

[ "$(id -u)" = 0 ] || fail "needs root (network and mount namespaces)"
for t in ip rpcbind rpcinfo python3 unshare nsenter timeout; do
	command -v $t >/dev/null 2>&1 ||
		fail "$t not found (Debian: iproute2 rpcbind python3 util-linux)"
done
[ -x "$TP" ] && [ -x "$PEER" ] && [ -x "$CTL" ] || fail "binaries missing"
trap 't_netns_del $NS $NS2' EXIT
trap 'exit 1' INT TERM
rm -rf "$WORK"
mkdir -p "$WORK"
ip netns add $NS || fail "ip netns add"
ip netns add $NS2 || fail "ip netns add"
ip netns exec $NS ip link set lo up || fail "lo up"
ip netns exec $NS2 ip link set lo up || fail "lo up"
ip netns exec $NS ip link add v0 type veth peer name v1 || fail "veth"
ip netns exec $NS ip link set v1 netns $NS2 || fail "veth move"
ip netns exec $NS ip addr add 10.77.0.1/24 brd + dev v0 || fail "addr"
ip netns exec $NS2 ip addr add 10.77.0.2/24 brd + dev v1 || fail "addr"
ip netns exec $NS ip link set v0 up || fail "v0 up"
ip netns exec $NS2 ip link set v1 up || fail "v1 up"

ip netns exec $NS2 sleep 600 &
FAR=$!
for mode in rpcbind tether; do
	PMFWD_FAR=$FAR PMFWD_INNER=1 PMFWD_NS=$NS PMFWD_NS2=$NS2 ip netns exec $NS unshare -m sh "$SELF" "$TP" "$PEER" \
		"$RPCPY" "$CTL" "$WORK" $mode ||
		fail "$mode scenario (logs in $WORK)"
	for p in $(ip netns pids $NS); do
		kill -9 "$p" 2>/dev/null
	done
done

status=0
for f in probe bcast; do
	if ! diff -u "$WORK/rpcbind.$f" "$WORK/tether.$f" >"$WORK/diff.$f"; then
		echo "FAIL: $f differs from rpcbind -r:" >&2
		cat "$WORK/diff.$f" >&2
		status=1
	fi
done
# Both must have answered something: an empty broadcast is no test.
grep -q "^10\.77\.0\.1\.P\.P" "$WORK/rpcbind.bcast" ||
	{ echo "FAIL: rpcinfo -b got no answer from rpcbind" >&2; status=1; }
grep -q "^v4-indirect-echo SUCCESS addr=127.0.0.1.P results=000000040000002a$" \
	"$WORK/tether.probe" ||
	{ echo "FAIL: INDIRECT did not reach the service" >&2; status=1; }
grep -q "^v4-indirect-garbage GARBAGE_ARGS$" "$WORK/tether.probe-raw" ||
	{ echo "FAIL: truncated INDIRECT not GARBAGE_ARGS" >&2; status=1; }
[ $status = 0 ] && echo "portmap forwarding interop: all checks passed"
exit $status
