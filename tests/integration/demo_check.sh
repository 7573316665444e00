#!/bin/sh
# demo_check.sh SOURCE_DIR BUILD_DIR - the README's first command works:
# scripts/demo --check runs the whole demo (two backends with their
# portmappers and demo-servers, tether-lb with and without persistence,
# tetherctl, metrics) in a namespace of its own and passes its checks;
# its output names, for each of the 6 sessions, the one backend that
# served all its calls, and both backends served some.
set -u
src=$1 build=$2
out=$(bash "$src/scripts/demo" --check "$build" 2>&1)
rc=$?
printf '%s\n' "$out"
fail() { echo "FAIL: $*"; exit 1; }
[ $rc = 0 ] || fail "scripts/demo --check exited $rc"
n=$(printf '%s\n' "$out" | grep -Ec \
	'^session [1-6] from 127\.1\.0\.[1-6]: served by backend-[ab] \(all 4 calls')
[ "$n" = 6 ] || fail "$n per-session backend lines, expected 6"
printf '%s\n' "$out" | grep -q 'served by backend-a' || fail "backend-a served no session"
printf '%s\n' "$out" | grep -q 'served by backend-b' || fail "backend-b served no session"
printf '%s\n' "$out" | grep -qx 'ok: without persistence, sessions break' ||
	fail "the contrast run without persistence did not break sessions"
printf '%s\n' "$out" | grep -qx 'demo: all checks passed' || fail "no verdict line"
echo PASS
