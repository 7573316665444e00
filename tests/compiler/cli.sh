#!/bin/sh
# cli.sh RPCGEN SRCDIR WORKDIR - rpcgen's command line: no flag writes the
# four files next to the input, -a adds samples without overwriting them,
# one-output flags go to stdout or -o, errors exit 1 and write nothing.
set -u
rg=$1 src=$2 w=$3
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
"$rg" -h 2>/dev/null && fail "no input"
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
exit 0
