#!/bin/sh
# run.sh - bench/portmap: GETPORT (v2) and GETADDR (v4) calls per second
# over UDP and TCP, 32 calls in flight and 1 (synchronous), against
# tether-portmap and Debian's rpcbind started in the same run. Each
# daemon runs in a network namespace of its own (port 111 free, private
# /run) with the same registration (300001 v1 on tcp and udp), pinned to
# CPU 0 while the client runs on CPU 1; measurements alternate between
# the two daemons, ROUNDS times per case, so machine load hits both
# alike; the figure is the median over rounds. A third namespace holds
# bench_portmap's null server (answers without doing anything): the
# floor this machine's wakeups and loopback set, shown beside the two.
# Usage: run.sh TETHER_PORTMAP BENCH_CLIENT REGISTER_PY [SECONDS [ROUNDS]]
# (BENCH_WINDOWS="1" in the environment runs only the 1-in-flight rows)
set -u
TP=$1 CL=$2 RPCPY=$3 SECS=${4:-1} ROUNDS=${5:-5}
[ "$(id -u)" = 0 ] || { echo "bench/portmap: needs root" >&2; exit 1; }
command -v rpcbind >/dev/null || { echo "rpcbind missing" >&2; exit 1; }
command -v taskset >/dev/null || { echo "taskset missing" >&2; exit 1; }
# Server and client on different CPUs when there are two.
if [ "$(nproc)" -ge 2 ]; then SCPU=0 CCPU=1; else SCPU=0 CCPU=0; fi
NSR=tpmr-$$ NST=tpmt-$$ NSN=tpmn-$$
OUT=$(mktemp -d)
cleanup() {
	for ns in $NSR $NST $NSN; do
		for p in $(ip netns pids $ns 2>/dev/null); do kill -9 "$p"; done
		ip netns del $ns 2>/dev/null
	done
	rm -rf "$OUT"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP
for ns in $NSR $NST $NSN; do
	ip netns add $ns && ip netns exec $ns ip link set lo up || exit 1
done
start() {	# ns, command
	ip netns exec $1 unshare -m sh -c '
		mount -t tmpfs tmpfs /run; mkdir -p /run/rpcbind
		taskset -c '$SCPU' $1 >/dev/null 2>&1 &
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
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
start $NSR "rpcbind -f"
start $NST "$TP -d -S $OUT/tether.state"
ip netns exec $NSN taskset -c $SCPU "$CL" null-server &
sleep 0.3
echo "bench/portmap: median of $ROUNDS rounds of ${SECS}s; server on CPU" \
	"$SCPU, client on CPU $CCPU; shared machine, compare ratios"
printf "%-18s %14s %14s %8s %12s\n" "calls/s" "tether-portmap" "rpcbind" \
	"ratio" "null-server"
for w in ${BENCH_WINDOWS:-32 1}; do
	for t in udp tcp; do
		for c in getport getaddr; do
			: >"$OUT/a"; : >"$OUT/b"; : >"$OUT/n"
			r=0
			while [ $r -lt "$ROUNDS" ]; do
				ip netns exec $NST taskset -c $CCPU "$CL" $t $c $w \
					"$SECS" >>"$OUT/a" || exit 1
				ip netns exec $NSR taskset -c $CCPU "$CL" $t $c $w \
					"$SECS" >>"$OUT/b" || exit 1
				ip netns exec $NSN taskset -c $CCPU "$CL" $t $c $w \
					"$SECS" >>"$OUT/n" || exit 1
				r=$((r + 1))
			done
			a=$(median <"$OUT/a") b=$(median <"$OUT/b")
			z=$(median <"$OUT/n")
			awk -v n="$t $c w$w" -v a="$a" -v b="$b" -v z="$z" \
				'BEGIN { printf "%-18s %14d %14d %7.2fx %12d\n", n,
				a, b, (b > 0 ? a / b : 0), z }'
		done
	done
done
