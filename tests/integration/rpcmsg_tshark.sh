#!/bin/sh
# rpcmsg_tshark.sh - tshark must dissect every RPC call and reply our
# encoder produced (rpcmsg_pcap writes them, TCP with record marking and
# UDP) with no malformed packet and no error-level expert info, and the
# fields it decodes must be the values we wrote.
# Usage: rpcmsg_tshark.sh PATH/TO/rpcmsg_pcap WORKDIR
set -u
gen=$1
dir=$2
port=40111	# unassigned; mapped to RPC below

fail() {
	echo "rpcmsg_tshark: FAIL: $*" >&2
	exit 1
}

command -v tshark >/dev/null 2>&1 || fail "tshark not installed (Debian package tshark)"
mkdir -p "$dir" || fail "cannot create $dir"
pcap=$dir/rpcmsg.pcap
"$gen" "$pcap" "$dir/first.expect" "$dir/all.expect" "$port" ||
	fail "rpcmsg_pcap failed"

# Our program numbers are not ones Wireshark knows: ask it to dissect
# unknown programs, and map the port to RPC on both transports.
ts() {
	tshark -n -r "$pcap" -o rpc.dissect_unknown_programs:TRUE \
		-d "tcp.port==$port,rpc" -d "udp.port==$port,rpc" "$@" 2>"$dir/tshark.err"
}

ts -V >"$dir/verbose.txt" || fail "tshark -V failed: $(cat "$dir/tshark.err")"
if grep -nE 'Malformed|Expert Info \((Error|Warn)' "$dir/verbose.txt"; then
	fail "tshark reports malformed packets or errors (see $dir/verbose.txt)"
fi
nrpc=$(grep -c '^Remote Procedure Call' "$dir/verbose.txt")
nexp=$(wc -l <"$dir/first.expect")
[ "$nexp" -gt 40 ] || fail "only $nexp messages written"

fields="ip.proto rpc.xid rpc.msgtyp rpc.program rpc.programversion
	rpc.procedure rpc.replystat rpc.state_accept rpc.programversion.min
	rpc.programversion.max rpc.state_reject rpc.version.min rpc.version.max
	rpc.state_auth rpc.auth.flavor rpc.auth.stamp rpc.auth.uid
	rpc.auth.machinename"
args=
for f in $fields; do args="$args -e $f"; done
# shellcheck disable=SC2086
ts -Y rpc.xid -T fields -E separator='|' -E occurrence=f $args \
	>"$dir/first.got" || fail "tshark -T fields failed"
diff -u "$dir/first.expect" "$dir/first.got" ||
	fail "fields decoded by tshark differ from what we wrote"

ts -Y rpc.xid -T fields -E separator='|' -E occurrence=a -E aggregator=, \
	-e rpc.xid -e rpc.msgtyp -e rpc.auth.flavor -e rpc.auth.gid \
	>"$dir/all.got" || fail "tshark -T fields failed"
diff -u "$dir/all.expect" "$dir/all.got" ||
	fail "credentials decoded by tshark differ from what we wrote"

echo "rpcmsg_tshark: $nexp messages ($nrpc RPC PDUs) dissected, fields match"
