#!/bin/sh
# run.sh - bench/portmap: GETPORT and GETADDR calls per second over UDP
# and TCP, tether-portmap against Debian's rpcbind, in the same run, in
# a network namespace made for it (port 111 free, private /run).
# Each daemon gets the same registration (300001 v1 on tcp and udp).
# Usage: run.sh TETHER_PORTMAP BENCH_CLIENT REGISTER_PY [SECONDS]
set -u
TP=$1 CL=$2 RPCPY=$3 SECS=${4:-3}
NS=tpmb-$$
[ "$(id -u)" = 0 ] || { echo "bench/portmap: needs root" >&2; exit 1; }
command -v rpcbind >/dev/null || { echo "rpcbind missing" >&2; exit 1; }
cleanup() {
	for p in $(ip netns pids $NS 2>/dev/null); do kill -9 "$p"; done
	ip netns del $NS 2>/dev/null
}
trap cleanup EXIT
ip netns add $NS && ip netns exec $NS ip link set lo up || exit 1
OUT=$(mktemp -d)
for d in rpcbind tether; do
	ip netns exec $NS unshare -m sh -c '
		mount -t tmpfs tmpfs /run; mkdir -p /run/rpcbind
		if [ "$0" = rpcbind ]; then rpcbind -f 2>/dev/null & else "$1" -d -S "" 2>/dev/null & fi
		pid=$!
		for i in $(seq 50); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done
		/usr/bin/python3 "$2" register /run/rpcbind.sock >/dev/null || exit 1
		for t in udp tcp; do for c in getport getaddr; do
			echo "$t $c $("$3" $t $c "$4")"
		done; done
		kill $pid' $d "$TP" "$RPCPY" "$CL" "$SECS" >"$OUT/$d" 2>&1 ||
		{ cat "$OUT/$d" >&2; exit 1; }
	for p in $(ip netns pids $NS); do kill -9 "$p"; done
done
printf "%-16s %14s %14s %8s\n" "calls/s" "tether-portmap" "rpcbind" "ratio"
while read -r t c ours; do
	theirs=$(awk -v t=$t -v c=$c '$1 == t && $2 == c { print $3 }' "$OUT/rpcbind")
	awk -v n="$t $c" -v a="$ours" -v b="$theirs" 'BEGIN {
		printf "%-16s %14d %14d %7.2fx\n", n, a, b, (b > 0 ? a / b : 0) }'
done <"$OUT/tether"
rm -rf "$OUT"
