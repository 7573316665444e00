#!/bin/sh
# makefile.sh RPCGEN CC INCLUDE LIBDIR WORKDIR [CFLAGS...] - -Sm and -a's
# Makefile.<name>: -a writes the same file names as Debian's rpcgen -a,
# -Sm the same Makefile to stdout or -o, -a keeps an existing one; then
# the Makefile builds and links the sample client and server of
# cases/all.x against the build tree's libtether through pkg-config (a
# tether.pc pointing at INCLUDE and LIBDIR): the samples are whole
# programs on libtether's RPC runtime; both start and answer their usage
# (their calls are tested in tests/integration/runtime_samples.sh); make
# regenerates a deleted or outdated file, never
# a sample; clean keeps the samples. Needs make, pkg-config and rpcgen.
set -u
rg=$1 cc=$2 inc=$3 libdir=$4 w=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "makefile: $*" >&2; exit 1; }
for p in make pkg-config rpcgen; do
	command -v $p >/dev/null || fail "$p missing"
done
rm -rf "$w" && mkdir -p "$w/ours" "$w/rp" "$w/pc" || exit 2
cp "$here/cases/all.x" "$w/ours/" && cp "$here/cases/all.x" "$w/rp/" || exit 2

# the file names, against rpcgen's own -a
(cd "$w/rp" && rpcgen -N -a all.x 2>/dev/null) || fail "rpcgen -a failed"
(cd "$w/ours" && "$rg" -N -a all.x) || fail "tether-rpcgen -a failed"
[ "$(cd "$w/rp" && ls)" = "$(cd "$w/ours" && ls)" ] ||
	fail "-a file names differ from rpcgen's: $(cd "$w/ours" && ls)"
cd "$w/ours" || exit 2
[ -s Makefile.all ] || fail "Makefile.all not written"
"$rg" -Sm all.x > sm.out || fail "-Sm failed"
cmp -s sm.out Makefile.all || fail "-Sm differs from -a's Makefile"
"$rg" -Sm -o sm2.out all.x && cmp -s sm2.out Makefile.all ||
	fail "-Sm -o differs"
rm -f sm.out sm2.out
cp Makefile.all keep && echo "# mine" >> Makefile.all
"$rg" -a all.x 2>err.txt || fail "second -a failed"
grep -q "Makefile.all exists, not overwritten" err.txt ||
	fail "-a did not keep the Makefile"
grep -q "^# mine" Makefile.all || fail "-a overwrote the Makefile"
mv keep Makefile.all && rm -f err.txt
"$rg" -Sm < all.x > /dev/null 2>&1 && fail "-Sm from stdin accepted"
"$rg" -Sm -h all.x > /dev/null 2>&1 && fail "-Sm with -h accepted"

# libtether from the build tree, the way a user's pkg-config finds it
cat > "$w/pc/tether.pc" <<PC
Name: tether
Description: tether's build tree
Version: 0
Libs: -L$libdir -ltether
Cflags: -I$inc
PC
export PKG_CONFIG_PATH="$w/pc"
flags="$* -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter"
mk() {
	make -f Makefile.all RPCGEN="$rg" CFLAGS="$flags" "$@"
}
make -n -f Makefile.all > /dev/null || fail "make -n: the Makefile does not parse"
mk > make.log 2>&1 || { cat make.log >&2; fail "make failed"; }
[ -x all_client ] && [ -x all_server ] || fail "no client or server built"
# (CFLAGS has no -I: tether's headers can only come from pkg-config)
grep -q -- '`pkg-config --cflags tether`' make.log ||
	fail "pkg-config --cflags not used"
grep -q -- '`pkg-config --libs tether`' make.log ||
	fail "pkg-config --libs not used"
LD_LIBRARY_PATH="$libdir" ldd ./all_client | grep -q 'libtether\.so' ||
	fail "all_client is not linked with libtether"
# With no host the sample client says how to run it and fails.
LD_LIBRARY_PATH="$libdir" ./all_client > out.txt 2>&1 && fail "all_client ran without a host"
grep -q "usage: .*all_client HOST" out.txt || fail "all_client printed: $(cat out.txt)"
rm -f out.txt
mk -q all || fail "make not up to date after a build"

# regeneration: a deleted generated file comes back, an outdated .x
# regenerates the outputs but not the samples
echo "/* edited */" >> all_client.c
rm all_xdr.c
mk > make.log 2>&1 || { cat make.log >&2; fail "rebuild failed"; }
grep -q -- "-c -o all_xdr.c all.x" make.log || fail "all_xdr.c not remade"
[ -s all_xdr.c ] || fail "all_xdr.c missing after make"
sleep 1 && touch all.x
mk -n > make.log 2>&1 || fail "make -n after touch failed"
grep -q -- "-h -o all.h all.x" make.log || fail "all.h not remade from all.x"
grep -q -- "-Sc" make.log && fail "make would regenerate a sample"
mk clean > /dev/null 2>&1 || fail "make clean failed"
for f in all.h all_xdr.c all_clnt.c all_svc.c all_client all_server \
	all_xdr.o; do
	[ -e "$f" ] && fail "clean left $f"
done
grep -q "edited" all_client.c || fail "clean removed the edited sample"
[ -e all_server.c ] || fail "clean removed a sample"
exit 0
