#!/bin/sh
# cli.sh RPCGEN SRCDIR WORKDIR CC INCLUDE - rpcgen's command line: no flag
# writes the four files next to the input, -a adds samples without
# overwriting them, one-output flags go to stdout or -o, no input file
# reads standard input, errors exit 1 and write nothing.
set -u
rg=$1 src=$2 w=$3 cc=$4 inc=$5
fail() { echo "cli: $*" >&2; exit 1; }
rm -rf "$w" && mkdir -p "$w/sub" || exit 2
cp "$src/cases/all.x" "$w/sub/all.x"
cd "$w" || exit 2

"$rg" sub/all.x || fail "no-flag run failed"
for f in all.h all_xdr.c all_clnt.c all_svc.c; do
	[ -s "sub/$f" ] || fail "sub/$f not written"
	cmp -s "sub/$f" "$src/golden/$f" || fail "sub/$f differs from golden"
done
[ -e sub/all_client.c ] && fail "samples written without -a"

echo "/* mine */" > sub/all_client.c
"$rg" -a sub/all.x 2>err.txt || fail "-a failed"
grep -q "mine" sub/all_client.c || fail "-a overwrote a sample"
grep -q "exists, not overwritten" err.txt || fail "-a did not say so"
[ -s sub/all_server.c ] || fail "-a did not write the server sample"

"$rg" -h -o out.h sub/all.x || fail "-h -o failed"
cmp -s out.h "$src/golden/all.h" || fail "-h -o output differs"
"$rg" -c sub/all.x > out.c || fail "-c to stdout failed"
cmp -s out.c "$src/golden/all_xdr.c" || fail "-c output differs"

# errors: exit 1, nothing written
"$rg" -o x.h sub/all.x 2>/dev/null && fail "-o without an output flag"
"$rg" -h -c sub/all.x 2>/dev/null && fail "two output flags"
"$rg" -Q sub/all.x 2>/dev/null && fail "unknown option"
"$rg" -h < /dev/null > empty.h || fail "-h with empty stdin"
grep -q _STDIN_H_RPCGEN empty.h || fail "-h with empty stdin: no header"
cp sub/all.x sub/all.txt
"$rg" -h sub/all.txt 2>/dev/null && fail "input not ending in .x"
printf 'const A = ;\n' > sub/bad.x
"$rg" -h -o bad.h sub/bad.x 2>/dev/null && fail "bad input accepted"
[ -e bad.h ] && fail "output written for bad input"
"$rg" -h -o none.h sub/missing.x 2>/dev/null && fail "missing input"
[ -e none.h ] && fail "output written for a missing input"

# -D reaches cpp; the outputs are the same run after run
printf '#ifdef WANT\nconst W = 1;\n#endif\n' > sub/d.x
"$rg" -h -DWANT sub/d.x | grep -q "#define W 1" || fail "-D not passed"
"$rg" -h sub/d.x | grep -q "#define W 1" && fail "W defined without -D"
"$rg" -h sub/all.x > again.h && cmp -s again.h out.h || fail "not deterministic"
# standard input, as rpcgen: one-output flags read it and write stdout
# (or -o); the file is called "stdin" (rpcgen's header guard); the .c
# outputs include no generated header (no name to derive it from)
"$rg" -h < sub/all.x > stdin.h || fail "-h from stdin failed"
sed -e 's/_ALL_H_RPCGEN/_STDIN_H_RPCGEN/g' -e 's/(all_clnt\.c)/(stdin_clnt.c)/' \
	-e 's/(all_svc\.c)/(stdin_svc.c)/' "$src/golden/all.h" > want.h
cmp -s stdin.h want.h || fail "-h from stdin differs from golden"
"$rg" -c -o stdin_xdr.c < sub/all.x || fail "-c -o from stdin failed"
grep -q '^#include "' stdin_xdr.c && fail "-c from stdin includes a header"
grep -v '^#include\|^/\* from standard input' stdin_xdr.c > a.c
grep -v '^#include' "$src/golden/all_xdr.c" > b.c
cmp -s a.c b.c || fail "-c from stdin: more than the include differs"
for f in -l -m --fill --layout; do
	"$rg" $f < sub/all.x > /dev/null || fail "$f from stdin failed"
done
"$rg" -h -DWANT < sub/d.x | grep -q "#define W 1" || fail "-D with stdin"
# the idiom that makes it useful: the .x file includes its own header
{ printf '#ifdef RPC_XDR\n%%#include "inc.h"\n#endif\n'
  printf 'struct pair { int a; bool b; long c; };\n'; } > inc.x
"$rg" -h < inc.x > inc.h && "$rg" -c < inc.x > inc_xdr.c ||
	fail "stdin with %#include failed"
"$cc" -std=c11 -Wall -Wextra -Werror -I. -I"$inc" -c inc_xdr.c -o inc_xdr.o ||
	fail "the codecs made from stdin do not compile"
# errors name <stdin> and show its line; templates and "all files" need
# a file name, as in rpcgen
printf 'struct {\n' | "$rg" -h > /dev/null 2> err.txt && fail "bad stdin accepted"
grep -q "^<stdin>:1:8: error: " err.txt || fail "stdin error not located"
grep -q "^    1 | struct {" err.txt || fail "stdin error without its line"
"$rg" < sub/all.x > /dev/null 2>&1 && fail "no flag and no file accepted"
for f in -a -Sc -Ss; do
	"$rg" $f < sub/all.x > /dev/null 2>&1 && fail "$f from stdin accepted"
done
exit 0
