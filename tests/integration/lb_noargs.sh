#!/bin/sh
# lb_noargs.sh TETHER_LB - with no arguments and no /etc/tether/lb.conf,
# tether-lb starts with no services (in a private mount namespace whose
# /etc is an empty tmpfs, so the host's files play no part), while a
# missing file named with -f is an error. Needs root (unshare -m).
set -u
lb=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(unshare -m sh -c 'mount -t tmpfs none /etc && exec timeout 2 "$0" -d' "$lb" 2>&1)
status=$?
[ $status = 124 ] || fail "tether-lb -d exited with $status, want it running until killed: $out"
echo "$out" | grep -q "does not exist: starting with no services" || fail "no warning: $out"
echo "$out" | grep -q "started: 0 service(s)" || fail "did not start: $out"
"$lb" -n -f /nonexistent/lb.conf >/dev/null 2>&1 && fail "-f of a missing file accepted"
echo "PASS: tether-lb starts with no arguments and no configuration"
