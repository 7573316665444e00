#!/bin/sh
# bench_epmap.sh - start samba-dcerpcd (without touching /etc, as the
# reference notes say) and tether-epmap in a network namespace of their
# own, then run bench_epmap against both. A missing Samba is a failure.
# Usage: bench_epmap.sh BENCH_EPMAP TETHER_EPMAP   (env SECS: per trial)
set -eu
bench=$1
epmap=$2
dcerpcd=/usr/libexec/samba/samba-dcerpcd
if [ ! -x "$dcerpcd" ]; then
	echo "FAIL: $dcerpcd missing (apt-get install --no-install-recommends samba)"
	exit 1
fi
ns=tether-bench-$$
tmp=$(mktemp -d)
spid= epid=
cleanup() {
	[ -n "$epid" ] && kill "$epid" 2>/dev/null || :
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || :
	sleep 0.5
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || :
	ip netns del "$ns" 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
for d in lock state cache private pid ncalrpc; do mkdir -p "$tmp/$d"; done
cat > "$tmp/smb.conf" <<CONF
[global]
server role = standalone server
interfaces = 127.0.0.1
bind interfaces only = yes
disable netbios = yes
rpc start on demand helpers = no
rpc server dynamic port range = 49152-49200
lock directory = $tmp/lock
state directory = $tmp/state
cache directory = $tmp/cache
private dir = $tmp/private
pid directory = $tmp/pid
ncalrpc dir = $tmp/ncalrpc
log file = $tmp/samba.log
load printers = no
printcap name = /dev/null
CONF
ip netns exec "$ns" "$dcerpcd" -F --libexec-rpcds -s "$tmp/smb.conf" \
	--debug-stdout -d 1 > "$tmp/samba.out" 2>&1 &
spid=$!
printf 'listen 127.0.0.1:1135\nsocket %s/epmap.sock\n' "$tmp" > "$tmp/epmap.conf"
ip netns exec "$ns" "$epmap" -d -f "$tmp/epmap.conf" 2> "$tmp/epmap.log" &
epid=$!
i=0
until ip netns exec "$ns" ss -ltnH 'sport = :135' | grep -q . &&
	ip netns exec "$ns" ss -ltnH 'sport = :1135' | grep -q .; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "FAIL: the mappers did not start"
		cat "$tmp/samba.out" "$tmp/epmap.log"
		exit 1
	fi
	sleep 0.1
done
sleep 2 # Samba's services register after 135 listens
ip netns exec "$ns" "$bench" -t "${SECS:-2}" -r "$tmp/epmap.sock" \
	tether-epmap=127.0.0.1:1135 samba-dcerpcd=127.0.0.1:135
