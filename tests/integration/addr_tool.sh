#!/bin/sh
# addr_tool.sh - runs tether-addr on good and bad inputs and checks its
# output, its stderr and its exit status. Usage: addr_tool.sh TETHER-ADDR
set -u
tool=${1:?usage: addr_tool.sh path/to/tether-addr}
fails=0
n=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# ok EXPECTED-STDOUT ARGS...: exit 0, that exact output, empty stderr
ok() {
	want=$1
	shift
	n=$((n + 1))
	"$tool" "$@" >"$out" 2>"$err"
	rc=$?
	got=$(cat "$out")
	if [ "$rc" -ne 0 ] || [ "$got" != "$want" ] || [ -s "$err" ]; then
		echo "FAIL: tether-addr $*: rc=$rc out='$got' want='$want'" \
			"err='$(cat "$err")'"
		fails=$((fails + 1))
	fi
}

# bad STATUS STDERR-PATTERN ARGS...: that exit status, no stdout, a
# message on stderr matching the pattern (grep -E)
bad() {
	want_rc=$1 pat=$2
	shift 2
	n=$((n + 1))
	"$tool" "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -ne "$want_rc" ] || [ -s "$out" ] ||
	    ! grep -Eq -- "$pat" "$err"; then
		echo "FAIL: tether-addr $*: rc=$rc (want $want_rc)" \
			"out='$(cat "$out")' err='$(cat "$err")'" \
			"(want /$pat/)"
		fails=$((fails + 1))
	fi
}

# socket address -> universal address
ok '::1.0.111' -u tcp6 '[::1]:111'
ok '127.0.0.1.0.111' -u tcp 127.0.0.1:111
ok '10.0.0.1.8.1' -u udp 10.0.0.1:2049
ok 'fe80::1.8.1' -u udp6 '[fe80::1%lo]:2049'
ok '::ffff:1.2.3.4.255.255' --to-uaddr tcp6 '[::ffff:1.2.3.4]:65535'
ok '/run/rpcbind.sock' -u local unix:/run/rpcbind.sock
ok '/run/rpcbind.sock' -u unix /run/rpcbind.sock
ok '192.0.2.1.0.111' -u tcp -p 111 192.0.2.1
ok '::1.0.111' -u tcp6 -p 111 ::1
ok "$(printf '1.2.3.4.0.1\n5.6.7.8.0.2')" -u tcp 1.2.3.4:1 5.6.7.8:2

# universal address -> socket address
ok '127.0.0.1:111' -t tcp 127.0.0.1.0.111
ok '[::1]:111' -t tcp6 ::1.0.111
ok '[fe80::1]:2049' -t udp6 fe80::1.8.1
ok '[::ffff:1.2.3.4]:111' --to-taddr tcp6 ::ffff:1.2.3.4.0.111
ok 'unix:/run/rpcbind.sock' -t local /run/rpcbind.sock
ok '255.255.255.255:65535' -t udp 255.255.255.255.255.255

# check and normalise
ok '[2001:db8::1]:80' -c '[2001:DB8:0:0:0:0:0:1]:80'
ok '[fe80::1%lo]:1' -c '[fe80::1%lo]:1'
ok "[fe80::1%$(cat /sys/class/net/lo/ifindex 2>/dev/null || echo 1)]:1" \
	-c -n '[fe80::1%lo]:1'
ok '1.2.3.4:80' --check --port 80 1.2.3.4
ok 'unix:/tmp/x' -c /tmp/x

# help
n=$((n + 1))
if ! "$tool" -h | grep -q '^usage: tether-addr'; then
	echo "FAIL: -h prints no usage"
	fails=$((fails + 1))
fi
n=$((n + 1))
if ! "$tool" --help >/dev/null 2>"$err" || [ -s "$err" ]; then
	echo "FAIL: --help exits non-zero or writes to stderr"
	fails=$((fails + 1))
fi

# invalid operands: exit 1 and say why
bad 1 'syntax error' -u tcp 01.2.3.4:111
bad 1 'syntax error' -u tcp 1.2.3.4
bad 1 'syntax error' -u tcp6 ::1:111
bad 1 'value out of range' -u tcp 1.2.3.4:65536
bad 1 'no such entry' -u tcp6 '[fe80::1%nosuchif0]:1'
bad 1 'is inet6, netid tcp' -u tcp '[::1]:111'
bad 1 'is inet, netid udp6' -u udp6 1.2.3.4:1
bad 1 'is unix, netid tcp' -u tcp unix:/x
bad 1 'value out of range' -t tcp 1.2.3.4.256.0
bad 1 'syntax error' -t tcp 1.2.3.4.0.111.
bad 1 'syntax error' -t tcp 1.2.3.4.0
bad 1 'syntax error' -t tcp 1.2.3.4.x.y
bad 1 'syntax error' -t tcp 1.2.3.4.007.1
bad 1 'not of the family of netid tcp6' -t tcp6 127.0.0.1.0.111
bad 1 'not of the family of netid tcp' -t tcp ::1.0.111
bad 1 'syntax error' -t local run/rpcbind.sock
bad 1 'too long|overflows' -c "/$(printf '%0200d' 0)"
bad 1 'syntax error' -c ''

# a bad operand among good ones: the good ones print, status 1
n=$((n + 1))
"$tool" -u tcp 1.2.3.4:1 bogus 5.6.7.8:2 >"$out" 2>"$err"
rc=$?
if [ "$rc" -ne 1 ] || [ "$(cat "$out")" != "$(printf '1.2.3.4.0.1\n5.6.7.8.0.2')" ] ||
    ! grep -q "bogus" "$err"; then
	echo "FAIL: mixed operands: rc=$rc out='$(cat "$out")'"
	fails=$((fails + 1))
fi

# usage errors: exit 2
bad 2 'one of -u, -t or -c' 1.2.3.4:1
bad 2 'unknown netid' -u tcp7 1.2.3.4:1
bad 2 'unknown netid' -t TCP 1.2.3.4.0.1
bad 2 'unknown option' -x 1.2.3.4:1
bad 2 'unknown option' --bogus 1.2.3.4:1
bad 2 'needs an argument' -u
bad 2 'no address given' -u tcp
bad 2 'exclude each other' -u tcp -t tcp 1.2.3.4.0.1
bad 2 'invalid port' -c -p 65536 1.2.3.4
bad 2 'invalid port' -c -p 0111 1.2.3.4
bad 2 'invalid port' -c -p -1 1.2.3.4
bad 2 'invalid port' -c -p '' 1.2.3.4
bad 2 'makes no sense' -t tcp -p 1 1.2.3.4.0.1

echo "addr_tool: $n checks, $fails failures"
[ "$fails" -eq 0 ]
