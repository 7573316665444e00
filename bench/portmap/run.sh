#!/bin/sh
# run.sh - bench/portmap: GETPORT and GETADDR calls per second over UDP
# and TCP, tether-portmap against Debian's rpcbind, in the same run.
# Each daemon runs in a network namespace of its own (port 111 free,
# private /run) with the same registration (300001 v1 on tcp and udp);
# measurements alternate between the two, ROUNDS times per case, so
# machine load hits both alike; the figure is the mean over rounds.
# Usage: run.sh TETHER_PORTMAP BENCH_CLIENT REGISTER_PY [SECONDS [ROUNDS]]
set -u
TP=$1 CL=$2 RPCPY=$3 SECS=${4:-1} ROUNDS=${5:-3}
[ "$(id -u)" = 0 ] || { echo "bench/portmap: needs root" >&2; exit 1; }
command -v rpcbind >/dev/null || { echo "rpcbind missing" >&2; exit 1; }
NSR=tpmr-$$ NST=tpmt-$$
cleanup() {
	for ns in $NSR $NST; do
		for p in $(ip netns pids $ns 2>/dev/null); do kill -9 "$p"; done
		ip netns del $ns 2>/dev/null
	done
}
trap cleanup EXIT
OUT=$(mktemp -d)
for ns in $NSR $NST; do
	ip netns add $ns && ip netns exec $ns ip link set lo up || exit 1
done
start() {	# ns, command
	ip netns exec $1 unshare -m sh -c '
		mount -t tmpfs tmpfs /run; mkdir -p /run/rpcbind
		$1 >/dev/null 2>&1 &
		pid=$!
		for i in $(seq 50); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done
		/usr/bin/python3 "$0" register /run/rpcbind.sock >/dev/null ||
			{ echo "register failed" >&2; kill $pid; exit 1; }
		touch "$2"
		wait $pid' "$RPCPY" "$2" "$OUT/ready.$1" &
	for i in $(seq 50); do [ -f "$OUT/ready.$1" ] && return 0; sleep 0.1; done
	echo "bench/portmap: $2 did not start" >&2
	exit 1
}
start $NSR "rpcbind -f"
start $NST "$TP -d -S $OUT/tether.state"
printf "%-12s %14s %14s %8s\n" "calls/s" "tether-portmap" "rpcbind" "ratio"
for t in udp tcp; do
	for c in getport getaddr; do
		a=0 b=0 r=0
		while [ $r -lt "$ROUNDS" ]; do
			x=$(ip netns exec $NST "$CL" $t $c "$SECS") || exit 1
			y=$(ip netns exec $NSR "$CL" $t $c "$SECS") || exit 1
			a=$((a + x)) b=$((b + y)) r=$((r + 1))
		done
		awk -v n="$t $c" -v a=$((a / ROUNDS)) -v b=$((b / ROUNDS)) \
			'BEGIN { printf "%-12s %14d %14d %7.2fx\n", n, a, b,
			(b > 0 ? a / b : 0) }'
	done
done
rm -rf "$OUT"
