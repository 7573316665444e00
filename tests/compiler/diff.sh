#!/bin/sh
# diff.sh TETHER-RPCGEN CC INCLUDE LIBTETHER WORKDIR FILE.x [CFLAGS...] -
# differential test against Debian's rpcgen and libtirpc (diff_main.c):
# generates both sides' code for FILE.x, builds one program, runs it.
# A missing rpcgen or libtirpc fails the test (packages: rpcsvc-proto,
# libtirpc-dev).
set -u
rg=$1 cc=$2 inc=$3 lib=$4 work=$5 x=$6
shift 6
here=$(cd "$(dirname "$0")" && pwd)
n=$(basename "$x" .x)
w="$work/$n"
command -v rpcgen >/dev/null || { echo "diff: rpcgen missing" >&2; exit 1; }
rm -rf "$w" && mkdir -p "$w/ours" "$w/rp" "$w/fill" || exit 2
cp "$(dirname "$x")"/*.x "$w/ours/" && cp "$(dirname "$x")"/*.x "$w/rp/" || exit 2
(cd "$w/ours" && "$rg" -h -o "$n.h" "$n.x" \
	&& "$rg" -c -o "${n}_xdr.c" "$n.x" \
	&& "$rg" --fill -o "../fill/${n}_fill.h" "$n.x") || exit 1
(cd "$w/rp" && rpcgen -N -h -o "$n.h" "$n.x" 2>/dev/null &&
	rpcgen -N -c -o "${n}_xdr.c" "$n.x" 2>/dev/null) || {
	echo "diff: rpcgen failed on $n.x" >&2
	exit 1
}
set -e
cd "$w"
"$cc" "$@" -std=c11 -D_GNU_SOURCE -Wno-unused-function -Wno-unknown-pragmas \
	-DSIDE_OURS -DHDR="\"$n.h\"" -DFILL="\"fill/${n}_fill.h\"" \
	-Iours -I. -I"$inc" -I/usr/include/tirpc -c "$here/diff_side.c" -o ours_side.o
"$cc" "$@" -std=c11 -D_GNU_SOURCE -w -Iours -I"$inc" -I/usr/include/tirpc \
	-c "ours/${n}_xdr.c" -o ours_xdr.o
"$cc" "$@" -D_GNU_SOURCE -w -DSIDE_RPCGEN -DHDR="\"$n.h\"" \
	-DFILL="\"fill/${n}_fill.h\"" -Irp -I. -I/usr/include/tirpc \
	-c "$here/diff_side.c" -o rp_side.o
"$cc" "$@" -D_GNU_SOURCE -w -Irp -I/usr/include/tirpc -c "rp/${n}_xdr.c" -o rp_xdr.o
"$cc" "$@" -c "$here/diff_main.c" -o main.o
"$cc" "$@" -o diff main.o ours_side.o ours_xdr.o rp_side.o rp_xdr.o "$lib" -ltirpc
./diff
