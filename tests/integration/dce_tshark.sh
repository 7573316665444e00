#!/bin/sh
# dce_tshark.sh - run dce_pcap, let tshark dissect the result, and fail
# unless every PDU is recognised as we meant it and nothing is malformed.
# tshark 4.0 flags the ept_map response "Long frame" whoever sends it
# (Samba's own answer gets the same; dcerpc README pitfall 5): that one
# warning, and the bind_nak's "Bind not acknowledged", are expected.
# Usage: dce_tshark.sh DCE_PCAP TSHARK OUT.pcap
set -u
gen=$1 tshark=$2 pcap=$3
fail() { echo "dce_tshark: $*" >&2; exit 1; }

"$gen" "$pcap" || fail "dce_pcap failed"
command -v "$tshark" >/dev/null 2>&1 || fail "tshark not found ($tshark)"

# One pass for the fields, one for the expert summary (tshark is slow
# to start).
fields=$("$tshark" -r "$pcap" -T fields -E 'separator=;' -e frame.number \
	-e dcerpc.pkt_type -e frame.protocols -e dcerpc.cn_ack_result \
	-e epm.proto.tcp_port -e dcerpc.opnum -e dcerpc.cn_reject_reason \
	2>/dev/null) || fail "tshark failed"
col() { echo "$fields" | awk -F';' -v f="$1" -v c="$2" '$1 == f { print $c }'; }

types=$(echo "$fields" | cut -d';' -f2 | tr '\n' ' ')
want="11 12 0 2 0 2 2 2 2 2 0 2 0 3 14 15 0 0 0 0 0 11 13 17 "
[ "$types" = "$want" ] || fail "PDU types: got '$types', want '$want'"
echo "$fields" | cut -d';' -f3 | grep -q malformed && fail "malformed frames"

expert=$("$tshark" -r "$pcap" -q -z expert 2>/dev/null)
echo "$expert" | grep -q '^Errors' && fail "expert errors: $expert"
warns=$(echo "$expert" | awk '/^Warns/{w=1;next} /^[A-Z][a-z]+ \(/{w=0}
	w && /^ +[0-9]/' | sed 's/^ *//')
echo "$warns" | grep -v -e 'EPM  Long frame' \
	-e 'DCERPC  Bind not acknowledged' | grep -q . &&
	fail "unexpected warnings: $warns"

# frame 2: negotiation as Windows expects it
[ "$(col 2 4)" = "0,2,3" ] || fail "bind_ack results '$(col 2 4)', want 0,2,3"
# frame 10: the reassembled lookup answer, 40 TCP towers to port 49153
ports=$(col 10 5 | tr ',' '\n' | grep -c '^49153$')
[ "$ports" -eq 40 ] || fail "lookup towers: $ports ports, want 40"
# frame 21: the request fragments reassembled into an ept_map request
[ "$(col 21 6)" = "3" ] || fail "reassembled request opnum '$(col 21 6)'"
# frame 23: bind_nak reason 4
[ "$(col 23 7)" = "4" ] || fail "bind_nak reason '$(col 23 7)'"
echo "dce_tshark: tshark agrees with our encoding"
