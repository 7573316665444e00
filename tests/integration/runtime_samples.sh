#!/bin/sh
# runtime_samples.sh SERVER CLIENT - the samples tether-rpcgen writes for
# runtime_prog.x (-Ss, -Sc), built as programs, run against each other
# over TCP and UDP without a portmapper (-n, explicit ports). Zeroed
# arguments and results encode for the procedures without strings: those
# must answer OK; the others must fail the way a zeroed value does.
set -u
srv=$1 cli=$2
w=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$w"' EXIT
fail() { echo "samples: $*" >&2; exit 1; }

# (the file exists before the background shell opens it: no race)
: >"$w/ports"
"$srv" -n 127.0.0.1:0 >"$w/ports" 2>"$w/srv.err" &
pid=$!
i=0
while [ "$(wc -l <"$w/ports")" -lt 2 ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
tcp=$(awk '$1 == "tcp" { print $2 }' "$w/ports")
udp=$(awk '$1 == "udp" { print $2 }' "$w/ports")
[ -n "$tcp" ] && [ -n "$udp" ] || fail "server did not print its ports"

for t in "tcp $tcp" "udp $udp"; do
	set -- $t
	"$cli" "$2" "$1" >"$w/out" 2>&1
	rc=$?
	cat "$w/out"
	# TECHO's zeroed record has a NULL string; the sample server's
	# zeroed TLOOKUP result too: not OK, so the client exits 1.
	[ $rc = 1 ] || fail "$1: client exit $rc, expected 1"
	for want in "TPING: OK" "TADD: OK" "TSUMLIST: OK" "TSLOW: OK" \
		"TECHO: CANTENCODE_ARGS" "TLOOKUP: SYSTEM_ERR"; do
		grep -qx "$want" "$w/out" || fail "$1: no line '$want'"
	done
done
"$cli" 127.0.0.1:1 tcp >/dev/null 2>&1 && fail "client reached a closed port"
"$cli" >/dev/null 2>&1; [ $? = 2 ] || fail "client without arguments"
"$srv" a b c >/dev/null 2>&1; [ $? = 2 ] || fail "server with bad arguments"

kill -TERM "$pid"
wait "$pid"
rc=$?
[ $rc = 0 ] || fail "server exit $rc after SIGTERM"
exit 0
