#!/bin/sh
# layout.sh TETHER-RPCGEN CC INCLUDE WORKDIR FILE.x - rpcgen's generated
# types and ours have the same layout: tether-rpcgen --layout lists every
# size, alignment, field offset and integer signedness of FILE.x's types;
# layout_dump.c, built against Debian rpcgen's header, writes rpcgen's
# values as _Static_asserts; layout_check.c compiles them against our
# header. For cases/all.x, the check must also reject a header with the
# old layout (bool as C bool, long as int32_t), so a check that checks
# nothing fails. Needs rpcgen (rpcsvc-proto) and libtirpc-dev.
set -u
rg=$1 cc=$2 inc=$3 work=$4 x=$5
here=$(cd "$(dirname "$0")" && pwd)
n=$(basename "$x" .x)
w="$work/$n"
fail() { echo "layout: $n: $*" >&2; exit 1; }
command -v rpcgen >/dev/null || fail "rpcgen missing"
rm -rf "$w" && mkdir -p "$w/ours" "$w/rp" || exit 2
cp "$(dirname "$x")"/*.x "$w/ours/" && cp "$(dirname "$x")"/*.x "$w/rp/" || exit 2
(cd "$w/ours" && "$rg" -h -o "$n.h" "$n.x" &&
	"$rg" --layout -o ../layout.inc "$n.x") || fail "tether-rpcgen failed"
(cd "$w/rp" && rpcgen -N -h -o "$n.h" "$n.x" 2>/dev/null) ||
	fail "rpcgen failed"
cd "$w" || exit 2
checks=$(grep -c '^TXDR_LAYOUT_' layout.inc)
[ "$checks" -gt 0 ] || fail "no types to check"
"$cc" -std=c11 -D_GNU_SOURCE -w -DHDR="\"$n.h\"" -DLAYOUT="\"layout.inc\"" \
	-Irp -I. -I/usr/include/tirpc "$here/layout_dump.c" -o dump ||
	fail "layout_dump.c does not build against rpcgen's header"
./dump > asserts.inc || fail "dump failed"
[ "$(grep -c '^_Static_assert' asserts.inc)" -eq "$checks" ] ||
	fail "asserts.inc does not hold one assert per check"
check() {
	h=$1
	shift
	"$cc" "$@" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-Wno-unknown-pragmas -Wno-unused-function -Wno-type-limits \
		-DHDR="\"$(basename "$h")\"" -DASSERTS="\"asserts.inc\"" \
		-I"$(dirname "$h")" -I. \
		-I"$inc" -I/usr/include/tirpc -c "$here/layout_check.c" \
		-o check.o
}
check "ours/$n.h" || fail "our layout differs from rpcgen's (see above)"
# and our header still compiles after libtirpc's (it names none of
# libtirpc's types, defines no bool_t)
check "ours/$n.h" -include rpc/rpc.h ||
	fail "our header does not compile after <rpc/rpc.h>"
if [ "$n" = all ]; then
	# the layout tether-rpcgen had before: the check must catch it
	sed -e 's/^\tint32_t b;$/\tbool b;/' ours/all.h > old_bool.h
	sed -e 's/^\tlong l;$/\tint32_t l;/' ours/all.h > old_long.h
	cmp -s old_bool.h ours/all.h && fail "old_bool.h: nothing replaced"
	cmp -s old_long.h ours/all.h && fail "old_long.h: nothing replaced"
	check old_bool.h 2>/dev/null && fail "a 1-byte bool passed the check"
	check old_long.h 2>/dev/null && fail "a 4-byte long passed the check"
fi
echo "layout: $n: $checks checks agree with rpcgen"
exit 0
